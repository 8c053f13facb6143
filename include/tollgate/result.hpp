// tollgate — what the engine decided, and (with dispatch) what came back.
//
// A Decision is the policy's answer for one request: the route that matched,
// the candidates in the order they will be tried, the cache rule, and a trace
// of every route and candidate considered with the reason it was taken or
// skipped. Its string_views point into the policy set that made it, which the
// Decision keeps alive: it stays valid after a reload.
//
// A Decision is a value; reuse one across calls to Engine::decide_into() and
// the declarative path allocates nothing once the vectors have grown.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tollgate/money.hpp"

namespace tollgate {

struct Candidate {
  std::string_view provider;        // provider name, as declared or catalogued
  std::string_view model;           // catalog model id
  std::string_view upstream_model;  // the name sent to the provider's API
  int64_t context_window = 0;       // most input tokens the model takes
  int64_t max_output = 0;           // output tokens reserved (request's or model's max, times its "n")
  Money est_cost;                   // worst case: estimated input uncached + max output
  Money est_cost_cached_input;      // the same with every input token at the cached price
};

// Why a route or candidate was taken or skipped. Stable names: see to_string.
enum class TraceReason : uint8_t {
  route_matched,          // the route's `when` held
  route_not_matched,      // the route's `when` did not hold
  route_no_candidates,    // matched, but every candidate was filtered out: next route
  route_error_next,       // a policy function failed; on_error = "next"
  route_forced,           // chosen by name (a downgrade), `when` not consulted
  candidate_selected,     // kept, at the position it appears in the candidate list
  candidate_unknown,      // no such model in the catalog or the policy
  candidate_unpriced,     // the catalog has no price for it; cannot be costed
  candidate_label,        // breaks a label requirement (label names it)
  candidate_context,      // estimated input + max output exceeds the context window
  candidate_max_output,   // the request wants more output than the model gives
  candidate_max_usd,      // its worst-case cost is above the route's max_usd
  candidate_quality,      // its quality for the task is below min_quality
  candidate_unhealthy,    // its provider's circuit is open
  candidate_duplicate,    // listed twice; the first stays
};
std::string_view to_string(TraceReason reason) noexcept;

struct TraceEntry {
  TraceReason reason;
  std::string_view route;
  std::string_view model;  // empty for route entries
  std::string_view label;  // candidate_label: the requirement broken
  int64_t value = 0;       // the figure that decided: tokens, nano-dollars, score x 1e6
  int64_t limit = 0;       // the bound it was held against, in the same unit
  std::string detail;      // free text (a policy function's error); empty on the fast path
};

enum class CacheScope : uint8_t { team, shared };

struct CacheRule {
  bool enabled = false;
  int64_t ttl_ms = 0;
  CacheScope scope = CacheScope::team;
};

struct Decision {
  std::string_view route;             // the route whose candidates these are
  std::vector<Candidate> candidates;  // in the order dispatch tries them
  CacheRule cache;
  std::vector<TraceEntry> trace;      // every route and candidate considered
  int64_t input_tokens = 0;           // estimated (or given) input tokens
  bool on_error_next = false;         // the route's on_error: fall to the next route

  // A person-readable account of the decision: one line per trace entry.
  std::string explain() const;
  // The same as JSON, for machines (`tollgate explain --json`).
  nlohmann::json to_json() const;

  // Internal: keeps the policy set behind the string_views alive.
  std::shared_ptr<const void> keep_alive;
};

// Token counts the provider reported. input counts every prompt token,
// cached ones included; cached_input is the part billed at the cached price.
struct Usage {
  int64_t input_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
};

// What came back for a request, and what it cost.
// (Its moves are noexcept; clang-tidy cannot see through nlohmann::json's
// invariant assertion, hence the NOLINT.)
struct Response {  // NOLINT(bugprone-exception-escape)
  std::string request_id;  // for Engine::record_quality
  // An OpenAI "chat.completion" object, whatever the provider. Null when
  // the request asked for answer_as_text and body_text holds the answer.
  nlohmann::json body;
  // `body` as JSON text, byte for byte what the provider sent, when it sent
  // that object as it is (a non-streamed answer from an OpenAI-format
  // provider, or a cache hit); empty otherwise. A gateway answering in the
  // OpenAI format can write it out instead of body.dump().
  std::string body_text;
  std::string route, provider, model;
  std::string finish_reason;  // "stop", "length", "tool_calls", ...
  Usage usage;
  Money cost;    // charged to the team, every attempt's row included (0 on a cache hit)
  Money saved;   // what a cache hit (or the provider's prompt cache) saved
  bool cache_hit = false;
  int attempts = 0;         // upstream attempts made (0 on a cache hit)
  int64_t latency_ms = 0;   // whole request, decision to answer
  int64_t ttft_ms = -1;     // time to first token when streamed; -1 otherwise
  bool downgraded = false;  // a spend cap sent it to the team's downgrade route
};

// Spend of one team in one window ("hour", "day", "month", "rolling_24h").
struct SpendView {
  std::string team, window;
  Money spent, reserved;
  std::optional<Money> cap;
  int64_t window_start_ms = 0, window_end_ms = 0;
};

// A soft limit crossed (once per scope and window): say, 80 % of a cap.
struct BudgetAlert {
  std::string scope;  // "team", "user", "route" or "provider"
  std::string team, name, window;
  Money spent, cap;
  double threshold = 0;  // the soft_limit fraction that was crossed
};

}  // namespace tollgate
