// One row of the ledger: one attempt at one request.
//
// A request that falls back or retries writes one row per attempt (attempt
// 1, 2, ...); a cache hit or a budget denial writes one row with that
// status. The row never holds a provider key: error_message is the
// provider's error text as classified by the adapter, which strips
// credentials before it gets here.
//
// A plain value; build it on any thread and hand it to Ledger::append.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/dispatch/attempt_record.hpp"
#include "tollgate/money.hpp"

namespace tollgate::engine {

// The attempt's outcome is dispatch's own AttemptStatus (engine/dispatch/attempt_record.hpp);
// to_string gives the text stored in the ledger, and this reads it back.
using tollgate::AttemptStatus;
std::optional<AttemptStatus> attempt_status_from(std::string_view text) noexcept;

struct LedgerRow {
  std::string request_id;   // the engine's id for the request; shared by its attempts
  int attempt = 1;          // 1 for the first try, then 2, 3, ... across retries/fallbacks
  // Unix time in milliseconds when the attempt's cost was settled. Spend caps
  // charge a request to the window it settles in, and a rebuild at start
  // reads this column, so pass the same `now` given to Reservation::settle.
  int64_t time_ms = 0;
  std::string team;
  std::string user;         // empty when the request named none
  std::string tags_json;    // the request's tags as a JSON object, "{}" when none
  std::string task;         // the `task` tag, or the policy's default_task
  std::string route;
  std::string provider;
  std::string model;
  AttemptStatus status = AttemptStatus::ok;
  // Provider-reported usage. input_tokens counts every prompt token,
  // cached_input_tokens the part of them served from the provider's prompt
  // cache (so 0 <= cached <= input; see usage_cost in spend_cost.hpp).
  int64_t input_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
  Money cost;               // charged
  Money saved;              // saved by tollgate's cache (cache_hit) or the provider's
  int64_t latency_ms = -1;  // request sent to last byte; -1 unknown
  int64_t ttft_ms = -1;     // request sent to first token; -1 unknown or not streamed
  std::string error_category;  // to_string(ErrorCategory) when status is error/denied
  std::string error_message;
};

}  // namespace tollgate::engine
