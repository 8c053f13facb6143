// Signals from fixed values: what `tollgate test` and `tollgate explain`
// use to show a policy's behaviour under given quality scores, provider
// health and spend, without a ledger or live traffic. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "engine/signals/signals.hpp"

namespace tollgate::engine {

class StaticSignals final : public Signals {
 public:
  void set_quality(const std::string& model, const std::string& task, dsl::QualityStats q);
  void set_healthy(const std::string& model, bool healthy);
  void set_spend(const std::string& team, const std::string& window, dsl::SpendStats s);
  void clear();

  std::optional<dsl::QualityStats> quality(std::string_view model, std::string_view task) const override;
  bool healthy(std::string_view provider, std::string_view model) const override;
  std::optional<dsl::SpendStats> spend(std::string_view team, std::string_view window) const override;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, dsl::QualityStats> quality_;
  std::set<std::string, std::less<>> unhealthy_;
  std::map<std::pair<std::string, std::string>, dsl::SpendStats> spend_;
};

}  // namespace tollgate::engine
