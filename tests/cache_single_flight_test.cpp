// Single-flight on its own and together with the cache: identical requests
// make one upstream call; errors reach the waiters but are never kept.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/cache/response_cache.hpp"
#include "engine/cache/single_flight.hpp"

using namespace tollgate;
using namespace tollgate::engine;
using std::chrono::steady_clock;

namespace {

constexpr auto kGenerous = std::chrono::seconds(60);
const CacheKey kKey{0x1234, 0x5678};

CachedPtr value(std::string body) {
  auto v = std::make_shared<CachedResponse>();
  v->body = std::move(body);
  v->cost = Money::from_nanos(900);
  return v;
}

// A one-shot gate threads wait on (no sleeping).
class Gate {
 public:
  void open() {
    {
      std::lock_guard l(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, kGenerous, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A flight with its leader and one follower.
struct Flight {
  SingleFlight::Leader leader;
  SingleFlight::Follower follower;
};
Flight lead_and_follow(SingleFlight& sf) {
  auto leader = sf.join(kKey);
  auto follower = sf.join(kKey);
  return {std::get<SingleFlight::Leader>(std::move(leader)),
          std::get<SingleFlight::Follower>(std::move(follower))};
}

// The engine's intended path: cache, then single-flight, then (as leader)
// the cache once more, then upstream; insert before completing.
template <typename Upstream>
FlightResult fetch(ResponseCache& cache, SingleFlight& sf, const CacheKey& key, Upstream upstream) {
  if (auto hit = cache.find(key)) return hit;
  auto joined = sf.join(key);
  if (auto* follower = std::get_if<SingleFlight::Follower>(&joined)) {
    return follower->wait_until(steady_clock::now() + kGenerous);
  }
  auto& leader = std::get<SingleFlight::Leader>(joined);
  // A flight that completed between find() and join() left its answer here.
  if (auto hit = cache.find(key)) {
    leader.complete(hit);
    return hit;
  }
  Result<CachedResponse> answer = upstream();
  if (!answer.ok()) {
    leader.fail(answer.error());
    return answer.error();
  }
  CachedPtr stored = cache.insert(key, std::move(*answer), 60'000);
  leader.complete(stored);
  return stored;
}

}  // namespace

TEST_CASE("the first joiner leads, later ones follow and receive its answer") {
  SingleFlight sf;
  auto a = sf.join(kKey);
  auto b = sf.join(kKey);
  auto other = sf.join(CacheKey{1, 2});
  REQUIRE(std::holds_alternative<SingleFlight::Leader>(a));
  REQUIRE(std::holds_alternative<SingleFlight::Follower>(b));
  REQUIRE(std::holds_alternative<SingleFlight::Leader>(other));
  CHECK(sf.in_flight() == 2);

  std::get<SingleFlight::Leader>(a).complete(value("four"));
  CHECK(sf.in_flight() == 1);
  auto got = std::get<SingleFlight::Follower>(b).wait_until(steady_clock::now() + kGenerous);
  REQUIRE(got.ok());
  CHECK((*got)->body == "four");
  // Nothing is remembered: the next join leads a new flight.
  CHECK(std::holds_alternative<SingleFlight::Leader>(sf.join(kKey)));
}

TEST_CASE("an error reaches the followers waiting, and the next request tries again") {
  SingleFlight sf;
  auto [leader, follower] = lead_and_follow(sf);
  leader.fail(Error(ErrorCategory::provider, "upstream 500"));
  auto got = follower.wait_until(steady_clock::now() + kGenerous);
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().category() == ErrorCategory::provider);
  CHECK(got.error().message() == "upstream 500");
  CHECK(sf.in_flight() == 0);
  CHECK(std::holds_alternative<SingleFlight::Leader>(sf.join(kKey)));
}

TEST_CASE("a follower whose deadline passes gets a timeout, the flight goes on") {
  SingleFlight sf;
  auto [leader, follower] = lead_and_follow(sf);
  auto got = follower.wait_until(steady_clock::now());  // already passed
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().category() == ErrorCategory::timeout);
  leader.complete(value("late"));
  auto again = follower.wait_until(steady_clock::now() + kGenerous);
  REQUIRE(again.ok());
  CHECK((*again)->body == "late");
}

TEST_CASE("a leader dropped without ending its flight abandons it: followers are told to join again") {
  SingleFlight sf;
  auto flight = std::make_optional(lead_and_follow(sf));
  const SingleFlight::Follower follower = flight->follower;
  std::optional<FlightResult> async_got;
  follower.on_complete([&](const FlightResult& r) { async_got = r; });
  flight.reset();  // the leader goes without an answer
  auto got = follower.wait_until(steady_clock::now() + kGenerous);
  REQUIRE(got.ok());
  CHECK(*got == nullptr);  // no answer, no error: join again
  REQUIRE(async_got.has_value());
  REQUIRE(async_got->ok());
  CHECK(**async_got == nullptr);
  CHECK(sf.in_flight() == 0);
  // Joining again, the first follower leads a new flight.
  CHECK(std::holds_alternative<SingleFlight::Leader>(sf.join(kKey)));
}

TEST_CASE("abandon() ends a flight the same way, once") {
  SingleFlight sf;
  auto [leader, follower] = lead_and_follow(sf);
  leader.abandon();
  leader.complete(value("too late"));  // the flight has ended: ignored
  auto got = follower.wait_until(steady_clock::now() + kGenerous);
  REQUIRE(got.ok());
  CHECK(*got == nullptr);
}

TEST_CASE("on_complete runs on completion, or at once when already complete") {
  SingleFlight sf;
  auto [leader, follower] = lead_and_follow(sf);
  int calls = 0;
  std::string seen;
  follower.on_complete([&](const FlightResult& r) {
    ++calls;
    seen = (*r)->body;
  });
  CHECK(calls == 0);
  leader.complete(value("done"));
  CHECK(calls == 1);
  CHECK(seen == "done");
  follower.on_complete([&](const FlightResult& r) {
    ++calls;
    seen = (*r)->body + "!";
  });
  CHECK(calls == 2);
  CHECK(seen == "done!");
}

TEST_CASE("100 identical concurrent requests make exactly one upstream call", "[concurrency]") {
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 16, .clock = {}, .on_evict = {}});
  SingleFlight sf;
  constexpr int kThreads = 100;
  std::atomic<int> upstream_calls{0}, arrived{0};
  Gate start, all_arrived;
  std::vector<FlightResult> results(kThreads, FlightResult(Error(ErrorCategory::internal, "unset")));

  auto upstream = [&]() -> Result<CachedResponse> {
    upstream_calls.fetch_add(1);
    // Hold the call open until every thread has asked, so they overlap.
    all_arrived.wait();
    CachedResponse r;
    r.body = R"({"object":"chat.completion"})";
    r.cost = Money::from_nanos(5000);
    return r;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.wait();
      if (arrived.fetch_add(1) + 1 == kThreads) all_arrived.open();
      results[static_cast<std::size_t>(i)] = fetch(cache, sf, kKey, upstream);
    });
  }
  start.open();
  for (auto& t : threads) t.join();

  CHECK(upstream_calls.load() == 1);
  for (const auto& r : results) {
    REQUIRE(r.ok());
    CHECK((*r)->cost == Money::from_nanos(5000));
    CHECK((*r)->body == R"({"object":"chat.completion"})");
  }
  CHECK(sf.in_flight() == 0);
  CHECK(cache.stats().entries == 1);
}

TEST_CASE("concurrent identical requests that fail are not cached", "[concurrency]") {
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 16, .clock = {}, .on_evict = {}});
  SingleFlight sf;
  constexpr int kThreads = 20;
  std::atomic<int> upstream_calls{0}, arrived{0};
  Gate start, all_arrived;
  std::atomic<int> errors{0};
  auto failing = [&]() -> Result<CachedResponse> {
    upstream_calls.fetch_add(1);
    all_arrived.wait();
    return Error(ErrorCategory::provider, "HTTP 503");
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.wait();
      if (arrived.fetch_add(1) + 1 == kThreads) all_arrived.open();
      auto r = fetch(cache, sf, kKey, failing);
      if (!r.ok() && r.error().category() == ErrorCategory::provider) errors.fetch_add(1);
    });
  }
  start.open();
  for (auto& t : threads) t.join();
  CHECK(errors.load() == kThreads);
  CHECK(upstream_calls.load() >= 1);
  CHECK(cache.stats().entries == 0);

  // The next request goes upstream again and its success is cached.
  int calls_after = 0;
  auto ok = fetch(cache, sf, kKey, [&]() -> Result<CachedResponse> {
    ++calls_after;
    CachedResponse r;
    r.body = "{}";
    return r;
  });
  REQUIRE(ok.ok());
  CHECK(calls_after == 1);
  CHECK(cache.stats().entries == 1);
}

TEST_CASE("followers waiting from many threads are all released", "[concurrency]") {
  SingleFlight sf;
  auto leader_v = sf.join(kKey);
  constexpr int kWaiters = 16;
  std::atomic<int> joined{0}, ok{0};
  Gate all_joined;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&] {
      auto v = sf.join(kKey);
      if (joined.fetch_add(1) + 1 == kWaiters) all_joined.open();
      auto& f = std::get<SingleFlight::Follower>(v);
      if (f.wait_until(steady_clock::now() + kGenerous).ok()) ok.fetch_add(1);
    });
  }
  REQUIRE(all_joined.wait());
  std::get<SingleFlight::Leader>(leader_v).complete(value("x"));
  for (auto& t : threads) t.join();
  CHECK(ok.load() == kWaiters);
}
