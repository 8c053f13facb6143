// The Engine's implementation. Internal: tools and tests reach it to swap in
// signals (quality, health, spend doubles) that the public API does not
// expose.
#pragma once

#include <memory>
#include <mutex>

#include "engine/policy_set.hpp"
#include "engine/router.hpp"
#include "engine/signals.hpp"
#include "tollgate/engine.hpp"

namespace tollgate::engine {

class EngineImpl final : public Engine {
 public:
  EngineImpl(Options options, std::shared_ptr<const PolicySet> policy);

  Result<Decision> decide(const Request& request) const override;
  Result<void> decide_into(const Request& request, Decision& out) const override;
  Result<void> reload() override;

  // The policy set in force now (a reload swaps it; holders keep theirs).
  std::shared_ptr<const PolicySet> policy() const;
  // Replaces what the router learns about quality, health and spend.
  void set_signals(std::shared_ptr<const Signals> signals);

 private:
  Options options_;
  mutable std::mutex mu_;  // guards the two pointers below (copied under it)
  std::shared_ptr<const PolicySet> policy_;
  std::shared_ptr<const Signals> signals_;
  std::mutex reload_mu_;  // one reload at a time
};

}  // namespace tollgate::engine
