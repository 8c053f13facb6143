// tollgate — when to try a failed candidate again: exponential backoff with
// jitter, honoring the provider's Retry-After.
#pragma once

#include <chrono>
#include <optional>

namespace tollgate {

struct RetryPolicy {
  // Attempts per candidate, the first included. 1: never retry a
  // candidate, go straight to the next. Default: 2.
  int max_attempts = 2;
  // The wait before the first retry; each later retry doubles it, up to
  // max_backoff. The actual wait is drawn uniformly from [half, all] of it
  // so that clients failing together do not retry together.
  std::chrono::milliseconds base_backoff{200};
  std::chrono::milliseconds max_backoff{5'000};
  // A Retry-After longer than this is not waited for: the next candidate
  // is tried instead. Default: 10 s (interactive requests).
  std::chrono::milliseconds max_retry_after{10'000};
};

// The wait before attempt `next_attempt` (2 = the first retry) of a
// candidate, or nullopt when the provider's Retry-After is beyond the
// policy's max_retry_after. `unit_random` is in [0, 1).
std::optional<std::chrono::milliseconds> retry_delay(
    const RetryPolicy& policy, int next_attempt,
    std::optional<std::chrono::milliseconds> retry_after, double unit_random);

// A uniform draw in [0, 1) from a per-thread generator.
double jitter_draw();

}  // namespace tollgate
