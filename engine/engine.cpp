#include "engine/engine_impl.hpp"

namespace tollgate {

Result<std::unique_ptr<Engine>> Engine::create(Options options) {
  auto policy = engine::build_policy_set(options);
  if (!policy.ok()) return policy.error();
  return std::unique_ptr<Engine>(new engine::EngineImpl(std::move(options), std::move(*policy)));
}

namespace engine {

EngineImpl::EngineImpl(Options options, std::shared_ptr<const PolicySet> policy)
    : options_(std::move(options)), policy_(std::move(policy)), signals_(std::make_shared<NoSignals>()) {}

std::shared_ptr<const PolicySet> EngineImpl::policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

void EngineImpl::set_signals(std::shared_ptr<const Signals> signals) {
  std::lock_guard lock(mu_);
  signals_ = std::move(signals);
}

Result<Decision> EngineImpl::decide(const Request& request) const {
  Decision d;
  if (auto r = decide_into(request, d); !r.ok()) return r.error();
  return d;
}

Result<void> EngineImpl::decide_into(const Request& request, Decision& out) const {
  std::shared_ptr<const PolicySet> policy;
  std::shared_ptr<const Signals> signals;
  {
    std::lock_guard lock(mu_);
    policy = policy_;
    signals = signals_;
  }
  return engine::decide(policy, *signals, request, out);
}

Result<void> EngineImpl::reload() {
  std::lock_guard serial(reload_mu_);
  // Everything is loaded and validated on the side; only a complete,
  // valid set is swapped in.
  auto next = build_policy_set(options_);
  if (!next.ok()) return next.error();
  std::shared_ptr<const PolicySet> old;
  {
    std::lock_guard lock(mu_);
    old = std::exchange(policy_, std::move(*next));
  }
  return {};  // `old` is released here, outside the lock
}

}  // namespace engine
}  // namespace tollgate
