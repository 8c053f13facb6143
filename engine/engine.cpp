#include "engine/engine_impl.hpp"

#include <chrono>
#include <future>
#include <thread>

#include "engine/signals/live_signals.hpp"
#include "engine/request_op.hpp"
#include "engine/wall_clock.hpp"
#include "tollgate/async.hpp"

namespace tollgate {

Result<std::unique_ptr<Engine>> Engine::create(Options options) {
  auto runtime = std::make_unique<engine::IoRuntime>(options.threads);
  auto e = engine::make_engine(std::move(options), std::move(runtime));
  if (!e.ok()) return e.error();
  return std::unique_ptr<Engine>(std::move(*e));
}

Result<std::unique_ptr<Engine>> create_engine(Options options, boost::asio::any_io_executor executor) {
  auto runtime = std::make_unique<engine::IoRuntime>(std::move(executor));
  auto e = engine::make_engine(std::move(options), std::move(runtime));
  if (!e.ok()) return e.error();
  return std::unique_ptr<Engine>(std::move(*e));
}

namespace engine {

// ---- EngineCore -----------------------------------------------------------

std::shared_ptr<const PolicySet> EngineCore::policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

std::shared_ptr<const Signals> EngineCore::signals() const {
  std::lock_guard lock(mu_);
  return signals_;
}

void EngineCore::set_policy(std::shared_ptr<const PolicySet> p) {
  std::shared_ptr<const PolicySet> old;
  std::lock_guard lock(mu_);
  old = std::exchange(policy_, std::move(p));
}

void EngineCore::set_signals(std::shared_ptr<const Signals> s) {
  std::lock_guard lock(mu_);
  signals_ = std::move(s);
}

void EngineCore::begin_request() {
  std::lock_guard lock(idle_mu_);
  ++in_flight_;
}

void EngineCore::end_request() {
  std::lock_guard lock(idle_mu_);
  if (--in_flight_ == 0) idle_cv_.notify_all();
}

void EngineCore::wait_idle() {
  std::unique_lock lock(idle_mu_);
  idle_cv_.wait(lock, [&] { return in_flight_ == 0; });
}

// ---- construction ----------------------------------------------------------

Result<std::unique_ptr<EngineImpl>> make_engine(Options options, std::unique_ptr<IoRuntime> runtime) {
  auto core = std::make_shared<EngineCore>();
  core->now_ms = unix_now_ms;
  auto policy = build_policy_set(options);
  if (!policy.ok()) return policy.error();
  if (auto r = core->gate.configure((*policy)->decls); !r.ok()) return r.error();
  if (options.shared_caps && options.ledger_path.empty())
    return Error(ErrorCategory::config,
                 "shared_caps needs a ledger: the caps' headroom is leased from it (set ledger_path)");
  if (!options.ledger_path.empty()) {
    LedgerOptions lo;
    lo.durability = options.durability;
    lo.on_error = options.on_ledger_error;
    // With shared caps every row names the lease holder that wrote it: its
    // commit moves the row's cost out of that holder's leases.
    if (options.shared_caps) lo.holder = new_lease_holder_id();
    auto ledger = Ledger::open(options.ledger_path, lo);
    if (!ledger.ok()) return ledger.error();
    core->ledger = std::move(*ledger);
    // A restart does not reset a cap: spend inside the windows comes back.
    auto last_id = core->ledger->rebuild_spend(core->gate, core->now_ms());
    if (!last_id.ok()) return last_id.error();
    if (options.shared_caps) {
      auto store = open_lease_store(options.ledger_path);
      if (!store.ok()) return store.error();
      LeaseKeeperOptions ko;
      ko.ttl_ms = std::max<int64_t>(1000, options.lease_ttl_ms);
      ko.now_ms = [] { return unix_now_ms(); };
      core->leases = std::make_unique<LeaseKeeper>(core->gate, std::move(*store), lo.holder, ko);
    }
    // Other processes sharing the file: their spend fills these caps too.
    core->ledger->follow_foreign_spend(
        *last_id, [gate = &core->gate](const SpendKeys& keys, Money cost, int64_t time_ms) {
          gate->add_settled(keys, cost, time_ms);
        });
  }
  core->runtime = std::move(runtime);
  core->providers = std::make_unique<ProviderRegistry>(core->runtime->executor(), options);
  core->breakers = std::make_shared<CircuitBreakers>();
  DispatchOptions dispatch;
  dispatch.retry.max_attempts = std::max(1, options.retry.max_attempts);
  dispatch.retry.base_backoff = std::chrono::milliseconds(options.retry.base_backoff_ms);
  dispatch.retry.max_backoff = std::chrono::milliseconds(options.retry.max_backoff_ms);
  dispatch.retry.max_retry_after = std::chrono::milliseconds(options.retry.max_retry_after_ms);
  core->dispatcher = std::make_unique<Dispatcher>(core->runtime->executor(), core->breakers, std::move(dispatch));
  if (options.cache_bytes > 0) {
    ResponseCache::Options co;
    co.max_bytes = options.cache_bytes;
    CacheKeySecret secret = random_cache_key_secret();
    if (options.cache_persist && !options.ledger_path.empty()) {
      CacheStore::Options so;
      so.path = options.ledger_path;  // its own table beside the ledger's
      auto store = CacheStore::open(so);
      if (!store.ok()) return store.error();
      core->cache_store = std::move(*store);
      secret = core->cache_store->secret();  // keys stay valid across restarts
      CacheStore* raw_store = core->cache_store.get();
      co.on_evict = [raw_store](const CacheKey& key) { raw_store->erase(key); };
    }
    core->cache = std::make_unique<ResponseCache>(co);
    core->keyer = std::make_unique<CacheKeyer>(secret);
    if (core->cache_store)
      if (auto r = core->cache_store->load_into(*core->cache); !r.ok()) return r.error();
  }
  core->options = std::move(options);
  core->set_policy(std::move(*policy));
  EngineCore* raw = core.get();
  core->set_signals(std::make_shared<LiveSignals>(core->ledger.get(), core->breakers.get(), &core->gate,
                                                  [raw] { return raw->now_ms(); }));
  return std::make_unique<EngineImpl>(std::move(core));
}

EngineImpl::EngineImpl(std::shared_ptr<EngineCore> core) : core_(std::move(core)) {}

namespace {

std::atomic<int> g_background_teardowns{0};

// Requests in flight hold the core; let them finish (each is bounded by
// its providers' timeouts), then stop the I/O threads. The io_context
// itself goes last (EngineCore declares it first), after the connection
// pools that have sockets on it.
void tear_down(std::shared_ptr<EngineCore>& core) {
  core->wait_idle();
  // A finished request drops its share of the core just after it counts
  // itself out; wait for those last few instructions so the core is
  // destroyed here, not on an I/O or ledger thread that it would join.
  while (core.use_count() > 1) std::this_thread::yield();
  core->runtime->stop();
  if (core->leases) {
    // The rows first: their commits move their cost out of the leases, so
    // what is given back is only what was not spent.
    if (core->ledger) (void)core->ledger->flush();
    (void)core->leases->release_all();
  }
  core.reset();
}

}  // namespace

int background_teardowns() { return g_background_teardowns.load(); }

EngineImpl::~EngineImpl() {
  if (CallbackScope::inside(core_.get()) || core_->runtime->on_io_thread()) {
    // Destroyed from one of the engine's own threads (inside a DoneFn, say):
    // the request calling us, and the thread itself, can only finish once
    // this returns, so the wait happens on a thread of its own.
    ++g_background_teardowns;
    std::thread([core = std::move(core_)]() mutable {
      tear_down(core);
      --g_background_teardowns;
    }).detach();
    return;
  }
  tear_down(core_);
}

// ---- decisions and requests -------------------------------------------------

Result<Decision> EngineImpl::decide(const Request& request) const {
  Decision d;
  if (auto r = decide_into(request, d); !r.ok()) return r.error();
  return d;
}

Result<void> EngineImpl::decide_into(const Request& request, Decision& out) const {
  auto policy = core_->policy();
  auto signals = core_->signals();
  return engine::decide(policy, *signals, request, out);
}

void EngineImpl::async_complete(Request request, DoneFn done, std::shared_ptr<Cancellation> cancel) {
  start_request(core_, std::move(request), nullptr, std::move(done), cancel);
}

void EngineImpl::async_stream(Request request, DeltaFn on_delta, DoneFn done, std::shared_ptr<Cancellation> cancel) {
  async_stream_with_head(std::move(request), nullptr, std::move(on_delta), std::move(done), cancel);
}

void EngineImpl::async_stream_with_head(Request request, StreamHeadFn on_head, DeltaFn on_delta, DoneFn done,
                                        const std::shared_ptr<Cancellation>& cancel) {
  if (!on_delta) on_delta = [](const nlohmann::json&) {};
  start_request(core_, std::move(request), std::move(on_delta), std::move(done), cancel, std::move(on_head));
}

Result<Response> EngineImpl::wait_for(Request request, DeltaFn on_delta) {
  if (core_->runtime->on_io_thread())
    return Error(ErrorCategory::internal,
                 "complete()/stream() called on a thread that runs the engine's executor, where waiting would "
                 "deadlock; use async_complete() there");
  std::promise<Result<Response>> promise;
  auto future = promise.get_future();
  auto done = [&promise](Result<Response> r) { promise.set_value(std::move(r)); };
  if (on_delta) async_stream(std::move(request), std::move(on_delta), done, nullptr);
  else async_complete(std::move(request), done, nullptr);
  return future.get();
}

Result<Response> EngineImpl::complete(const Request& request) { return wait_for(request, nullptr); }

Result<Response> EngineImpl::stream(const Request& request, DeltaFn on_delta) {
  if (!on_delta) on_delta = [](const nlohmann::json&) {};
  return wait_for(request, std::move(on_delta));
}

Result<void> EngineImpl::reload() {
  std::lock_guard serial(reload_mu_);
  // Everything is loaded and validated on the side; only a complete, valid
  // set is swapped in. The spend gate keeps its counters across the swap.
  auto next = build_policy_set(core_->options);
  if (!next.ok()) return next.error();
  if (auto r = core_->gate.configure((*next)->decls); !r.ok()) return r.error();
  core_->set_policy(std::move(*next));
  return {};
}

// ---- quality, spend, alerts ---------------------------------------------------

Result<void> EngineImpl::record_quality(std::string_view request_id, double score, std::string_view source) {
  if (!core_->ledger)
    return Error(ErrorCategory::config, "record_quality needs a ledger: set Options::ledger_path");
  return core_->ledger->record_quality(request_id, score, source);
}

namespace {
SpendView view_of(const SpendSnapshot& s) {
  return SpendView{s.team, std::string(to_string(s.window)), s.spent, s.reserved, s.cap,
                   s.window_start_ms, s.window_end_ms};
}
}  // namespace

Result<SpendView> EngineImpl::spend(std::string_view team, std::string_view window) const {
  auto w = spend_window_from(window);
  if (!w)
    return Error(ErrorCategory::bad_request, "unknown window '" + std::string(window) +
                                                 "' (use hour, day, month or rolling_24h)");
  auto snap = core_->gate.snapshot(team, *w, core_->now_ms());
  if (!snap) {
    SpendView none;
    none.team = std::string(team);
    none.window = std::string(window);
    return none;  // nothing spent and no cap: zeros
  }
  return view_of(*snap);
}

std::vector<SpendView> EngineImpl::spend_all() const {
  std::vector<SpendView> out;
  for (const auto& s : core_->gate.snapshots(core_->now_ms()))
    if (s.scope == CapScope::team) out.push_back(view_of(s));
  return out;
}

void EngineImpl::on_budget_alert(std::function<void(const BudgetAlert&)> callback) {
  if (!callback) return core_->gate.on_soft_limit(nullptr);
  core_->gate.on_soft_limit([cb = std::move(callback), raw = core_.get()](const SoftLimitEvent& e) {
    BudgetAlert a;
    a.scope = std::string(to_string(e.state.scope));
    a.team = e.state.team;
    a.name = e.state.name;
    a.window = std::string(to_string(e.state.window));
    a.spent = e.state.spent;
    a.cap = e.state.cap.value_or(Money{});
    a.threshold = e.soft_limit;
    CallbackScope scope(raw);
    cb(a);
  });
}

Result<void> EngineImpl::flush() {
  if (!core_->ledger) return {};
  return core_->ledger->flush();
}

}  // namespace engine
}  // namespace tollgate
