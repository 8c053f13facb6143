// Persistence: a restart finds the cache warm, expired rows are purged, the
// file mirrors evictions, and the table lives beside the ledger's.
#include <catch2/catch.hpp>

#include <atomic>

#include "engine/cache/cache_store.hpp"
#include "engine/ledger/ledger.hpp"
#include "engine/ledger/ledger_sqlite.hpp"
#include "test_support.hpp"

using namespace tollgate;
using namespace tollgate::engine;
using tollgate::testing::TempDir;

namespace {

constexpr int64_t kT0 = 1'778'000'000'000;

CachedResponse answer(std::string body) {
  CachedResponse r;
  r.body = std::move(body);
  r.route = "faq";
  r.provider = "deepseek";
  r.model = "deepseek-v4-flash";
  r.finish_reason = "stop";
  r.usage = Usage{120, 64, 33};
  r.cost = Money::from_nanos(123'456);
  return r;
}

int64_t rows(const std::string& path) {
  auto db = sql::Db::open(path, sql::Db::Mode::read_only, 5000);
  REQUIRE(db.ok());
  auto n = db->query_int("SELECT count(*) FROM tollgate_cache");
  REQUIRE(n.ok());
  return *n;
}

}  // namespace

TEST_CASE("a restart keeps the cache warm, with the same key secret", "[concurrency]") {
  TempDir dir;
  const std::string path = dir.file("cache.db");
  std::atomic<int64_t> now{kT0};
  auto clock = [&] { return now.load(); };
  const nlohmann::json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  const std::vector<std::string_view> models = {"deepseek-v4-flash"};

  CacheKey key;
  {
    auto store = CacheStore::open({.path = path, .max_pending = 4096, .batch_size = 256,
                                   .busy_timeout_ms = 5000, .clock = clock});
    REQUIRE(store.ok());
    ResponseCache cache({.max_bytes = 1 << 20, .shards = 4, .clock = clock, .on_evict = {}});
    CHECK(*(*store)->load_into(cache) == 0);
    key = CacheKeyer((*store)->secret()).key("team-a", body, 0, models);
    (*store)->put(key, cache.insert(key, answer(R"({"id":"c1"})"), 3'600'000));
    (*store)->put(CacheKey{7, 7}, cache.insert(CacheKey{7, 7}, answer("short"), 1'000));
    (*store)->flush();
    CHECK((*store)->stats().written == 2);
  }  // the process "restarts"

  now = kT0 + 5'000;  // the short entry has expired
  auto store = CacheStore::open({.path = path, .max_pending = 4096, .batch_size = 256,
                                 .busy_timeout_ms = 5000, .clock = clock});
  REQUIRE(store.ok());
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 4, .clock = clock, .on_evict = {}});
  auto loaded = (*store)->load_into(cache);
  REQUIRE(loaded.ok());
  CHECK(*loaded == 1);
  CHECK(rows(path) == 1);  // the expired row was purged

  // The same request computes the same key after the restart.
  const CacheKey again = CacheKeyer((*store)->secret()).key("team-a", body, 0, models);
  CHECK(again == key);
  auto hit = cache.find(again);
  REQUIRE(hit);
  CHECK(hit->body == R"({"id":"c1"})");
  CHECK(hit->route == "faq");
  CHECK(hit->provider == "deepseek");
  CHECK(hit->model == "deepseek-v4-flash");
  CHECK(hit->finish_reason == "stop");
  CHECK(hit->usage.input_tokens == 120);
  CHECK(hit->usage.cached_input_tokens == 64);
  CHECK(hit->usage.output_tokens == 33);
  CHECK(hit->cost == Money::from_nanos(123'456));
  CHECK(hit->stored_at_ms == kT0);
  CHECK(hit->expires_at_ms == kT0 + 3'600'000);
  CHECK(cache.find(CacheKey{7, 7}) == nullptr);
}

TEST_CASE("the file mirrors the memory cache's evictions", "[concurrency]") {
  TempDir dir;
  const std::string path = dir.file("cache.db");
  auto store = CacheStore::open({.path = path, .max_pending = 4096, .batch_size = 2,
                                 .busy_timeout_ms = 5000, .clock = {}});
  REQUIRE(store.ok());
  CacheStore& s = **store;
  const int64_t entry = answer(std::string(500, 'a')).charged_bytes();
  ResponseCache cache({.max_bytes = 2 * entry, .shards = 1, .clock = {},
                       .on_evict = [&](const CacheKey& k) { s.erase(k); }});
  for (uint64_t i = 1; i <= 5; ++i) {
    s.put(CacheKey{i, i}, cache.insert(CacheKey{i, i}, answer(std::string(500, 'a')), 60'000));
  }
  s.flush();
  CHECK(rows(path) == 2);
  CHECK(s.stats().written == 5);
  CHECK(s.stats().erased == 3);
}

TEST_CASE("the cache table lives in the ledger's file without disturbing it", "[concurrency]") {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  auto ledger = Ledger::open(path);
  REQUIRE(ledger.ok());
  auto store = CacheStore::open({.path = path, .max_pending = 16, .batch_size = 256,
                                 .busy_timeout_ms = 5000, .clock = {}});
  REQUIRE(store.ok());
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 1, .clock = {}, .on_evict = {}});
  (*store)->put(CacheKey{1, 1}, cache.insert(CacheKey{1, 1}, answer("{}"), 60'000));
  (*store)->flush();
  CHECK(rows(path) == 1);
  auto db = sql::Db::open(path, sql::Db::Mode::read_only, 5000);
  REQUIRE(db.ok());
  CHECK(*db->query_text("PRAGMA journal_mode") == "wal");
  CHECK(*db->query_int("SELECT count(*) FROM attempts") == 0);
}

TEST_CASE("a full write queue drops puts instead of blocking", "[concurrency]") {
  TempDir dir;
  const std::string path = dir.file("cache.db");
  auto store = CacheStore::open({.path = path, .max_pending = 1, .batch_size = 1,
                                 .busy_timeout_ms = 5000, .clock = {}});
  REQUIRE(store.ok());
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 1, .clock = {}, .on_evict = {}});
  for (uint64_t i = 1; i <= 200; ++i) {
    (*store)->put(CacheKey{i, i}, cache.insert(CacheKey{i, i}, answer("{}"), 60'000));
  }
  (*store)->flush();
  const auto st = (*store)->stats();
  CHECK(st.written + st.dropped == 200);
  CHECK(rows(path) == st.written);
}

TEST_CASE("a stalled file bounds the queued deletes as well as the puts", "[concurrency]") {
  TempDir dir;
  const std::string path = dir.file("cache.db");
  auto store = CacheStore::open({.path = path, .max_pending = 4, .batch_size = 1,
                                 .busy_timeout_ms = 600'000, .clock = {}});
  REQUIRE(store.ok());
  CacheStore& s = **store;
  auto other = sql::Db::open(path, sql::Db::Mode::read_write_create, 5000);
  REQUIRE(other.ok());
  REQUIRE(other->exec("BEGIN IMMEDIATE").ok());  // the stall: the writer cannot commit
  // Evictions while the file stalls: the writer may have taken the first
  // delete, the queue holds the next eight (twice max_pending), the rest
  // are dropped.
  for (uint64_t i = 1; i <= 100; ++i) s.erase(CacheKey{i, i});
  CacheStoreStats st = s.stats();
  CHECK(st.erases_dropped >= 100 - 8 - 1);
  CHECK(st.erases_dropped <= 100 - 8);
  // Puts meet their own, lower bound first.
  ResponseCache cache({.max_bytes = 1 << 20, .shards = 1, .clock = {}, .on_evict = {}});
  s.put(CacheKey{1000, 1000}, cache.insert(CacheKey{1000, 1000}, answer("{}"), 60'000));
  CHECK(s.stats().dropped == 1);
  REQUIRE(other->exec("ROLLBACK").ok());
  s.flush();
  st = s.stats();
  CHECK(st.write_errors == 0);
  CHECK(st.written == 0);
}

TEST_CASE("an unwritable path is a ledger error naming the file") {
  auto store = CacheStore::open({.path = "/nonexistent-dir/x/cache.db", .max_pending = 16,
                                 .batch_size = 16, .busy_timeout_ms = 100, .clock = {}});
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().category() == ErrorCategory::ledger);
  CHECK_THAT(store.error().message(), Catch::Contains("/nonexistent-dir/x/cache.db"));
}
