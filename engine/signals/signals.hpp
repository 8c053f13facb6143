// What the router learns from the running system: measured quality, provider
// health, spend. The ledger, circuit breakers and spend gate implement it;
// with none wired in, NoSignals says "no data, everything healthy".
#pragma once

#include <optional>
#include <string_view>

#include "dsl/host_context.hpp"

namespace tollgate::engine {

class Signals {
 public:
  virtual ~Signals() = default;
  virtual std::optional<dsl::QualityStats> quality(std::string_view model, std::string_view task) const = 0;
  virtual bool healthy(std::string_view provider, std::string_view model) const = 0;
  virtual std::optional<dsl::SpendStats> spend(std::string_view team, std::string_view window) const = 0;
};

class NoSignals final : public Signals {
 public:
  std::optional<dsl::QualityStats> quality(std::string_view, std::string_view) const override { return {}; }
  bool healthy(std::string_view, std::string_view) const override { return true; }
  std::optional<dsl::SpendStats> spend(std::string_view, std::string_view) const override { return {}; }
};

}  // namespace tollgate::engine
