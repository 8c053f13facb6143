// The in-memory cache: hits, TTL with an injected clock, LRU eviction by
// bytes, stats.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/cache/response_cache.hpp"

using namespace tollgate;
using namespace tollgate::engine;

namespace {

constexpr int64_t kT0 = 1'778'000'000'000;

CacheKey key(uint64_t n) { return CacheKey{n * 0x9E3779B97F4A7C15ULL, n}; }

CachedResponse answer(std::size_t body_bytes, int64_t cost_nanos = 1000) {
  CachedResponse r;
  r.body = std::string(body_bytes, 'x');
  r.route = "default";
  r.provider = "openai";
  r.model = "gpt-4o";
  r.finish_reason = "stop";
  r.usage = Usage{12, 0, 7};
  r.cost = Money::from_nanos(cost_nanos);
  return r;
}

struct Clock {
  std::atomic<int64_t> now{kT0};
  std::function<int64_t()> fn() {
    return [this] { return now.load(); };
  }
};

}  // namespace

TEST_CASE("a stored answer is found until its TTL passes, then it is a miss") {
  Clock clock;
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 4, .clock = clock.fn(), .on_evict = {}});
  CHECK(cache.find(key(1)) == nullptr);
  auto stored = cache.insert(key(1), answer(100, 4242), 60'000);
  REQUIRE(stored);
  CHECK(stored->stored_at_ms == kT0);
  CHECK(stored->expires_at_ms == kT0 + 60'000);

  clock.now = kT0 + 59'999;
  auto hit = cache.find(key(1));
  REQUIRE(hit);
  CHECK(hit->body == std::string(100, 'x'));
  CHECK(hit->cost == Money::from_nanos(4242));
  CHECK(hit->usage.output_tokens == 7);

  clock.now = kT0 + 60'000;
  CHECK(cache.find(key(1)) == nullptr);
  const auto st = cache.stats();
  CHECK(st.hits == 1);
  CHECK(st.misses == 2);
  CHECK(st.expirations == 1);
  CHECK(st.entries == 0);
  CHECK(st.bytes == 0);
}

TEST_CASE("per-entry TTLs are independent, purge_expired drops only the expired") {
  Clock clock;
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 2, .clock = clock.fn(), .on_evict = {}});
  REQUIRE(cache.insert(key(1), answer(10), 1'000));
  REQUIRE(cache.insert(key(2), answer(10), 10'000));
  clock.now = kT0 + 5'000;
  CHECK(cache.purge_expired() == 1);
  CHECK(cache.find(key(1)) == nullptr);
  CHECK(cache.find(key(2)) != nullptr);
  CHECK(cache.stats().entries == 1);
}

TEST_CASE("a TTL of zero or less, or an entry larger than a shard, is not stored") {
  ResponseCache cache({.max_bytes = 16 * 1024, .shards = 4, .clock = {}, .on_evict = {}});
  CHECK(cache.insert(key(1), answer(10), 0) == nullptr);
  CHECK(cache.insert(key(2), answer(10), -5) == nullptr);
  CHECK(cache.insert(key(3), answer(4 * 1024), 1000) == nullptr);  // shard holds 4 KiB
  CHECK(cache.insert(key(4), answer(1024), 1000) != nullptr);
  CHECK(cache.stats().rejected == 3);
  CHECK(cache.stats().entries == 1);
}

TEST_CASE("bytes are bounded: the least recently used entries are evicted first") {
  const int64_t entry = answer(1000).charged_bytes();
  std::vector<CacheKey> evicted;
  // One shard so the order is fully determined; room for exactly 3 entries.
  ResponseCache cache({.max_bytes = 3 * entry + entry / 2, .shards = 1, .clock = {},
                       .on_evict = [&](const CacheKey& k) { evicted.push_back(k); }});
  REQUIRE(cache.insert(key(1), answer(1000), 60'000));
  REQUIRE(cache.insert(key(2), answer(1000), 60'000));
  REQUIRE(cache.insert(key(3), answer(1000), 60'000));
  CHECK(cache.stats().bytes == 3 * entry);
  REQUIRE(cache.find(key(1)));  // 1 is now the most recently used; 2 the least

  REQUIRE(cache.insert(key(4), answer(1000), 60'000));
  REQUIRE(evicted.size() == 1);
  CHECK(evicted[0] == key(2));
  CHECK(cache.find(key(2)) == nullptr);
  CHECK(cache.find(key(1)));
  CHECK(cache.find(key(3)));
  CHECK(cache.find(key(4)));

  // A bigger entry evicts as many as it needs.
  REQUIRE(cache.insert(key(5), answer(2500), 60'000));
  const auto st = cache.stats();
  CHECK(st.bytes <= cache.max_bytes());
  CHECK(st.evictions == static_cast<int64_t>(evicted.size()));
  CHECK(evicted.size() >= 3);
  CHECK(cache.find(key(5)));
}

TEST_CASE("insert replaces an entry without counting it twice") {
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 1, .clock = {}, .on_evict = {}});
  REQUIRE(cache.insert(key(1), answer(100), 60'000));
  REQUIRE(cache.insert(key(1), answer(200), 60'000));
  const auto st = cache.stats();
  CHECK(st.entries == 1);
  CHECK(st.bytes == answer(200).charged_bytes());
  CHECK(cache.find(key(1))->body.size() == 200);
  cache.erase(key(1));
  CHECK(cache.stats().bytes == 0);
}

TEST_CASE("an entry a reader holds survives its eviction") {
  ResponseCache cache({.max_bytes = answer(100).charged_bytes(), .shards = 1, .clock = {},
                       .on_evict = {}});
  REQUIRE(cache.insert(key(1), answer(100), 60'000));
  CachedPtr held = cache.find(key(1));
  REQUIRE(cache.insert(key(2), answer(100), 60'000));
  CHECK(cache.find(key(1)) == nullptr);
  CHECK(held->body.size() == 100);
}

TEST_CASE("restore keeps the stored times and skips expired entries") {
  Clock clock;
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 1, .clock = clock.fn(), .on_evict = {}});
  CachedResponse live = answer(10);
  live.stored_at_ms = kT0 - 1000;
  live.expires_at_ms = kT0 + 1000;
  CachedResponse dead = answer(10);
  dead.stored_at_ms = kT0 - 2000;
  dead.expires_at_ms = kT0;
  CHECK(cache.restore(key(1), live));
  CHECK(cache.restore(key(2), dead) == nullptr);
  REQUIRE(cache.find(key(1)));
  CHECK(cache.find(key(1))->expires_at_ms == kT0 + 1000);
}

TEST_CASE("concurrent inserts and finds keep the byte count consistent", "[concurrency]") {
  const int64_t entry = answer(200).charged_bytes();
  ResponseCache cache({.max_bytes = 40 * entry, .shards = 4, .clock = {}, .on_evict = {}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 2000; ++i) {
        const CacheKey k = key(static_cast<uint64_t>(t) * 100000 + i % 97);
        if (!cache.find(k)) (void)cache.insert(k, answer(200), 60'000);
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto st = cache.stats();
  CHECK(st.bytes == st.entries * entry);
  CHECK(st.bytes <= cache.max_bytes());
  CHECK(st.hits + st.misses == 8000);
}

TEST_CASE("a stored Response comes back as a hit: cost 0, saved = what it cost") {
  Response live;
  live.request_id = "req-1";
  live.body = nlohmann::json::parse(R"({"object":"chat.completion","choices":[]})");
  live.route = "faq";
  live.provider = "openai";
  live.model = "gpt-4o";
  live.finish_reason = "stop";
  live.usage = Usage{10, 2, 5};
  live.cost = Money::from_nanos(7777);
  live.attempts = 2;
  const CachedResponse stored = to_cached(live);
  auto hit = hit_response(stored, "req-2");
  REQUIRE(hit.has_value());
  CHECK(hit->request_id == "req-2");
  CHECK(hit->body == live.body);
  CHECK(hit->route == "faq");
  CHECK(hit->provider == "openai");
  CHECK(hit->model == "gpt-4o");
  CHECK(hit->finish_reason == "stop");
  CHECK(hit->usage.cached_input_tokens == 2);
  CHECK(hit->cost == Money{});
  CHECK(hit->saved == Money::from_nanos(7777));
  CHECK(hit->cache_hit);
  CHECK(hit->attempts == 0);

  CachedResponse damaged = stored;
  damaged.body = "{not json";
  CHECK_FALSE(hit_response(damaged, "req-3").has_value());
}
