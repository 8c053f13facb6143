// tollgate — circuit breakers per provider and model: a model that keeps
// failing is skipped for a while instead of costing every request a timeout.
//
// closed ──(N consecutive failures, or error rate ≥ R over the last W
// calls)──► open ──(open_for elapsed)──► half-open: one probe call is let
// through; its success closes the circuit, its failure opens it again.
//
// Thread-safety: every method may be called from any thread at once.
// healthy() is what policies read as provider health.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace tollgate {

struct CircuitBreakerOptions {
  // Consecutive failures that open the circuit. Default: 5.
  int consecutive_failures = 5;
  // Failure share over the last `window` calls (at least min_samples of
  // them) that opens it. Default: half of the last 20, once 10 are seen.
  double error_rate = 0.5;
  int window = 20;  // at most 64
  int min_samples = 10;
  // How long an open circuit skips its model before one probe is let through.
  std::chrono::milliseconds open_for{30'000};
};

enum class CircuitState : uint8_t { closed, open, half_open };
std::string_view to_string(CircuitState s) noexcept;

// What an attempt says about a model's health.
enum class CallOutcome : uint8_t {
  success,
  failure,  // the provider failed (5xx, 429, timeout, reset, bad answer)
  neutral,  // says nothing about the provider (cancelled, the request's own fault)
};

class CircuitBreakers {
 public:
  using Clock = std::chrono::steady_clock;
  // `now` replaces the clock (tests); null: steady_clock.
  explicit CircuitBreakers(CircuitBreakerOptions options = {},
                           std::function<Clock::time_point()> now = nullptr);

  // Whether to call the model now. An open circuit past open_for turns
  // half-open and returns true to exactly one caller (the probe), false to
  // the others until the probe's outcome is recorded.
  bool allow(std::string_view provider, std::string_view model);
  // Records an allowed call's outcome. Every allow() that returned true
  // must be followed by one record() (neutral if nothing was learnt).
  void record(std::string_view provider, std::string_view model, CallOutcome outcome);

  // For policies: false while the model's circuit is open and not yet due
  // for a probe. No side effects. Unknown models are healthy.
  bool healthy(std::string_view provider, std::string_view model) const;
  // False when every model seen for the provider is unhealthy.
  bool healthy(std::string_view provider) const;
  CircuitState state(std::string_view provider, std::string_view model) const;
  // How long the model's open circuit still refuses calls before it lets a
  // probe through: what a caller refused by allow() should wait. Zero when
  // it is not open, or is due for its probe, or the probe is in flight.
  std::chrono::milliseconds cooldown_left(std::string_view provider, std::string_view model) const;

 private:
  struct Breaker {
    CircuitState state = CircuitState::closed;
    int consecutive = 0;
    uint64_t outcomes = 0;  // ring of the last `window` calls, 1 = failure
    int count = 0;          // calls in the ring
    int next = 0;           // ring position of the next call
    Clock::time_point opened_at;
    bool probe_in_flight = false;
  };
  bool healthy_locked(const Breaker& b) const;
  void open(Breaker& b);
  int failures(const Breaker& b) const;

  const CircuitBreakerOptions opts_;
  const std::function<Clock::time_point()> now_;
  mutable std::mutex mu_;
  std::map<std::string, Breaker, std::less<>> breakers_;  // guarded by mu_; key provider '\x1f' model
};

}  // namespace tollgate
