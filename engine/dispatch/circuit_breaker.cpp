#include "engine/dispatch/circuit_breaker.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace tollgate {
namespace {

// A breaker's key, provider '\x1f' model (a unit separator cannot appear in
// either name), built on the stack when it fits, as every real name does:
// the router asks after every candidate of every decision, and a decision
// must not allocate.
class BreakerKey {
 public:
  BreakerKey(std::string_view provider, std::string_view model) {
    const std::size_t n = provider.size() + 1 + model.size();
    if (n > sizeof(buf_)) heap_.resize(n);
    char* p = n > sizeof(buf_) ? heap_.data() : buf_;
    std::memcpy(p, provider.data(), provider.size());
    p[provider.size()] = '\x1f';
    std::memcpy(p + provider.size() + 1, model.data(), model.size());
    view_ = std::string_view(p, n);
  }
  BreakerKey(const BreakerKey&) = delete;  // view_ points into this object
  BreakerKey& operator=(const BreakerKey&) = delete;

  std::string_view view() const { return view_; }

 private:
  char buf_[128];
  std::string heap_;
  std::string_view view_;
};

}  // namespace

std::string_view to_string(CircuitState s) noexcept {
  switch (s) {
    case CircuitState::closed: return "closed";
    case CircuitState::open: return "open";
    case CircuitState::half_open: return "half_open";
  }
  return "closed";
}

CircuitBreakers::CircuitBreakers(CircuitBreakerOptions options, std::function<Clock::time_point()> now)
    : opts_([&] {
        options.window = std::clamp(options.window, 1, 64);
        options.min_samples = std::clamp(options.min_samples, 1, options.window);
        options.consecutive_failures = std::max(1, options.consecutive_failures);
        return options;
      }()),
      now_(now ? std::move(now) : [] { return Clock::now(); }) {}

int CircuitBreakers::failures(const Breaker& b) const {
  const uint64_t mask = opts_.window == 64 ? ~uint64_t{0} : (uint64_t{1} << opts_.window) - 1;
  return std::popcount(b.outcomes & mask);
}

void CircuitBreakers::open(Breaker& b) {
  b.state = CircuitState::open;
  b.opened_at = now_();
  b.probe_in_flight = false;
}

bool CircuitBreakers::healthy_locked(const Breaker& b) const {
  if (b.state != CircuitState::open) return true;
  return now_() - b.opened_at >= opts_.open_for;  // due for a probe
}

bool CircuitBreakers::allow(std::string_view provider, std::string_view model) {
  std::lock_guard lock(mu_);
  const BreakerKey key(provider, model);
  auto it = breakers_.find(key.view());
  if (it == breakers_.end()) {
    breakers_.emplace(std::string(key.view()), Breaker{});
    return true;
  }
  Breaker& b = it->second;
  switch (b.state) {
    case CircuitState::closed:
      return true;
    case CircuitState::open:
      if (!healthy_locked(b)) return false;
      b.state = CircuitState::half_open;
      b.probe_in_flight = true;
      return true;
    case CircuitState::half_open:
      if (b.probe_in_flight) return false;
      b.probe_in_flight = true;
      return true;
  }
  return true;
}

void CircuitBreakers::record(std::string_view provider, std::string_view model, CallOutcome outcome) {
  std::lock_guard lock(mu_);
  const BreakerKey key(provider, model);
  auto it = breakers_.find(key.view());
  if (it == breakers_.end()) it = breakers_.emplace(std::string(key.view()), Breaker{}).first;
  Breaker& b = it->second;
  if (b.state == CircuitState::half_open) {
    b.probe_in_flight = false;
    if (outcome == CallOutcome::success) {
      b = Breaker{};  // closed, with a clean history
    } else if (outcome == CallOutcome::failure) {
      open(b);
    }
    return;  // neutral: the next caller probes
  }
  if (outcome == CallOutcome::neutral) return;
  const bool failed = outcome == CallOutcome::failure;
  const uint64_t bit = uint64_t{1} << b.next;
  b.outcomes = failed ? (b.outcomes | bit) : (b.outcomes & ~bit);
  b.next = (b.next + 1) % opts_.window;
  b.count = std::min(b.count + 1, opts_.window);
  b.consecutive = failed ? b.consecutive + 1 : 0;
  if (b.state != CircuitState::closed || !failed) return;
  const bool rate_high = b.count >= opts_.min_samples &&
                         failures(b) >= opts_.error_rate * static_cast<double>(b.count);
  if (b.consecutive >= opts_.consecutive_failures || rate_high) open(b);
}

bool CircuitBreakers::healthy(std::string_view provider, std::string_view model) const {
  std::lock_guard lock(mu_);
  const BreakerKey key(provider, model);
  auto it = breakers_.find(key.view());
  return it == breakers_.end() || healthy_locked(it->second);
}

bool CircuitBreakers::healthy(std::string_view provider) const {
  std::lock_guard lock(mu_);
  const BreakerKey key(provider, "");
  const std::string_view prefix = key.view();
  bool seen = false;
  for (auto it = breakers_.lower_bound(prefix); it != breakers_.end() && it->first.starts_with(prefix); ++it) {
    seen = true;
    if (healthy_locked(it->second)) return true;
  }
  return !seen;
}

CircuitState CircuitBreakers::state(std::string_view provider, std::string_view model) const {
  std::lock_guard lock(mu_);
  const BreakerKey key(provider, model);
  auto it = breakers_.find(key.view());
  return it == breakers_.end() ? CircuitState::closed : it->second.state;
}

std::chrono::milliseconds CircuitBreakers::cooldown_left(std::string_view provider, std::string_view model) const {
  std::lock_guard lock(mu_);
  const BreakerKey key(provider, model);
  auto it = breakers_.find(key.view());
  if (it == breakers_.end() || it->second.state != CircuitState::open) return std::chrono::milliseconds(0);
  const auto left = it->second.opened_at + opts_.open_for - now_();
  // Rounded up: a wait cut short by a fraction finds the circuit still open.
  return std::max(std::chrono::ceil<std::chrono::milliseconds>(left), std::chrono::milliseconds(0));
}

}  // namespace tollgate
