// `tollgate simulate`: one line of a traffic log (JSON Lines), the request a
// service made, without its answer:
//   {"ts": "2026-05-14T09:12:03Z", "team": "support", "user": "bot",
//    "tags": {"task": "classify"}, "input_tokens": 820, "output_tokens": 40,
//    "max_tokens": 200}
// "ts" is an ISO-8601 UTC time or unix milliseconds; missing, the line
// happens when the previous one did. "input_tokens" may be replaced by
// "messages" (an OpenAI messages array; tokens are then estimated as the
// engine does). "output_tokens" is what the answer used; missing, the
// replay assumes max_tokens, else kDefaultOutputTokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/error.hpp"
#include "tollgate/request.hpp"
#include "tollgate/result.hpp"

namespace tollgate::tools {

// Output tokens assumed for a line that gives neither output_tokens nor
// max_tokens: about a paragraph, the median chat answer length.
inline constexpr int64_t kDefaultOutputTokens = 256;

struct TrafficLine {
  Request request;               // team, user, tags, input_tokens or body.messages, max_tokens
  std::optional<int64_t> ts_ms;  // unix ms
  int64_t output_tokens = 0;     // as given or assumed (see above)
  bool output_assumed = false;
};

// Parses one line; `where` ("file:12") prefixes errors.
Result<TrafficLine> parse_traffic_line(std::string_view text, const std::string& where);

// "2026-05-14T09:12:03Z" or "2026-05-14T09:12:03.250Z" (also "+00:00"), as
// unix ms; none when malformed.
std::optional<int64_t> parse_utc_time(std::string_view text);

}  // namespace tollgate::tools
