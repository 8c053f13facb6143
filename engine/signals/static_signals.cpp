#include "engine/signals/static_signals.hpp"

namespace tollgate::engine {

void StaticSignals::set_quality(const std::string& model, const std::string& task, dsl::QualityStats q) {
  std::lock_guard lock(mu_);
  quality_[{model, task}] = q;
}

void StaticSignals::set_healthy(const std::string& model, bool healthy) {
  std::lock_guard lock(mu_);
  if (healthy) unhealthy_.erase(model);
  else unhealthy_.insert(model);
}

void StaticSignals::set_spend(const std::string& team, const std::string& window, dsl::SpendStats s) {
  std::lock_guard lock(mu_);
  spend_[{team, window}] = s;
}

void StaticSignals::clear() {
  std::lock_guard lock(mu_);
  quality_.clear();
  unhealthy_.clear();
  spend_.clear();
}

std::optional<dsl::QualityStats> StaticSignals::quality(std::string_view model, std::string_view task) const {
  std::lock_guard lock(mu_);
  auto it = quality_.find({std::string(model), std::string(task)});
  if (it == quality_.end()) return std::nullopt;
  return it->second;
}

bool StaticSignals::healthy(std::string_view, std::string_view model) const {
  std::lock_guard lock(mu_);
  return unhealthy_.find(model) == unhealthy_.end();
}

std::optional<dsl::SpendStats> StaticSignals::spend(std::string_view team, std::string_view window) const {
  std::lock_guard lock(mu_);
  auto it = spend_.find({std::string(team), std::string(window)});
  if (it == spend_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tollgate::engine
