// tollgate — one row of the ledger: what one attempt at answering a request
// did and cost.
//
// Dispatch emits one AttemptRecord per upstream attempt (a retry is a new
// attempt; a candidate skipped because its circuit is open is none); the
// engine emits one per cache hit and per denied request. Plain data: copy
// it, queue it, write it from any thread. It never holds a provider key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tollgate/error.hpp"
#include "tollgate/money.hpp"

namespace tollgate {

enum class AttemptStatus : uint8_t {
  ok,         // the provider answered
  error,      // this attempt failed (the request may still succeed on a later one)
  cache_hit,  // answered from the cache; no provider was called
  denied,     // a spend cap refused the request; no provider was called
};

// "ok", "error", "cache_hit", "denied" — stable names, stored in the ledger.
constexpr std::string_view to_string(AttemptStatus s) noexcept {
  switch (s) {
    case AttemptStatus::ok: return "ok";
    case AttemptStatus::error: return "error";
    case AttemptStatus::cache_hit: return "cache_hit";
    case AttemptStatus::denied: return "denied";
  }
  return "error";
}

struct AttemptRecord {
  std::string request_id;   // the same for every attempt of one request
  int64_t unix_ms = 0;      // when the attempt started (UTC, milliseconds)
  std::string team;
  std::string user;
  std::string tags_json;    // the request's tags as a JSON object, e.g. {"task":"classify"}
  std::string route;
  std::string provider;     // empty for cache_hit / denied
  std::string model;        // catalog model id
  AttemptStatus status = AttemptStatus::ok;
  int attempt = 1;          // 1-based, counted across all candidates of the request

  int64_t input_tokens = 0;         // all prompt tokens, cached ones included
  int64_t cached_input_tokens = 0;  // the part billed at the cached price
  int64_t output_tokens = 0;
  Money cost;        // what this attempt cost (0 when failed before usage was known)
  Money cost_saved;  // cache_hit: what the answer would have cost

  int64_t latency_ms = 0;
  int64_t ttft_ms = 0;  // time to first token (streams) or to first byte; 0 if none

  // status == error: what failed. category is ErrorCategory's stable name
  // source; message names provider and model and quotes the provider.
  ErrorCategory error_category = ErrorCategory::internal;
  std::string error_message;
};

}  // namespace tollgate
