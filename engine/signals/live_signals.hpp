// Signals from the running engine: measured quality and latency from the
// ledger's aggregates, provider health from the circuit breakers, spend from
// the spend gate. Each source may be absent (no ledger: no measurements).
// Every call is lock-light and never touches SQL.
#pragma once

#include <functional>
#include <memory>

#include "engine/signals/signals.hpp"

namespace tollgate {
class CircuitBreakers;
}

namespace tollgate::engine {

class Ledger;
class SpendGate;

class LiveSignals final : public Signals {
 public:
  // Pointers are borrowed: their owners (the engine) outlive this object.
  LiveSignals(const Ledger* ledger, const CircuitBreakers* breakers, const SpendGate* gate,
              std::function<int64_t()> clock);

  std::optional<dsl::QualityStats> quality(std::string_view model, std::string_view task) const override;
  bool healthy(std::string_view provider, std::string_view model) const override;
  std::optional<dsl::SpendStats> spend(std::string_view team, std::string_view window) const override;

 private:
  const Ledger* ledger_;
  const CircuitBreakers* breakers_;
  const SpendGate* gate_;
  std::function<int64_t()> clock_;
};

}  // namespace tollgate::engine
