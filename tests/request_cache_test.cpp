// The response cache in the request path: one upstream call for identical
// requests, team isolation, streamed hits replayed, errors never cached,
// hits in the ledger at cost 0 with what they saved.
#include <future>
#include <thread>

#include <boost/asio/use_future.hpp>

#include <sstream>

#include "engine/ledger/report.hpp"
#include "request_support.hpp"
#include "tollgate/async.hpp"

using namespace tollgate;
using namespace tollgate::testing;
using adapters::MockFault;

namespace {

const char* kPolicy = R"(
team "a" { monthly_usd = 100 }
team "b" { monthly_usd = 100 }
route "faq" { when = { task = "faq" }, try = { "gpt-4o-mini" }, cache = { ttl = "1h" } }
route "shared" { when = { task = "public" }, try = { "gpt-4o-mini" }, cache = { ttl = "1h", scope = "shared" } }
route "default" { try = { "deepseek-v4-flash" } }
)";

Request faq(const std::string& team, const std::string& text = "What are your opening hours?") {
  Request r = chat(team, text, {{"task", "faq"}});
  r.max_tokens = 50;
  return r;
}

}  // namespace

TEST_CASE("a repeat is a cache hit: cost 0, saved recorded, no upstream call", "[request][cache]") {
  MockedEngine m(kPolicy);
  auto first = m.api().complete(faq("a"));
  REQUIRE(first.ok());
  CHECK_FALSE(first->cache_hit);
  auto again = m.api().complete(faq("a"));
  REQUIRE(again.ok());
  CHECK(again->cache_hit);
  CHECK(again->cost.nanos == 0);
  CHECK(again->saved == first->cost);
  CHECK(again->body["choices"][0]["message"]["content"] == first->body["choices"][0]["message"]["content"]);
  // The provider's bytes, kept from the miss through the cache to the hit.
  REQUIRE_FALSE(first->body_text.empty());
  CHECK(nlohmann::json::parse(first->body_text) == first->body);
  CHECK(again->body_text == first->body_text);
  CHECK(m.mock->calls("gpt-4o-mini") == 1);
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE status = 'cache_hit' AND cost_nanos = 0 AND saved_nanos = " +
                     std::to_string(first->cost.nanos)) == 1);
  // Spend counts only the real call.
  CHECK(m.api().spend("a", "month")->spent == first->cost);
  // The report shows the hit rate and the saving per route and team.
  std::ostringstream out, err;
  REQUIRE(m.api().flush().ok());
  engine::ReportOptions by_route_and_team;
  by_route_and_team.ledger_path = m.ledger_path;
  by_route_and_team.group_by = {"route", "team"};
  by_route_and_team.format = engine::ReportFormat::json;
  REQUIRE(engine::run_report(by_route_and_team, "1d", out, err) == 0);
  const auto report = nlohmann::json::parse(out.str());
  CHECK(report["rows"][0]["route"] == "faq");
  CHECK(report["rows"][0]["cache_hits"] == 1);
  CHECK(report["rows"][0]["hit_rate"] == 0.5);
  CHECK(report["rows"][0]["cache_saved_usd"].get<double>() > 0);
  // Asked for as text, the hit is the same bytes with no tree.
  Request as_text = faq("a");
  as_text.answer_as_text = true;
  auto text_hit = m.api().complete(as_text);
  REQUIRE(text_hit.ok());
  CHECK(text_hit->cache_hit);
  CHECK(text_hit->body.is_null());
  CHECK(text_hit->body_text == first->body_text);
  CHECK(text_hit->usage.output_tokens == first->usage.output_tokens);
  // Key order and whitespace do not matter; the text does.
  Request reordered = faq("a");
  reordered.body = nlohmann::json::parse(R"({ "messages" : [ {"content": "What are your opening hours?",
      "role": "user"} ] })");
  CHECK(m.api().complete(reordered)->cache_hit);
  CHECK_FALSE(m.api().complete(faq("a", "Where are you based?"))->cache_hit);
}

TEST_CASE("one team never receives another's cached answer, shared routes share", "[request][cache]") {
  MockedEngine m(kPolicy);
  REQUIRE(m.api().complete(faq("a")).ok());
  auto other = m.api().complete(faq("b"));
  REQUIRE(other.ok());
  CHECK_FALSE(other->cache_hit);
  CHECK(m.mock->calls("gpt-4o-mini") == 2);
  Request pub_a = chat("a", "public question", {{"task", "public"}});
  Request pub_b = chat("b", "public question", {{"task", "public"}});
  REQUIRE(m.api().complete(pub_a).ok());
  CHECK(m.api().complete(pub_b)->cache_hit);
}

TEST_CASE("100 identical concurrent requests make exactly 1 upstream call", "[request][cache][concurrency]") {
  MockedEngine m(kPolicy);
  adapters::MockBehavior slow;
  slow.reply = "We are open nine to five.";
  slow.latency = std::chrono::milliseconds(200);  // the leader is still in flight when the rest arrive
  m.mock->script("gpt-4o-mini", slow);
  std::vector<std::future<Result<Response>>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(async_complete(m.api(), faq("a"), boost::asio::use_future));
  int ok = 0, hits = 0;
  for (auto& f : futures) {
    auto r = f.get();
    if (r.ok()) ++ok, hits += r->cache_hit;
  }
  CHECK(ok == 100);
  CHECK(hits == 99);
  CHECK(m.mock->calls("gpt-4o-mini") == 1);
}

TEST_CASE("a duplicate waiting on an identical request in flight stops at its own cancel", "[request][cache][concurrency]") {
  MockedEngine m(kPolicy);
  adapters::MockBehavior stuck;
  stuck.fault = MockFault::hang;  // the leader's call stays in flight until it is cancelled
  m.mock->script("gpt-4o-mini", stuck);
  auto call = [&](const std::shared_ptr<Cancellation>& cancel) {
    auto done = std::make_shared<std::promise<Result<Response>>>();
    m.api().async_complete(faq("a"), [done](Result<Response> r) { done->set_value(std::move(r)); }, cancel);
    return done->get_future();
  };
  auto leader_cancel = Cancellation::make();
  struct CancelOnExit {  // a failed REQUIRE must not leave the engine waiting on a hung call
    std::shared_ptr<Cancellation> c;
    ~CancelOnExit() { c->cancel(); }
  } cancel_on_exit{leader_cancel};
  auto leader = call(leader_cancel);
  REQUIRE(eventually([&] { return m.mock->calls("gpt-4o-mini") == 1; }));  // the flight is up

  auto follower_cancel = Cancellation::make();
  auto follower = call(follower_cancel);
  follower_cancel->cancel();
  REQUIRE(follower.wait_for(std::chrono::minutes(1)) == std::future_status::ready);
  auto res = follower.get();
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().category() == ErrorCategory::cancelled);
  CHECK(res.error().message() == "cancelled by the caller while waiting for the identical request in flight");
  CHECK(m.mock->calls("gpt-4o-mini") == 1);  // it made no call of its own
  CHECK(leader.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);  // the flight goes on

  leader_cancel->cancel();
  REQUIRE(leader.wait_for(std::chrono::minutes(1)) == std::future_status::ready);
  CHECK(leader.get().error().category() == ErrorCategory::cancelled);
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
}

TEST_CASE("a duplicate waiting on an identical request in flight stops at its own deadline", "[request][cache][concurrency]") {
  MockedEngine m(kPolicy);
  adapters::MockBehavior stuck;
  stuck.fault = MockFault::hang;
  m.mock->script("gpt-4o-mini", stuck);
  auto leader_cancel = Cancellation::make();
  struct CancelOnExit {
    std::shared_ptr<Cancellation> c;
    ~CancelOnExit() { c->cancel(); }
  } cancel_on_exit{leader_cancel};
  std::promise<Result<Response>> leader_done;
  m.api().async_complete(faq("a"), [&](Result<Response> r) { leader_done.set_value(std::move(r)); }, leader_cancel);
  REQUIRE(eventually([&] { return m.mock->calls("gpt-4o-mini") == 1; }));  // the flight is up

  Request follower = faq("a");
  follower.timeout_ms = 100;
  auto res = m.api().complete(follower);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().category() == ErrorCategory::timeout);
  CHECK(res.error().message() == "the request did not finish within its timeout_ms of 100 ms: stopped while "
                                 "waiting for the identical request in flight");
  CHECK(m.mock->calls("gpt-4o-mini") == 1);  // it made no call of its own
  auto leader = leader_done.get_future();
  CHECK(leader.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);  // the flight goes on

  leader_cancel->cancel();
  REQUIRE(leader.wait_for(std::chrono::minutes(1)) == std::future_status::ready);
  CHECK(leader.get().error().category() == ErrorCategory::cancelled);
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
}

TEST_CASE("duplicates waiting on a request whose upstream fails share its failure instead of each calling", "[request][cache][concurrency]") {
  MockedEngine m(kPolicy);
  // One request alone, to count what a failing flight costs the provider.
  adapters::MockBehavior down = fault(MockFault::unavailable);
  down.latency = std::chrono::milliseconds(200);  // the rest arrive while the first is in flight
  m.mock->script("gpt-4o-mini", down);
  REQUIRE_FALSE(m.api().complete(faq("a", "alone")).ok());
  const int64_t per_request = m.mock->calls("gpt-4o-mini");
  REQUIRE(per_request >= 1);

  std::vector<std::future<Result<Response>>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(async_complete(m.api(), faq("a"), boost::asio::use_future));
  int shared = 0;
  for (auto& f : futures) {
    auto r = f.get();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().category() == ErrorCategory::provider);
    shared += r.error().message().starts_with("the identical request this one waited on failed upstream: ");
  }
  // Only the requests that led a flight called upstream: normally one (a
  // request that arrived after a flight ended leads its own; an open circuit
  // makes a leader's calls fewer, never more).
  CHECK(shared >= 1);
  CHECK(m.mock->calls("gpt-4o-mini") - per_request <= (20 - shared) * per_request);
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
}

TEST_CASE("when the request leading a flight is cancelled, a duplicate waiting on it leads a new call", "[request][cache][concurrency]") {
  MockedEngine m(kPolicy);
  // The first call hangs until cancelled; the next answers.
  m.mock->script("gpt-4o-mini", fault(MockFault::hang, 1));
  auto leader_cancel = Cancellation::make();
  std::promise<Result<Response>> leader_done;
  m.api().async_complete(faq("a"), [&](Result<Response> r) { leader_done.set_value(std::move(r)); }, leader_cancel);
  REQUIRE(eventually([&] { return m.mock->calls("gpt-4o-mini") == 1; }));  // the flight is up

  std::promise<Result<Response>> follower_done;
  m.api().async_complete(faq("a"), [&](Result<Response> r) { follower_done.set_value(std::move(r)); });
  REQUIRE(eventually([&] { return m.engine->core().flights.waiting() == 1; }));  // the duplicate waits on it
  leader_cancel->cancel();
  CHECK(leader_done.get_future().get().error().category() == ErrorCategory::cancelled);
  auto follower = follower_done.get_future().get();
  REQUIRE(follower.ok());  // its caller did not cancel: it made its own call
  CHECK_FALSE(follower->cache_hit);
  CHECK(m.mock->calls("gpt-4o-mini") == 2);
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
}

TEST_CASE("a stream cut after part of it reached its caller is not a failure to share: the duplicate calls again", "[request][cache][concurrency]") {
  MockedEngine m(kPolicy);
  // The first call streams two deltas, then the connection is cut; the
  // next answers whole. The delay keeps the flight up while the duplicate joins.
  adapters::MockBehavior cut = fault(MockFault::truncate, 1);
  cut.truncate_after = 2;
  cut.latency = std::chrono::milliseconds(1000);
  m.mock->script("gpt-4o-mini", cut);
  auto streamed = [&](std::promise<Result<Response>>& done, std::atomic<int>& deltas) {
    m.api().async_stream(faq("a"), [&](const nlohmann::json&) { ++deltas; },
                         [&](Result<Response> r) { done.set_value(std::move(r)); });
  };
  std::promise<Result<Response>> first_done, second_done;
  std::atomic<int> first_deltas{0}, second_deltas{0};
  streamed(first_done, first_deltas);
  REQUIRE(eventually([&] { return m.mock->calls("gpt-4o-mini") == 1; }));
  streamed(second_done, second_deltas);
  REQUIRE(eventually([&] { return m.engine->core().flights.waiting() == 1; }));
  auto first = first_done.get_future().get();
  REQUIRE_FALSE(first.ok());
  CHECK(first_deltas >= 1);
  auto second = second_done.get_future().get();
  REQUIRE(second.ok());
  CHECK_FALSE(second->cache_hit);
  CHECK(second_deltas >= 1);
  CHECK(m.mock->calls("gpt-4o-mini") == 2);
}

TEST_CASE("errors are never cached", "[request][cache]") {
  MockedEngine m(kPolicy);
  m.mock->script("gpt-4o-mini", fault(MockFault::bad_request));
  CHECK_FALSE(m.api().complete(faq("a")).ok());
  adapters::MockBehavior fine;
  fine.reply = "open now";
  m.mock->script("gpt-4o-mini", fine);
  auto r = m.api().complete(faq("a"));
  REQUIRE(r.ok());
  CHECK_FALSE(r->cache_hit);
}

TEST_CASE("a streamed hit is replayed as deltas, no-cache and no-store are honoured", "[request][cache]") {
  MockedEngine m(kPolicy);
  auto first = m.api().complete(faq("a"));
  REQUIRE(first.ok());
  std::string assembled;
  auto streamed = m.api().stream(faq("a"), [&](const nlohmann::json& chunk) {
    if (!chunk["choices"].empty() && chunk["choices"][0]["delta"].contains("content"))
      assembled += chunk["choices"][0]["delta"]["content"].get<std::string>();
  });
  REQUIRE(streamed.ok());
  CHECK(streamed->cache_hit);
  CHECK(assembled == first->body["choices"][0]["message"]["content"].get<std::string>());

  Request fresh = faq("a");
  fresh.cache.no_cache = true;
  CHECK_FALSE(m.api().complete(fresh)->cache_hit);
  CHECK(m.mock->calls("gpt-4o-mini") == 2);

  Request unstored = faq("a", "a question nobody should keep");
  unstored.cache.no_store = true;
  REQUIRE(m.api().complete(unstored).ok());
  CHECK_FALSE(m.api().complete(faq("a", "a question nobody should keep"))->cache_hit);
}

TEST_CASE("a persisted cache answers after a restart", "[request][cache]") {
  Options opts;
  opts.cache_persist = true;
  MockedEngine m(kPolicy, opts);
  REQUIRE(m.api().complete(faq("a")).ok());
  Options again = opts;
  again.policy_paths = {m.dir.file("policy.lua")};
  again.ledger_path = m.ledger_path;
  again.base_url_overrides["*"] = m.mock->base_url();
  m.restart(again);
  auto r = m.api().complete(faq("a"));
  REQUIRE(r.ok());
  CHECK(r->cache_hit);
  CHECK(m.mock->calls("gpt-4o-mini") == 1);
}
