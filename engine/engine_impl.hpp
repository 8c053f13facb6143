// The Engine's implementation. Internal: tools and tests reach it to swap in
// signals (quality, health, spend doubles) and a clock, which the public API
// does not expose.
//
// EngineCore is what requests in flight share; an EngineImpl owns one and,
// when destroyed, waits for the requests in flight before tearing it down.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "engine/cache/cache_key.hpp"
#include "engine/cache/cache_store.hpp"
#include "engine/dispatch/circuit_breaker.hpp"
#include "engine/dispatch/dispatch.hpp"
#include "engine/io_runtime.hpp"
#include "engine/ledger/ledger.hpp"
#include "engine/routing/policy_set.hpp"
#include "engine/dispatch/provider_registry.hpp"
#include "engine/cache/response_cache.hpp"
#include "engine/routing/router.hpp"
#include "engine/signals/signals.hpp"
#include "engine/cache/single_flight.hpp"
#include "engine/budget/lease_keeper.hpp"
#include "engine/budget/spend_gate.hpp"
#include "tollgate/engine.hpp"

namespace tollgate::engine {

struct EngineCore {
  Options options;
  std::function<int64_t()> now_ms;  // unix ms; tests inject their own
  std::unique_ptr<IoRuntime> runtime;  // declared first: destroyed last
  std::unique_ptr<ProviderRegistry> providers;
  std::shared_ptr<CircuitBreakers> breakers;
  SpendGate gate;  // before the ledger: its writer charges other processes' spend here
  std::unique_ptr<Ledger> ledger;  // null without Options::ledger_path
  // Options::shared_caps: this instance's leases on the caps, in the
  // ledger's store. Null otherwise.
  std::unique_ptr<LeaseKeeper> leases;
  std::unique_ptr<Dispatcher> dispatcher;
  // The response cache (null when Options::cache_bytes is 0), its optional
  // SQLite copy, the keyer (its secret persists with the store), and the
  // single-flight table that makes identical requests share one call.
  std::unique_ptr<CacheStore> cache_store;
  std::unique_ptr<ResponseCache> cache;
  std::unique_ptr<CacheKeyer> keyer;
  SingleFlight flights;

  std::shared_ptr<const PolicySet> policy() const;
  std::shared_ptr<const Signals> signals() const;
  void set_policy(std::shared_ptr<const PolicySet> p);
  void set_signals(std::shared_ptr<const Signals> s);

  // Requests in flight, so the engine can wait for them before it goes.
  void begin_request();
  void end_request();
  void wait_idle();

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const PolicySet> policy_;
  std::shared_ptr<const Signals> signals_;
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  int64_t in_flight_ = 0;
};

// Marks the calling thread as running one of the embedder's callbacks for
// `core` (a DoneFn, a DeltaFn, a budget alert) while it lives. An Engine
// destroyed inside one must not wait for the request that is calling it;
// ~EngineImpl asks inside() to find out.
class CallbackScope {
 public:
  explicit CallbackScope(const EngineCore* core) : previous_(current_) { current_ = core; }
  ~CallbackScope() { current_ = previous_; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
  static bool inside(const EngineCore* core) { return current_ == core; }

 private:
  const EngineCore* previous_;
  static inline thread_local const EngineCore* current_ = nullptr;
};

// Who answers a stream, known just before its first chunk: what a gateway
// puts in its response head. The views last for the call only.
struct StreamHead {
  std::string_view request_id, route, provider, model;
  bool cache_hit = false;
};
using StreamHeadFn = std::function<void(const StreamHead& head)>;

class EngineImpl final : public Engine {
 public:
  explicit EngineImpl(std::shared_ptr<EngineCore> core);
  ~EngineImpl() override;

  Result<Decision> decide(const Request& request) const override;
  Result<void> decide_into(const Request& request, Decision& out) const override;
  Result<Response> complete(const Request& request) override;
  Result<Response> stream(const Request& request, DeltaFn on_delta) override;
  void async_complete(Request request, DoneFn done, std::shared_ptr<Cancellation> cancel) override;
  void async_stream(Request request, DeltaFn on_delta, DoneFn done,
                    std::shared_ptr<Cancellation> cancel) override;
  // As async_stream, and `on_head` runs once, on the same thread just before
  // the first chunk reaches `on_delta`, naming the request and the model
  // that answers (after any fallback: a stream that has sent a chunk is
  // never restarted). Not at all when no chunk comes.
  void async_stream_with_head(Request request, StreamHeadFn on_head, DeltaFn on_delta, DoneFn done,
                              const std::shared_ptr<Cancellation>& cancel);
  Result<void> reload() override;
  Result<void> record_quality(std::string_view request_id, double score, std::string_view source) override;
  Result<SpendView> spend(std::string_view team, std::string_view window) const override;
  std::vector<SpendView> spend_all() const override;
  void on_budget_alert(std::function<void(const BudgetAlert&)> callback) override;
  Result<void> flush() override;

  // The policy set in force now (a reload swaps it; holders keep theirs).
  std::shared_ptr<const PolicySet> policy() const { return core_->policy(); }
  // Replaces what the router learns about quality, health and spend.
  void set_signals(std::shared_ptr<const Signals> signals) { core_->set_signals(std::move(signals)); }
  EngineCore& core() { return *core_; }

 private:
  Result<Response> wait_for(Request request, DeltaFn on_delta);

  std::shared_ptr<EngineCore> core_;
  std::mutex reload_mu_;  // one reload at a time
};

// Engines destroyed from one of their own threads whose teardown is still
// running in the background (for tests, which must outlive it).
int background_teardowns();

// Builds the engine: policy, ledger (and the spend rebuild from it), I/O.
Result<std::unique_ptr<EngineImpl>> make_engine(Options options, std::unique_ptr<IoRuntime> runtime);

}  // namespace tollgate::engine
