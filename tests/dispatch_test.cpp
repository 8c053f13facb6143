// Dispatch against the mock: retries, fallback, context-length escalation,
// fail-fast errors, streams that must not restart, circuit breaking,
// cancellation, and the attempt records each produces.
#include <atomic>

#include "engine/dispatch/dispatch.hpp"
#include "tests/adapters_support.hpp"

using namespace tollgate;
using namespace tollgate::test;
using adapters::MockBehavior;
using adapters::MockFault;

namespace {

struct Records {
  std::mutex mu;
  std::vector<AttemptRecord> all;
  AttemptSink sink() {
    return [this](AttemptRecord r) {
      std::lock_guard lock(mu);
      all.push_back(std::move(r));
    };
  }
  std::vector<AttemptRecord> take() {
    std::lock_guard lock(mu);
    return all;
  }
};

struct Bench {
  IoThreads io;
  std::unique_ptr<adapters::MockServer> mock = start_mock();
  std::shared_ptr<adapters::Provider> provider;
  Records records;
  std::shared_ptr<CircuitBreakers> breakers = std::make_shared<CircuitBreakers>();

  explicit Bench(adapters::ProviderConfig tweak = {}) {
    auto c = mock_config(*mock);
    c.connection.first_byte_timeout = tweak.connection.first_byte_timeout;
    provider = make(io.executor(), c);
  }
  Dispatcher dispatcher(RetryPolicy retry = fast_retry()) {
    DispatchOptions o;
    o.retry = retry;
    o.on_attempt = records.sink();
    o.cost = [](const DispatchTarget&, const adapters::Usage& u) {
      return Money::from_nanos(u.input_tokens * 10 + u.output_tokens * 20);
    };
    return Dispatcher(io.executor(), breakers, o);
  }
  static RetryPolicy fast_retry() {
    RetryPolicy r;
    r.base_backoff = 1ms;
    r.max_backoff = 5ms;
    return r;
  }
  DispatchTarget target(std::string model, int64_t window = 0) {
    return DispatchTarget{provider, model, "up-" + model, window};
  }
  DispatchRequest request(bool stream = false) {
    DispatchRequest r;
    r.body = chat_body("Please answer the question about dispatch.");
    r.stream = stream;
    r.request_id = "req-1";
    r.team = "support";
    r.route = "default";
    return r;
  }
};

}  // namespace

TEST_CASE("dispatch: the first candidate answers, one attempt record with usage and cost") {
  Bench b;
  auto r = b.dispatcher().dispatch(b.request(), {b.target("a"), b.target("b")});
  REQUIRE(r.ok());
  CHECK(r->model == "a");
  CHECK(r->provider == "mock");
  CHECK(r->attempts == 1);
  CHECK(b.mock->calls("up-a") == 1);
  const auto recs = b.records.take();
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].status == AttemptStatus::ok);
  CHECK(recs[0].request_id == "req-1");
  CHECK(recs[0].team == "support");
  CHECK(recs[0].model == "a");
  CHECK(recs[0].input_tokens > 0);
  CHECK(recs[0].output_tokens > 0);
  CHECK(recs[0].cost.nanos == recs[0].input_tokens * 10 + recs[0].output_tokens * 20);
  CHECK(recs[0].attempt == 1);
}

TEST_CASE("dispatch: a 429 is retried on the same candidate, honoring Retry-After") {
  Bench b;
  b.mock->script("up-a", MockBehavior{.fault = MockFault::rate_limit, .fail_times = 1, .retry_after = 0s});
  auto r = b.dispatcher().dispatch(b.request(), {b.target("a"), b.target("b")});
  REQUIRE(r.ok());
  CHECK(r->model == "a");
  CHECK(r->attempts == 2);
  CHECK(b.mock->calls("up-b") == 0);
  const auto recs = b.records.take();
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].status == AttemptStatus::error);
  CHECK(recs[0].error_category == ErrorCategory::provider);
  CHECK(recs[0].error_message.find("HTTP 429") != std::string::npos);
  CHECK(recs[1].status == AttemptStatus::ok);
  CHECK(recs[1].attempt == 2);

  CHECK(*retry_delay(RetryPolicy{}, 2, 3000ms, 0.0) == 3000ms);
  CHECK_FALSE(retry_delay(RetryPolicy{}, 2, 60s, 0.5).has_value());
}

TEST_CASE("dispatch: retryable failures exhaust a candidate, then fall back") {
  Bench b;
  b.mock->script("up-a", MockBehavior{.fault = MockFault::server_error});
  auto r = b.dispatcher().dispatch(b.request(), {b.target("a"), b.target("b")});
  REQUIRE(r.ok());
  CHECK(r->model == "b");
  CHECK(r->target_index == 1);
  CHECK(b.mock->calls("up-a") == 2);  // max_attempts
  const auto recs = b.records.take();
  REQUIRE(recs.size() == 3);
  CHECK(recs[2].attempt == 3);

  // A Retry-After beyond max_retry_after is not waited for.
  Bench c;
  c.mock->script("up-a", MockBehavior{.fault = MockFault::unavailable, .retry_after = 3600s});
  auto r2 = c.dispatcher().dispatch(c.request(), {c.target("a"), c.target("b")});
  REQUIRE(r2.ok());
  CHECK(c.mock->calls("up-a") == 1);
}

TEST_CASE("dispatch: a context-length error moves to a candidate with a larger window") {
  Bench b;
  b.mock->script("up-small", MockBehavior{.context_window = 5});
  auto r = b.dispatcher().dispatch(
      b.request(), {b.target("small", 4000), b.target("same", 4000), b.target("large", 128000)});
  REQUIRE(r.ok());
  CHECK(r->model == "large");
  CHECK(b.mock->calls("up-small") == 1);
  CHECK(b.mock->calls("up-same") == 0);
}

TEST_CASE("dispatch: request and auth errors fail at once with the provider's message") {
  Bench b;
  b.mock->script("up-a", MockBehavior{.fault = MockFault::bad_request});
  auto r = b.dispatcher().dispatch(b.request(), {b.target("a"), b.target("b")});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().category() == ErrorCategory::bad_request);
  CHECK(r.error().message().find("provider 'mock' model 'a' (upstream 'up-a')") != std::string::npos);
  CHECK(r.error().message().find("Invalid value for 'temperature'") != std::string::npos);
  CHECK(b.mock->calls("up-b") == 0);

  b.mock->script("up-c", MockBehavior{.fault = MockFault::unauthorized});
  auto r2 = b.dispatcher().dispatch(b.request(), {b.target("c"), b.target("b")});
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().category() == ErrorCategory::provider);
  CHECK(r2.error().message().find("HTTP 401") != std::string::npos);
  CHECK(b.mock->calls("up-b") == 0);
}

TEST_CASE("dispatch: every candidate failing names each, with the last category") {
  adapters::ProviderConfig quick;
  quick.connection.first_byte_timeout = 200ms;
  Bench b(quick);
  b.mock->script("up-a", MockBehavior{.fault = MockFault::reset});
  b.mock->script("up-b", MockBehavior{.fault = MockFault::hang});
  RetryPolicy once = Bench::fast_retry();
  once.max_attempts = 1;
  auto r = b.dispatcher(once).dispatch(b.request(), {b.target("a"), b.target("b")});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().category() == ErrorCategory::timeout);
  CHECK(r.error().message().find("model 'a'") != std::string::npos);
  CHECK(r.error().message().find("model 'b'") != std::string::npos);
  const auto recs = b.records.take();
  REQUIRE(recs.size() == 2);
  CHECK(recs[1].error_category == ErrorCategory::timeout);
}

TEST_CASE("dispatch: streams fall back only before the first token") {
  Bench b;
  b.mock->script("up-a", MockBehavior{.reply = "alpha beta gamma delta", .fault = MockFault::truncate, .truncate_after = 0});
  b.mock->script("up-b", MockBehavior{.reply = "the whole answer, streamed"});
  Deltas deltas;
  auto req = b.request(true);
  req.on_delta = deltas.fn();
  auto r = b.dispatcher().dispatch(std::move(req), {b.target("a"), b.target("b")});
  REQUIRE(r.ok());
  CHECK(r->model == "b");
  CHECK(deltas.text() == "the whole answer, streamed");
  CHECK(content_of(r->response.body) == "the whole answer, streamed");

  // After tokens went out, the failure is reported, not hidden by a restart.
  b.mock->script("up-c", MockBehavior{.reply = "alpha beta gamma delta", .fault = MockFault::truncate});
  Deltas partial;
  auto req2 = b.request(true);
  req2.on_delta = partial.fn();
  auto r2 = b.dispatcher().dispatch(std::move(req2), {b.target("c"), b.target("b")});
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message().find("not restarting") != std::string::npos);
  CHECK(partial.text() == "alpha beta");
  CHECK(b.mock->calls("up-c") == 1);
  CHECK(b.mock->calls("up-b") == 1);  // only the first stream's fallback
}

TEST_CASE("dispatch: an open circuit skips its model, a probe closes it again") {
  Bench b;
  auto now = std::make_shared<std::atomic<int64_t>>(0);
  CircuitBreakerOptions o;
  o.consecutive_failures = 2;
  o.open_for = 1000ms;
  b.breakers = std::make_shared<CircuitBreakers>(
      o, [now] { return CircuitBreakers::Clock::time_point(std::chrono::milliseconds(now->load())); });
  RetryPolicy once = Bench::fast_retry();
  once.max_attempts = 1;
  auto d = b.dispatcher(once);
  b.mock->script("up-bad", MockBehavior{.fault = MockFault::server_error});

  for (int i = 0; i < 3; ++i) {
    auto r = d.dispatch(b.request(), {b.target("bad"), b.target("good")});
    REQUIRE(r.ok());
    CHECK(r->model == "good");
  }
  CHECK(b.mock->calls("up-bad") == 2);  // the third request skipped it
  CHECK_FALSE(b.breakers->healthy("mock", "bad"));
  CHECK(b.breakers->healthy("mock", "good"));
  CHECK(b.breakers->healthy("mock"));
  CHECK(b.breakers->state("mock", "bad") == CircuitState::open);

  *now += 1000;  // open_for has passed: one probe goes through
  b.mock->script("up-bad", MockBehavior{});
  auto r = d.dispatch(b.request(), {b.target("bad"), b.target("good")});
  REQUIRE(r.ok());
  CHECK(r->model == "bad");
  CHECK(b.breakers->state("mock", "bad") == CircuitState::closed);
}

TEST_CASE("circuit breaker: error rate, a single half-open probe, neutral outcomes") {
  auto now = std::make_shared<int64_t>(0);
  CircuitBreakerOptions o;
  o.consecutive_failures = 100;
  o.window = 10;
  o.min_samples = 10;
  o.error_rate = 0.5;
  o.open_for = 50ms;
  CircuitBreakers cb(o, [now] { return CircuitBreakers::Clock::time_point(std::chrono::milliseconds(*now)); });
  for (int i = 0; i < 10; ++i) {
    REQUIRE(cb.allow("p", "m"));
    cb.record("p", "m", i % 2 == 1 ? CallOutcome::failure : CallOutcome::success);
  }
  CHECK(cb.state("p", "m") == CircuitState::open);
  CHECK_FALSE(cb.allow("p", "m"));
  CHECK_FALSE(cb.healthy("p"));
  *now = 50;
  CHECK(cb.healthy("p", "m"));
  CHECK(cb.allow("p", "m"));        // the probe
  CHECK_FALSE(cb.allow("p", "m"));  // only one
  cb.record("p", "m", CallOutcome::neutral);
  CHECK(cb.allow("p", "m"));        // a neutral probe frees the slot
  cb.record("p", "m", CallOutcome::failure);
  CHECK(cb.state("p", "m") == CircuitState::open);
  CHECK(cb.healthy("other", "m"));
}

TEST_CASE("circuit breaker: models are kept apart by provider and name, however long") {
  CircuitBreakerOptions o;
  o.consecutive_failures = 1;
  CircuitBreakers cb(o);
  // Names past the breaker's on-stack key buffer, and one that is a prefix of another.
  const std::string long_model(300, 'm');
  const std::string longer_model = long_model + "x";
  const std::string long_provider(200, 'p');
  REQUIRE(cb.allow(long_provider, long_model));
  cb.record(long_provider, long_model, CallOutcome::failure);
  CHECK(cb.state(long_provider, long_model) == CircuitState::open);
  CHECK_FALSE(cb.allow(long_provider, long_model));
  CHECK(cb.state(long_provider, longer_model) == CircuitState::closed);
  CHECK(cb.healthy(long_provider, longer_model));
  CHECK_FALSE(cb.healthy(long_provider));  // every model seen for it is open
  REQUIRE(cb.allow(long_provider, longer_model));
  cb.record(long_provider, longer_model, CallOutcome::success);
  CHECK(cb.healthy(long_provider));
  CHECK(cb.state("openai", "gpt-4o-mini") == CircuitState::closed);
}

TEST_CASE("dispatch: cancelling during a backoff ends the request as cancelled") {
  Bench b;
  b.mock->script("up-a", MockBehavior{.fault = MockFault::rate_limit, .retry_after = 8s});
  auto req = b.request();
  req.cancel = std::make_shared<adapters::CancelSignal>();
  auto cancel = req.cancel;
  std::promise<Result<DispatchResult>> promise;
  auto future = promise.get_future();
  b.dispatcher().async_dispatch(std::move(req), {b.target("a")},
                                [&](Result<DispatchResult> r) { promise.set_value(std::move(r)); });
  REQUIRE(eventually([&] { return b.records.take().size() == 1; }));  // the 429 came back
  cancel->cancel();
  REQUIRE(future.wait_for(kDeadline) == std::future_status::ready);
  auto r = future.get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().category() == ErrorCategory::cancelled);
  CHECK(b.mock->calls("up-a") == 1);
}
