#include "engine/dispatch/retry.hpp"

#include <algorithm>
#include <random>

namespace tollgate {

std::optional<std::chrono::milliseconds> retry_delay(
    const RetryPolicy& policy, int next_attempt,
    std::optional<std::chrono::milliseconds> retry_after, double unit_random) {
  using std::chrono::milliseconds;
  if (retry_after && *retry_after > policy.max_retry_after) return std::nullopt;
  const int doublings = std::clamp(next_attempt - 2, 0, 30);
  const auto full = std::min<int64_t>(policy.base_backoff.count() << doublings, policy.max_backoff.count());
  const int64_t half = full / 2;  // jitter draws from [full/2, full]
  const auto drawn = milliseconds(half + static_cast<int64_t>(unit_random * static_cast<double>(full - half)));
  return retry_after ? std::max(drawn, *retry_after) : drawn;
}

double jitter_draw() {
  thread_local std::minstd_rand gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace tollgate
