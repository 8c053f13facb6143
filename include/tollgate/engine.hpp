// tollgate — the Engine: one per service, shared by all its threads.
//
//   auto engine = tollgate::Engine::create(options).value();
//   tollgate::Request req;
//   req.team = "support";
//   req.tags = {{"task", "classify"}};
//   req.body["messages"] = {{{"role", "user"}, {"content", "Is this spam?"}}};
//   auto decision = engine->decide(req);      // where it would go, and why
//   auto response = engine->complete(req);    // send it: budget, cache, fallback, ledger
//
// Thread-safety: every method may be called from any thread at once.
// reload() swaps the policy set atomically; calls in flight finish on the
// set they started with. Asio completion tokens: see tollgate/async.hpp.
//
// Threads:
// - Lua (a policy's `when` and `select` functions) runs on the thread that
//   decides the request: the caller's for decide(), an engine I/O thread (or
//   the executor the engine was given) for complete(), stream() and the
//   async forms. Each thread has its own Lua state; none is shared.
// - Callbacks (DoneFn, DeltaFn, the budget alert) run on engine threads.
// - The blocking calls, complete() and stream(), must not run on a thread
//   that runs the engine's executor: they would wait on themselves. That is
//   detected, and refused with an `internal` error, for the engine's own
//   threads and for an io_context (or a strand on one) the embedder lent;
//   another kind of executor is the embedder's to keep them off.
//
// Destruction: whoever owns the Engine may destroy it from any thread, once,
// when no other thread is calling it. From an ordinary thread the destructor
// waits for the requests in flight (each bounded by its timeouts), then
// stops the I/O threads and closes the ledger. From one of the engine's own
// threads, a callback included, it returns at once and that teardown runs on
// a thread of its own after the callback returns; keep an executor the
// engine was given running until then.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/error.hpp"
#include "tollgate/options.hpp"
#include "tollgate/request.hpp"
#include "tollgate/result.hpp"

namespace tollgate {

// Cancels a request in flight: the upstream request ends, its connection is
// freed, its budget reservation released, and the caller gets a `cancelled`
// error. Safe from any thread, at any time, more than once.
//
// Made only through make(), and final: the engine reacts to cancel() the
// moment it is called, which it can only promise for its own type.
class Cancellation final {
 public:
  static std::shared_ptr<Cancellation> make();
  ~Cancellation();
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  void cancel();  // the error reads "cancelled by the caller during ..."
  // The same, in words of your own ("the client closed the connection"),
  // which the request's error then starts with. The first cancel counts.
  void cancel(std::string reason);
  bool cancelled() const;

 private:
  struct Signal;
  friend struct CancellationAccess;  // the engine's way to the signal
  Cancellation();
  std::shared_ptr<Signal> signal_;
};

class Engine {
 public:
  // Loads the catalog and every policy, validating them completely, and
  // opens the ledger. A broken policy is an Error of category `policy`
  // whose message begins "file:line:"; a broken catalog or option, `config`;
  // a ledger that cannot be opened, `ledger`.
  static Result<std::unique_ptr<Engine>> create(Options options);

  virtual ~Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Which route and candidates the policy picks for this request, and why.
  // No network, no spend: safe to call for "what would happen" questions.
  virtual Result<Decision> decide(const Request& request) const = 0;

  // As decide(), filling `out` in place so a caller that reuses one Decision
  // pays no allocation on declarative routes.
  virtual Result<void> decide_into(const Request& request, Decision& out) const = 0;

  // Sends the request: decide, reserve its worst case against every cap
  // (deny or downgrade as the team says), answer from the cache or try the
  // candidates in order (retries, fallback, circuit breakers), settle the
  // real cost, write the ledger. Blocks the calling thread; never call it
  // from a thread that runs the engine's executor.
  virtual Result<Response> complete(const Request& request) = 0;

  // Receives each chunk of a streamed answer: an OpenAI
  // "chat.completion.chunk" object, whatever the provider. Runs on an engine
  // I/O thread; keep it short and do not block.
  using DeltaFn = std::function<void(const nlohmann::json& chunk)>;
  // As complete(), streaming. A stream that has delivered deltas is never
  // restarted on another model: it fails with a clear error instead.
  virtual Result<Response> stream(const Request& request, DeltaFn on_delta) = 0;

  // Non-blocking forms. `done` runs exactly once, on an engine I/O thread
  // (or the executor the engine was given), never inside the call.
  using DoneFn = std::function<void(Result<Response>)>;
  virtual void async_complete(Request request, DoneFn done,
                              std::shared_ptr<Cancellation> cancel = nullptr) = 0;
  virtual void async_stream(Request request, DeltaFn on_delta, DoneFn done,
                            std::shared_ptr<Cancellation> cancel = nullptr) = 0;

  // Re-reads the policy paths (and catalog) and swaps them in atomically. On
  // any error the running policy set stays and the error is returned.
  virtual Result<void> reload() = 0;

  // Scores an answer (score in [0, 1], e.g. from an evaluator or a user's
  // thumbs-up) against its model, route and task. `min_quality` routes use
  // the mean once 20 scores exist. Needs a ledger.
  virtual Result<void> record_quality(std::string_view request_id, double score,
                                      std::string_view source = "") = 0;

  // A team's spend in a window: "hour", "day", "month" or "rolling_24h".
  virtual Result<SpendView> spend(std::string_view team, std::string_view window) const = 0;
  // Every team's spend in every capped or used window.
  virtual std::vector<SpendView> spend_all() const = 0;

  // Called once per scope and window when spend crosses a soft limit
  // (team `soft_limit`, default 80 %). Runs on the thread that settled the
  // request; keep it short. Replaces any earlier subscriber.
  virtual void on_budget_alert(std::function<void(const BudgetAlert&)> callback) = 0;

  // Waits until every ledger row written so far is committed.
  virtual Result<void> flush() = 0;

 protected:
  Engine() = default;
};

}  // namespace tollgate
