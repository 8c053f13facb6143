#include "server/serve_log.hpp"

#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/budget/spend_window.hpp"
#include "engine/wall_clock.hpp"

namespace tollgate::tools {

std::string utc_now_ms() { return engine::utc_millisecond(engine::unix_now_ms()); }

Result<std::unique_ptr<RequestLog>> RequestLog::open(const std::string& where) {
  if (where == "off") return std::unique_ptr<RequestLog>(new RequestLog(nullptr, false));
  if (where.empty() || where == "stderr") return std::unique_ptr<RequestLog>(new RequestLog(stderr, false));
  if (where == "stdout") return std::unique_ptr<RequestLog>(new RequestLog(stdout, false));
  std::FILE* f = std::fopen(where.c_str(), "a");
  if (!f) return Error(ErrorCategory::config, where + ": cannot open the log file for appending");
  return std::unique_ptr<RequestLog>(new RequestLog(f, true));
}

RequestLog::~RequestLog() {
  if (owned_ && out_) std::fclose(out_);
}

void RequestLog::write(nlohmann::json line) {
  if (!out_) return;
  nlohmann::json out = {{"ts", utc_now_ms()}};
  out.update(line);
  // Replace invalid UTF-8 (a tag, an upstream error text) rather than throw.
  std::string text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::lock_guard lock(mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace tollgate::tools
