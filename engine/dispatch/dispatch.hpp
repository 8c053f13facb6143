// tollgate — dispatch: send one request to its candidates in order, with
// retries, fallback and circuit breaking, and account for every attempt.
//
// Per candidate (a target): skipped while its circuit is open, or when an
// earlier candidate's context-length error showed its window is too small.
// Failures, as classified by the adapter:
//   retryable (429, 5xx, timeouts, resets, truncated or malformed answers):
//       retried on the same candidate with backoff (honoring Retry-After),
//       then the next candidate;
//   context length: the next candidate with a larger window;
//   TLS / configuration: the next candidate, no retry;
//   request errors (400/404/422) and auth (401/403): fail at once with the
//       provider's message;
//   cancelled: fail at once.
// A stream that has passed tokens to the caller is never restarted on
// another attempt: it fails, saying so.
//
// Every attempt produces one AttemptRecord through DispatchOptions::on_attempt.
//
// Thread-safety: a Dispatcher is immutable; any thread may start any number
// of dispatches at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "adapters/providers/provider.hpp"
#include "engine/dispatch/attempt_record.hpp"
#include "engine/dispatch/circuit_breaker.hpp"
#include "engine/dispatch/retry.hpp"
#include "tollgate/error.hpp"
#include "tollgate/money.hpp"

namespace tollgate {

struct DispatchTarget {
  std::shared_ptr<adapters::Provider> provider;  // required
  std::string model;           // catalog id: attempt records and circuit breakers
  std::string upstream_model;  // the name the provider's API knows; empty: `model`
  int64_t context_window = 0;  // 0: unknown (never skipped for size)
  // Retries of a retryable failure on this target before the next one (the
  // provider's `max_retries`); -1: DispatchOptions::retry.max_attempts.
  int max_retries = -1;
};

struct DispatchRequest {
  // The OpenAI chat-completions body; "model" and "stream" are set per target.
  nlohmann::json body;
  bool stream = false;
  // text: the caller wants the answer's bytes, not its tree (Request::answer_as_text).
  adapters::AnswerForm answer_form = adapters::AnswerForm::json;
  // stream: receives every chunk (runs on an I/O thread; must not block).
  adapters::DeltaFn on_delta;
  // May be null. cancel() ends the attempt in flight or the backoff wait.
  std::shared_ptr<adapters::CancelSignal> cancel;
  // May be unset. When the request must end by then, a retry whose backoff
  // would outlast it is skipped for the next target (which can still answer
  // in time) instead of waiting for the deadline to cancel the backoff.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Copied into every attempt record.
  std::string request_id;
  std::string team;
  std::string user;
  std::string tags_json = "{}";
  std::string route;
  // The request's estimated input tokens. A stream cut midway (a failure
  // or a cancellation after part of the answer arrived) is charged for
  // them and for the output it streamed: the provider bills what it did.
  int64_t input_tokens = 0;
  // Per-request hooks (each may be null), run on the dispatch's strand:
  // admit: before the first attempt on a target; an error skips the target
  //   (say, a spend cap on its provider) and is quoted in the final error.
  std::function<Result<void>(std::size_t index, const DispatchTarget& target)> admit;
  // on_start: as an attempt starts on a target (a stream's chunks come from
  // the target it named last).
  std::function<void(std::size_t index)> on_start;
  // on_attempt: every attempt record, after DispatchOptions::on_attempt.
  std::function<void(const AttemptRecord& record, std::size_t index)> on_attempt;
  // cost: prices this request's usage (overrides DispatchOptions::cost).
  std::function<Money(const DispatchTarget& target, const adapters::Usage& usage)> cost;
};

struct DispatchResult {
  adapters::ChatResponse response;  // OpenAI chat.completion body, usage, timings
  std::size_t target_index = 0;     // which target answered
  std::string provider;
  std::string model;
  int attempts = 0;                 // attempts made, this one included
};

// The cost of an attempt's usage on a target; dispatch has no prices. Null:
// attempt records carry cost 0 and the caller fills it in.
using CostFn = std::function<Money(const DispatchTarget& target, const adapters::Usage& usage)>;
// Receives each attempt record, on an I/O thread, as the attempt ends.
using AttemptSink = std::function<void(AttemptRecord record)>;

struct DispatchOptions {
  RetryPolicy retry;
  AttemptSink on_attempt;  // may be null
  CostFn cost;             // may be null
};

class Dispatcher {
 public:
  // `breakers` may be shared with other dispatchers (and read by policies);
  // null: no circuit breaking. Backoff timers run on `executor`.
  Dispatcher(boost::asio::any_io_executor executor, std::shared_ptr<CircuitBreakers> breakers,
             DispatchOptions options = {});

  using DoneFn = std::function<void(Result<DispatchResult>)>;

  // Tries the targets in order; `done` runs exactly once, on an I/O thread,
  // never inline. Errors: bad_request (the provider rejected the request),
  // timeout, cancelled, unavailable (nothing was tried because every target
  // left was skipped for an open circuit; Error::retry_after_ms is the
  // shortest cooldown left), or provider (everything else); the message
  // names each provider and model tried and quotes what the provider said.
  void async_dispatch(DispatchRequest request, std::vector<DispatchTarget> targets,
                      DoneFn done) const;

  // Blocks the calling thread until async_dispatch finishes. Never call it
  // from a thread running `executor` (it could wait on itself).
  Result<DispatchResult> dispatch(DispatchRequest request,
                                  std::vector<DispatchTarget> targets) const;

  const std::shared_ptr<CircuitBreakers>& breakers() const { return breakers_; }

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<CircuitBreakers> breakers_;
  std::shared_ptr<const DispatchOptions> options_;
};

}  // namespace tollgate
