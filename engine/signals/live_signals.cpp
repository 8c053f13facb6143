#include "engine/signals/live_signals.hpp"

#include "engine/dispatch/circuit_breaker.hpp"
#include "engine/ledger/ledger.hpp"
#include "engine/budget/spend_gate.hpp"

namespace tollgate::engine {

LiveSignals::LiveSignals(const Ledger* ledger, const CircuitBreakers* breakers, const SpendGate* gate,
                         std::function<int64_t()> clock)
    : ledger_(ledger), breakers_(breakers), gate_(gate), clock_(std::move(clock)) {}

std::optional<dsl::QualityStats> LiveSignals::quality(std::string_view model, std::string_view task) const {
  if (!ledger_) return std::nullopt;
  const QualityStats q = ledger_->quality().get(model, task);
  if (q.count == 0 && q.attempts == 0) return std::nullopt;
  return dsl::QualityStats{q.mean, q.count, q.error_rate, static_cast<double>(q.p50_ms),
                           static_cast<double>(q.p95_ms)};
}

bool LiveSignals::healthy(std::string_view provider, std::string_view model) const {
  return !breakers_ || breakers_->healthy(provider, model);
}

std::optional<dsl::SpendStats> LiveSignals::spend(std::string_view team, std::string_view window) const {
  if (!gate_) return std::nullopt;
  auto w = spend_window_from(window);
  if (!w) return std::nullopt;
  auto snap = gate_->snapshot(team, *w, clock_());
  if (!snap) return std::nullopt;
  return dsl::SpendStats{snap->spent.nanos, snap->reserved.nanos, snap->cap ? snap->cap->nanos : -1};
}

}  // namespace tollgate::engine
