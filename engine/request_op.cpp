#include "engine/request_op.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/cache/cache_replay.hpp"
#include "engine/ledger/ledger_row.hpp"
#include "engine/budget/spend_cost.hpp"
#include "engine/stream_options.hpp"

namespace tollgate::engine {
namespace {

// "tg-", 12 hex digits of the engine's clock (Unix ms), then 16 random hex
// digits. Time first so that ids sort by arrival: the ledger's UNIQUE
// (request_id, attempt) index then grows at its right edge like its other
// indexes, and an insert touches the same few hot pages instead of a random
// leaf of an index that outgrows SQLite's page cache (random ids cost a
// large cache and a page write per row). 64 random bits keep ids unique
// across threads, processes and restarts that share one ledger.
std::string new_request_id(int64_t now_ms) {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id())) << 1)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "tg-%012llx%016llx",
                static_cast<unsigned long long>(now_ms) & 0xffffffffffffULL,
                static_cast<unsigned long long>(rng()));
  return buf;
}

// The reason the request's own deadline cancels with; dispatch words the
// step it stopped as "stopped during provider ...".
constexpr const char* kDeadlineReason = "stopped";

std::string tags_json_of(const Request& r) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : r.tags) j[k] = v;
  return j.dump();
}

class RequestOp : public std::enable_shared_from_this<RequestOp> {
 public:
  RequestOp(std::shared_ptr<EngineCore> core, Request req, Engine::DeltaFn on_delta, Engine::DoneFn done,
            const std::shared_ptr<Cancellation>& cancel, StreamHeadFn on_head)
      : core_(std::move(core)),
        req_(std::move(req)),
        on_delta_(std::move(on_delta)),
        done_(std::move(done)),
        on_head_(std::move(on_head)),
        cancel_(cancel_signal_of(cancel)),
        started_(std::chrono::steady_clock::now()) {
    core_->begin_request();
    request_id_ = req_.id.empty() ? new_request_id(core_->now_ms()) : req_.id;
    if (on_delta_) req_.stream = true;
  }
  ~RequestOp() {
    if (caller_cancel_) caller_cancel_->clear(caller_bridge_ticket_);
    core_->end_request();
  }

  void start() {
    policy_ = core_->policy();
    if (cancel_ && cancel_->cancelled()) return fail(Error(ErrorCategory::cancelled, cancel_->reason()));
    if (req_.timeout_ms) {
      if (*req_.timeout_ms <= 0)
        return fail(Error(ErrorCategory::bad_request, "timeout_ms must be a positive number of milliseconds"));
      arm_deadline(*req_.timeout_ms);
    }
    if (auto r = decide(policy_, *core_->signals(), req_, decision_); !r.ok()) {
      if (r.error().category() != ErrorCategory::unavailable) return fail(r.error());
      // Only open circuits stood in the way. Decided again as if they were
      // closed: a team at its cap is still refused (a 429 says more than a
      // wait), the cache may still answer, and dispatch skips the open
      // circuits itself, saying how long until the first lets a call through.
      DecideOptions as_if_healthy;
      as_if_healthy.ignore_health = true;
      if (auto again = decide(policy_, *core_->signals(), req_, decision_, as_if_healthy); !again.ok())
        return fail(r.error());
    }
    if (core_->ledger && policy_->decls.settings.on_ledger_error == "deny") {
      if (auto h = core_->ledger->health(); !h.ok())
        return fail(Error(ErrorCategory::ledger,
                          "the ledger cannot record spend, and on_ledger_error = \"deny\" refuses "
                          "requests until it can: " + h.error().message()));
    }
    if (use_cache()) {
      std::vector<std::string_view> models;
      for (const Candidate& c : decision_.candidates) models.push_back(c.model);
      const bool shared = decision_.cache.scope == CacheScope::shared;
      cache_key_ = core_->keyer->key(shared ? std::string_view() : std::string_view(req_.team), req_.body,
                                     req_.max_tokens.value_or(0), models);
      if (!req_.cache.no_cache) return find_or_join();
    }
    proceed();
  }

 private:
  bool use_cache() const { return core_->cache && decision_.cache.enabled; }

  // A hit costs nothing, so it is looked up before any cap is consulted. An
  // identical request already in flight is waited on; otherwise this request
  // leads the flight and goes upstream.
  void find_or_join() {
    if (CachedPtr hit = core_->cache->find(*cache_key_)) return on_io([hit](RequestOp& op) { op.answer_from_cache(hit); });
    auto joined = core_->flights.join(*cache_key_);
    if (auto* follower = std::get_if<SingleFlight::Follower>(&joined)) return follow(*follower);
    leader_.emplace(std::move(std::get<SingleFlight::Leader>(joined)));
    // Another flight may have finished between find() and join().
    if (CachedPtr hit = core_->cache->find(*cache_key_)) {
      leader_->complete(hit);
      leader_.reset();
      return on_io([hit](RequestOp& op) { op.answer_from_cache(hit); });
    }
    proceed();
  }

  // Waits for the identical request in flight: its answer is ours, and so is
  // its upstream failure. If it stopped for reasons of its own, we join
  // again (and one of those waiting leads). Our own cancellation ends the
  // wait at once; the flight goes on for the others. Whichever comes first
  // settles the wait.
  void follow(const SingleFlight::Follower& follower) {
    auto self = shared_from_this();
    // Only the one who settled the previous wait gets here: no race on it.
    const uint64_t epoch = (wait_state_.load() >> 1) + 1;
    wait_state_.store(epoch << 1);
    if (cancel_) {
      std::weak_ptr<RequestOp> weak = self;  // no cycle through the signal
      follower_cancel_ticket_ = cancel_->set_handler([weak, epoch] {
        if (auto op = weak.lock())
          op->on_io([epoch](RequestOp& o) {
            if (o.settle_wait(epoch))
              o.fail(Error(ErrorCategory::cancelled, o.cancel_->reason() + " while waiting for the identical request in flight"));
          });
      });
    }
    follower.on_complete([self, epoch](const FlightResult& r) {
      std::optional<Error> failed;
      CachedPtr value;
      if (r.ok()) value = *r;
      else failed = r.error();
      self->on_io([value, failed, epoch](RequestOp& op) {
        if (!op.settle_wait(epoch)) return;  // cancelled first
        if (op.cancel_) op.cancel_->clear(op.follower_cancel_ticket_);
        if (value) return op.answer_from_cache(value);
        if (failed)
          return op.fail(Error(failed->category(),
                               "the identical request this one waited on failed upstream: " + failed->message()));
        op.find_or_join();
      });
    });
  }

  // Ends wait `epoch` once: true for whichever of its outcome and the
  // caller's cancellation comes first, false for the other and for anything
  // left over from an earlier wait.
  bool settle_wait(uint64_t epoch) {
    uint64_t open = epoch << 1;
    return wait_state_.compare_exchange_strong(open, open | 1);
  }

  // Whether the leader's failure is the upstream's, which its followers
  // share, rather than its own (its caller, its deadline, its cap, or a
  // stream cut after part of it was delivered to its caller alone).
  bool upstream_failure(const Error& e) const {
    const auto c = e.category();
    return (c == ErrorCategory::provider || c == ErrorCategory::timeout || c == ErrorCategory::bad_request) &&
           !deadline_passed_ && !delivered_;
  }

  // Runs fn on an I/O thread, never inside the call that started the request.
  template <typename F>
  void on_io(F fn) {
    boost::asio::post(core_->runtime->executor(), [self = shared_from_this(), fn = std::move(fn)] { fn(*self); });
  }

  void proceed() {
    if (auto r = build_targets(); !r.ok()) return fail(r.error());
    reserve_then_dispatch(/*may_wait=*/true);
  }

  // With shared caps, a lease too small for the first candidate is topped
  // up once from the store (one round trip, on the lease keeper's thread,
  // the request parked meanwhile); what the store cannot cover is denied or
  // downgraded as the team says.
  void reserve_then_dispatch(bool may_wait) {
    std::vector<LeaseShortfall> shortfall;
    auto r = reserve_first(may_wait && core_->leases ? &shortfall : nullptr);
    if (r.ok()) return dispatch();
    if (!shortfall.empty()) {
      return core_->leases->top_up(std::move(shortfall), [self = shared_from_this()](bool) {
        self->on_io([](RequestOp& op) { op.reserve_then_dispatch(/*may_wait=*/false); });
      });
    }
    deny(r.error());
  }

  // An answer from the cache: cost 0, saved what the upstream call cost; a
  // stream gets the answer replayed as the chunks it would have received.
  void answer_from_cache(const CachedPtr& hit) {
    auto r = hit_response(*hit, request_id_, req_.answer_as_text && !req_.stream);
    if (!r) return proceed();  // an entry we cannot read is a miss
    response_ = std::move(*r);
    response_.cache_hit = true;
    response_.cost = Money{};
    response_.saved = hit->cost;
    response_.route = std::string(decision_.route);
    if (on_delta_) {
      ReplayOptions ro;
      ro.include_usage = wants_stream_usage(req_);
      CallbackScope scope(core_.get());
      if (on_head_) on_head_(StreamHead{request_id_, decision_.route, hit->provider, hit->model, true});
      for (const auto& chunk : replay_chunks(response_.body, ro)) on_delta_(chunk);
    }
    const int64_t now = core_->now_ms();
    LedgerRow row = row_base();
    row.status = AttemptStatus::cache_hit;
    row.provider = hit->provider;
    row.model = hit->model;
    row.saved = hit->cost;  // tokens stay 0: nothing was sent or billed
    row.latency_ms = 0;
    rows_.push_back(std::move(row));
    record_and_answer(now);
  }
  SpendKeys keys_for(std::size_t i) const {
    return SpendKeys{req_.team, req_.user, decision_.route, decision_.candidates[i].provider};
  }

  Result<void> build_targets() {
    targets_.clear();
    std::string skipped;
    for (const Candidate& c : decision_.candidates) {
      const ProviderInfo* info = policy_->catalog.find_provider(c.provider);
      auto provider = info ? core_->providers->get(*info)
                           : Result<std::shared_ptr<adapters::Provider>>(
                                 Error(ErrorCategory::config, "provider '" + std::string(c.provider) + "' is unknown"));
      if (!provider.ok()) {
        skipped += (skipped.empty() ? "" : "; ") + std::string(c.model) + ": " + provider.error().message();
        targets_.push_back(DispatchTarget{nullptr, std::string(c.model), std::string(c.upstream_model), c.context_window});
        continue;
      }
      // The provider's max_retries, clamped: a policy's 10^9 retries is no
      // reason to overflow an int (the request's deadline bounds them anyway).
      const int max_retries = static_cast<int>(std::min<int64_t>(info->max_retries, 100));
      targets_.push_back(DispatchTarget{*provider, std::string(c.model), std::string(c.upstream_model),
                                        c.context_window, max_retries});
    }
    const bool any = std::any_of(targets_.begin(), targets_.end(), [](const DispatchTarget& t) { return t.provider; });
    if (!any) return Error(ErrorCategory::config, "no candidate's provider can be reached: " + skipped);
    reservations_.clear();
    reservations_.resize(targets_.size());
    cost_by_target_.assign(targets_.size(), Money{});
    return {};
  }

  // The first usable candidate must fit the caps now; if not, the team's
  // downgrade route is decided and tried once, still under the caps.
  // `shortfall` (shared caps): a lease that is short names what it lacks
  // there instead of the request being downgraded.
  Result<void> reserve_first(std::vector<LeaseShortfall>* shortfall = nullptr) {
    auto attempt = [&]() -> Result<void> {
      for (std::size_t i = 0; i < targets_.size(); ++i) {
        if (!targets_[i].provider) continue;
        auto r = core_->gate.reserve(keys_for(i), decision_.candidates[i].est_cost, core_->now_ms(), shortfall);
        if (!r.ok()) return r.error();
        reservations_[i] = std::move(*r);
        return {};
      }
      return {};
    };
    auto first = attempt();
    if (first.ok() || (shortfall && !shortfall->empty())) return first;
    const dsl::TeamDecl* team = policy_->find_team(req_.team);
    if (!team || team->on_exceed != "downgrade") return first;
    const CompiledRoute* route = policy_->find_route(team->downgrade_route);
    if (!route || decision_.route == route->decl->name) return first;
    Decision down;
    if (auto r = decide(policy_, *core_->signals(), req_, down, DecideOptions{route}); !r.ok())
      return Error(ErrorCategory::budget, first.error().message() + "; the downgrade route '" +
                                              team->downgrade_route + "' has no usable candidate either");
    decision_ = std::move(down);
    downgraded_ = true;
    if (auto r = build_targets(); !r.ok()) return r;
    auto second = attempt();
    if (!second.ok())
      return Error(ErrorCategory::budget, second.error().message() + " (even on the downgrade route '" +
                                              team->downgrade_route + "')");
    return second;
  }

  LedgerRow row_base() const {
    LedgerRow row;
    row.request_id = request_id_;
    row.team = req_.team;
    row.user = req_.user;
    row.tags_json = tags_json_of(req_);
    auto t = req_.tags.find("task");
    row.task = t != req_.tags.end() ? t->second : policy_->decls.settings.default_task;
    row.route = std::string(decision_.route);
    return row;
  }

  // A budget refusal: recorded (the report shows denials), then answered.
  void deny(Error error) {
    if (core_->ledger && error.category() == ErrorCategory::budget) {
      LedgerRow row = row_base();
      row.time_ms = core_->now_ms();
      row.status = AttemptStatus::denied;
      if (!decision_.candidates.empty()) {
        row.provider = std::string(decision_.candidates[0].provider);
        row.model = std::string(decision_.candidates[0].model);
      }
      row.error_category = "budget";
      row.error_message = error.message();
      core_->ledger->append_async(std::move(row), [](const Result<void>&) {});
    }
    fail(std::move(error));
  }

  void dispatch() {
    DispatchRequest d;
    // Moved, not copied (a deep copy of every node): the decision and the
    // cache key are made, and nothing reads the request's body after this.
    d.body = std::move(req_.body);
    d.stream = req_.stream;
    if (req_.answer_as_text && !req_.stream) d.answer_form = adapters::AnswerForm::text;
    if (on_delta_) {
      d.on_delta = [self = shared_from_this()](const nlohmann::json& chunk) {
        // A failure after this is not one to share.
        const bool first = !self->delivered_.exchange(true);
        CallbackScope scope(self->core_.get());
        if (first && self->on_head_) {
          const DispatchTarget& t = self->targets_[self->answering_];
          self->on_head_(StreamHead{self->request_id_, self->decision_.route, t.provider->name(), t.model, false});
        }
        self->on_delta_(chunk);
      };
      // Set on the dispatch strand before the attempt's provider call, whose
      // chunks read it.
      d.on_start = [self = shared_from_this()](std::size_t i) { self->answering_ = i; };
    }
    d.cancel = cancel_;
    d.deadline = deadline_at_;
    d.request_id = request_id_;
    d.team = req_.team;
    d.user = req_.user;
    d.tags_json = tags_json_of(req_);
    d.route = std::string(decision_.route);
    d.input_tokens = decision_.input_tokens;
    // The provider must stop where the reservation assumed it would.
    if (req_.max_tokens && !d.body.contains("max_tokens") && !d.body.contains("max_completion_tokens"))
      d.body["max_tokens"] = *req_.max_tokens;
    auto self = shared_from_this();
    // Later candidates reserve when dispatch reaches them (a cheap first
    // choice must not be blocked by a dear fallback's worst case).
    d.admit = [self](std::size_t i, const DispatchTarget&) -> Result<void> {
      if (self->reservations_[i].active()) return {};
      auto r = self->core_->gate.reserve(self->keys_for(i), self->decision_.candidates[i].est_cost,
                                         self->core_->now_ms());
      if (!r.ok()) return r.error();
      self->reservations_[i] = std::move(*r);
      return {};
    };
    d.cost = [self](const DispatchTarget& t, const adapters::Usage& u) {
      const ModelInfo* m = self->policy_->catalog.find_model(t.model);
      return m ? usage_cost(*m, u.input_tokens, u.cached_input_tokens, u.output_tokens).cost : Money{};
    };
    d.on_attempt = [self](const AttemptRecord& rec, std::size_t i) {
      self->cost_by_target_[i] += rec.cost;
      LedgerRow row = self->row_base();
      row.attempt = rec.attempt;
      row.provider = rec.provider;
      row.model = rec.model;
      row.status = rec.status;
      row.input_tokens = rec.input_tokens;
      row.cached_input_tokens = rec.cached_input_tokens;
      row.output_tokens = rec.output_tokens;
      row.cost = rec.cost;
      if (rec.status == AttemptStatus::ok) {
        const ModelInfo* m = self->policy_->catalog.find_model(rec.model);
        if (m) row.saved = usage_cost(*m, rec.input_tokens, rec.cached_input_tokens, rec.output_tokens).saved;
      }
      row.latency_ms = rec.latency_ms;
      row.ttft_ms = self->req_.stream ? rec.ttft_ms : -1;
      if (rec.status != AttemptStatus::ok) row.error_category = std::string(to_string(rec.error_category));
      row.error_message = rec.error_message;  // for an answer: a note (its usage was estimated)
      self->rows_.push_back(std::move(row));
    };
    core_->dispatcher->async_dispatch(std::move(d), targets_,
                                      [self](Result<DispatchResult> r) { self->settle(std::move(r)); });
  }

  // Every reservation settles to what its target's attempts cost (zero
  // releases it whole); then the rows go to the ledger, and the answer
  // waits for them in sync mode.
  void settle(Result<DispatchResult> result) {
    const int64_t now = core_->now_ms();
    Money total;
    for (std::size_t i = 0; i < reservations_.size(); ++i) {
      total += cost_by_target_[i];
      if (reservations_[i].active()) reservations_[i].settle(cost_by_target_[i], now);
    }
    if (result.ok()) {
      Response& out = response_;
      const DispatchResult& r = *result;
      out.request_id = request_id_;
      out.body = std::move(result->response.body);
      out.body_text = std::move(result->response.body_text);
      out.route = std::string(decision_.route);
      out.provider = r.provider;
      out.model = r.model;
      out.finish_reason = r.response.finish_reason;
      out.usage = Usage{r.response.usage.input_tokens, r.response.usage.cached_input_tokens,
                        r.response.usage.output_tokens};
      out.cost = total;
      if (const ModelInfo* m = policy_->catalog.find_model(r.model))
        out.saved = usage_cost(*m, out.usage.input_tokens, out.usage.cached_input_tokens, out.usage.output_tokens).saved;
      out.attempts = r.attempts;
      out.ttft_ms = req_.stream ? r.response.time_to_first_token.count() : -1;
      out.downgraded = downgraded_;
      store_in_cache();
    } else {
      error_ = result.error();
    }
    // Waiting duplicates get the answer now, share the upstream's failure,
    // or (this request's failure was its own) join again.
    if (leader_) {
      if (cached_) leader_->complete(cached_);
      else if (error_ && upstream_failure(*error_)) leader_->fail(*error_);
      else leader_->abandon();
      leader_.reset();
    }
    record_and_answer(now);
  }

  void store_in_cache() {
    if (!cache_key_) return;
    // Waiting duplicates get this answer whether or not it is kept: no_store
    // means "do not keep", and a downgraded answer (other models than the
    // key names) is right for them but not for later requests.
    if (req_.cache.no_store || downgraded_) {
      cached_ = std::make_shared<const CachedResponse>(to_cached(response_));
      return;
    }
    const int64_t ttl = req_.cache.ttl_ms.value_or(decision_.cache.ttl_ms);
    cached_ = core_->cache->insert(*cache_key_, to_cached(response_), ttl);
    if (!cached_) cached_ = std::make_shared<const CachedResponse>(to_cached(response_));  // too big to keep
    else if (core_->cache_store) core_->cache_store->put(*cache_key_, cached_);
  }

  // Rows go to the ledger; in sync mode the answer waits for their commit.
  void record_and_answer(int64_t now) {
    if (!core_->ledger || rows_.empty()) return answer();
    for (LedgerRow& row : rows_) row.time_ms = now;  // charged to the window it settled in
    const bool wait = core_->options.durability == Durability::sync;
    const std::size_t last = rows_.size() - 1;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      if (i != last || !wait) {
        core_->ledger->append_async(std::move(rows_[i]), [](const Result<void>&) {});
        continue;
      }
      auto self = shared_from_this();
      core_->ledger->append_async(std::move(rows_[i]), [self](Result<void> committed) {
        // On the ledger's writer thread: hand the answer to an I/O thread.
        boost::asio::post(self->core_->runtime->executor(), [self, committed = std::move(committed)] {
          if (!committed.ok() && self->policy_->decls.settings.on_ledger_error == "deny" && !self->error_) {
            self->error_ = Error(ErrorCategory::ledger,
                                 "the answer arrived but its cost could not be recorded (on_ledger_error = "
                                 "\"deny\"): " + committed.error().message());
          }
          self->answer();
        });
      });
    }
    if (!wait) answer();
  }

  // The request's own deadline cancels through a signal of its own, so the
  // caller's Cancellation is never marked by it; the caller's signal is
  // bridged into this one. Every step that honours cancellation (an attempt,
  // a backoff, a single-flight wait) then ends, and answer() reports it as
  // a timeout.
  void arm_deadline(int64_t ms) {
    auto own = std::make_shared<adapters::CancelSignal>();
    if (cancel_) {
      caller_cancel_ = cancel_;
      // The caller's reason carries over ("the client closed the connection").
      std::weak_ptr<adapters::CancelSignal> caller = caller_cancel_;
      caller_bridge_ticket_ = caller_cancel_->set_handler([own, caller] {
        if (auto c = caller.lock()) own->cancel(c->reason());
        else own->cancel();  // CancelSignal's own default reason
      });
    }
    cancel_ = own;
    deadline_.emplace(core_->runtime->executor());
    deadline_->expires_after(std::chrono::milliseconds(ms));
    deadline_at_ = deadline_->expiry();
    std::weak_ptr<RequestOp> weak = shared_from_this();  // the timer must not keep the request alive
    deadline_->async_wait([weak, own](boost::system::error_code ec) {
      if (ec) return;  // the request ended first and destroyed the timer
      if (auto op = weak.lock()) op->deadline_passed_ = true;
      own->cancel(kDeadlineReason);
    });
  }

  void answer() {
    response_.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - started_).count();
    // The deadline, not the caller, stopped it (whichever cancelled first
    // gave the signal its reason): a timeout.
    if (error_ && error_->category() == ErrorCategory::cancelled && deadline_passed_ &&
        cancel_->reason() == kDeadlineReason) {
      error_ = Error(ErrorCategory::timeout, "the request did not finish within its timeout_ms of " +
                                                 std::to_string(*req_.timeout_ms) + " ms: " + error_->message());
    }
    auto done = std::move(done_);
    CallbackScope scope(core_.get());
    if (error_) done(std::move(*error_));
    else done(std::move(response_));
  }

  // Errors before dispatch are delivered on an I/O thread too: never inside
  // the call that started the request.
  void fail(Error error) {
    if (leader_) {  // refused before going upstream: those waiting join again
      leader_->abandon();
      leader_.reset();
    }
    error_ = std::move(error);
    boost::asio::post(core_->runtime->executor(), [self = shared_from_this()] { self->answer(); });
  }

  std::shared_ptr<EngineCore> core_;
  Request req_;
  Engine::DeltaFn on_delta_;
  Engine::DoneFn done_;
  StreamHeadFn on_head_;  // may be null
  std::shared_ptr<adapters::CancelSignal> cancel_;  // the request's own signal when it has a deadline
  std::shared_ptr<adapters::CancelSignal> caller_cancel_;  // then: the caller's, bridged into cancel_
  uint64_t caller_bridge_ticket_ = 0;
  std::optional<boost::asio::steady_timer> deadline_;
  std::optional<std::chrono::steady_clock::time_point> deadline_at_;
  std::atomic<bool> deadline_passed_{false};
  std::chrono::steady_clock::time_point started_;
  std::string request_id_;
  std::shared_ptr<const PolicySet> policy_;
  Decision decision_;
  bool downgraded_ = false;
  std::vector<DispatchTarget> targets_;
  std::vector<Reservation> reservations_;  // by target; inactive until admitted
  std::vector<Money> cost_by_target_;
  std::vector<LedgerRow> rows_;
  std::optional<CacheKey> cache_key_;
  std::optional<SingleFlight::Leader> leader_;
  // A follower's wait ends once: by the flight's outcome or by cancellation.
  // (epoch << 1) | settled; each wait (a request may wait again after a
  // flight is abandoned) has its own epoch, see settle_wait().
  std::atomic<uint64_t> wait_state_{0};
  std::atomic<bool> delivered_{false};  // a delta reached this request's caller
  std::size_t answering_ = 0;  // the target of the attempt under way
  uint64_t follower_cancel_ticket_ = 0;
  CachedPtr cached_;
  Response response_;
  std::optional<Error> error_;
};

}  // namespace

void start_request(std::shared_ptr<EngineCore> core, Request request, Engine::DeltaFn on_delta,
                   Engine::DoneFn done, const std::shared_ptr<Cancellation>& cancel, StreamHeadFn on_head) {
  std::make_shared<RequestOp>(std::move(core), std::move(request), std::move(on_delta), std::move(done), cancel,
                              std::move(on_head))
      ->start();
}

}  // namespace tollgate::engine
