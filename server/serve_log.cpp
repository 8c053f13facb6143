#include "server/serve_log.hpp"

#include <chrono>
#include <ctime>
#include <memory>

#include <nlohmann/json.hpp>

namespace tollgate::tools {

std::string utc_now_ms() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

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
