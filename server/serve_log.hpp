// `tollgate serve`: one JSON line per request (and per lifecycle event:
// start, reload, stop), for log pipelines. A request line has who paid,
// where it went, what it cost and how long it took:
//   {"ts":"2026-05-14T09:12:03.120Z","event":"request","request_id":"...",
//    "method":"POST","path":"/v1/chat/completions","status":200,
//    "team":"support","user":"bot","route":"code","model":"deepseek-chat",
//    "provider":"deepseek","stream":false,"cache":"miss","input_tokens":812,
//    "cached_input_tokens":0,"output_tokens":95,"cost_usd":0.000312,
//    "latency_ms":41.2,"attempts":1,"downgraded":false,"tags":{"task":"code"}}
// It never holds an API key, and holds the prompt only when the operator
// asks for it (--log-prompts). Lines are written whole, one write each, so
// concurrent requests never interleave within a line.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tollgate/error.hpp"

namespace tollgate::tools {

class RequestLog {
 public:
  // "stderr", "stdout", "off", or a file path (appended to).
  static Result<std::unique_ptr<RequestLog>> open(const std::string& where);
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  bool enabled() const { return out_ != nullptr; }
  // Adds "ts" (UTC, ms) and writes the object as one line.
  void write(nlohmann::json line);

 private:
  RequestLog(std::FILE* out, bool owned) : out_(out), owned_(owned) {}
  std::mutex mu_;
  std::FILE* out_;
  bool owned_;
};

// "2026-05-14T09:12:03.120Z", now.
std::string utc_now_ms();

}  // namespace tollgate::tools
