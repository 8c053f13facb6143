// The ledger's storage: schema and migrations, sync and async appends, group
// commit, quality scores.
#include <catch2/catch.hpp>

#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "engine/ledger/ledger.hpp"
#include "engine/ledger/ledger_schema.hpp"
#include "engine/ledger/ledger_sqlite.hpp"
#include "ledger_test_util.hpp"

using namespace tollgate;
using namespace tollgate::engine;
using tollgate::testing::eventually;
using tollgate::testing::make_row;
using tollgate::testing::RawDb;
using tollgate::testing::TempDir;

namespace {
constexpr int64_t kT0 = 1'778'000'000'000;  // 2026-05-05, a fixed "now"
}

TEST_CASE("a new ledger is in WAL mode at the latest schema and round-trips a row") {
  TempDir dir;
  const auto path = dir.file("l.db");
  {
    auto ledger = Ledger::open(path);
    REQUIRE(ledger.ok());
    LedgerRow row = make_row("req-1", kT0, Money::from_nanos(1234));
    row.attempt = 2;
    row.saved = Money::from_nanos(55);
    row.error_category = "provider";
    row.error_message = "upstream said no";
    REQUIRE((*ledger)->append(row).ok());
  }
  RawDb db(path);
  CHECK(db.text("PRAGMA journal_mode") == "wal");
  CHECK(db.integer("PRAGMA user_version") == ledger_schema_version());
  CHECK(db.integer("SELECT count(*) FROM attempts") == 1);
  CHECK(db.text("SELECT request_id || '|' || attempt || '|' || ts_ms || '|' || team || '|' || "
                "user || '|' || tags || '|' || task || '|' || route || '|' || provider || '|' || "
                "model || '|' || status || '|' || input_tokens || '|' || cached_input_tokens || "
                "'|' || output_tokens || '|' || cost_nanos || '|' || saved_nanos || '|' || "
                "latency_ms || '|' || ttft_ms || '|' || error_category || '|' || error_message "
                "FROM attempts") ==
        "req-1|2|1778000000000|support|ann|{\"task\":\"classify\"}|classify|classify|deepseek|"
        "deepseek-v4-flash|ok|1200|200|300|1234|55|420|90|provider|upstream said no");
}

TEST_CASE("a database made by migration 1 is upgraded in place, rows kept") {
  TempDir dir;
  const auto path = dir.file("old.db");
  {
    auto db = sql::Db::open(path, sql::Db::Mode::read_write_create, 1000);
    REQUIRE(db.ok());
    REQUIRE(migrate_ledger(*db, 1).ok());
    REQUIRE(db->exec("INSERT INTO attempts (request_id, attempt, ts_ms, team, status, cost_nanos) "
                     "VALUES ('old-1', 1, 1778000000000, 'support', 'ok', 777)")
                .ok());
  }
  {
    RawDb before(path);
    CHECK(before.integer("PRAGMA user_version") == 1);
    CHECK(before.integer("SELECT count(*) FROM sqlite_master WHERE name = 'attempts_spend'") == 0);
  }
  auto ledger = Ledger::open(path);
  REQUIRE(ledger.ok());
  RawDb after(path);
  CHECK(after.integer("PRAGMA user_version") == ledger_schema_version());
  CHECK(after.integer("SELECT count(*) FROM sqlite_master WHERE name = 'attempts_spend'") == 1);
  CHECK(after.integer("SELECT cost_nanos FROM attempts WHERE request_id = 'old-1'") == 777);
  // The rebuild query uses the index the migration added.
  CHECK_THAT(after.plan("SELECT team, user, route, provider, ts_ms / 3600000 AS "
                   "hour, SUM(cost_nanos) FROM attempts WHERE ts_ms >= 0 AND cost_nanos != 0 "
                   "GROUP BY hour, team, user, route, provider"),
             Catch::Contains("COVERING INDEX attempts_spend"));
}

TEST_CASE("a ledger from a newer tollgate is refused with a clear error") {
  TempDir dir;
  const auto path = dir.file("new.db");
  {
    RawDb db(path);
    REQUIRE(db.exec("PRAGMA user_version = 99") == SQLITE_OK);
  }
  auto ledger = Ledger::open(path);
  REQUIRE_FALSE(ledger.ok());
  CHECK(ledger.error().category() == ErrorCategory::ledger);
  CHECK_THAT(ledger.error().message(), Catch::Contains("schema version 99") &&
                                           Catch::Contains("upgrade tollgate"));
}

TEST_CASE("sync appends from many threads are each committed when they return", "[concurrency]") {
  TempDir dir;
  const auto path = dir.file("l.db");
  auto ledger = Ledger::open(path);
  REQUIRE(ledger.ok());
  constexpr int kThreads = 8, kRows = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RawDb reader(path);
      for (int i = 0; i < kRows; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!(*ledger)->append(make_row(id, kT0, Money::from_nanos(1))).ok()) ++failures;
        // Acknowledged means committed: another connection sees it now.
        if (reader.integer("SELECT count(*) FROM attempts WHERE request_id = '" + id + "'") != 1)
          ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK((*ledger)->stats().rows_committed == kThreads * kRows);
  // Rows from concurrent callers shared transactions.
  CHECK((*ledger)->stats().batches_committed < kThreads * kRows);
}

TEST_CASE("a batch closes on its row count") {
  TempDir dir;
  LedgerOptions options;
  options.durability = Durability::async;
  options.batch_max_rows = 100;
  options.batch_max_delay = std::chrono::hours(1);  // only the count (or the flush) closes it
  auto ledger = Ledger::open(dir.file("l.db"), options);
  REQUIRE(ledger.ok());
  for (int i = 0; i < 1000; ++i)
    REQUIRE((*ledger)->append(make_row("r" + std::to_string(i), kT0, Money{})).ok());
  REQUIRE((*ledger)->flush().ok());
  const LedgerStats stats = (*ledger)->stats();
  CHECK(stats.rows_committed == 1000);
  // Ten full batches, and possibly one more holding only the flush.
  CHECK(stats.batches_committed >= 10);
  CHECK(stats.batches_committed <= 11);
}

TEST_CASE("a score recorded asynchronously closes its batch at once") {
  TempDir dir;
  LedgerOptions options;
  options.durability = Durability::async;
  options.batch_max_delay = std::chrono::hours(1);  // only a full batch or an urgent item closes one
  std::promise<Result<void>> scored;  // outlives the ledger, which may still answer it as it closes
  auto ledger = Ledger::open(dir.file("l.db"), options);
  REQUIRE(ledger.ok());
  REQUIRE((*ledger)->append(make_row("scored", kT0, Money{1})).ok());
  REQUIRE((*ledger)->flush().ok());
  // The path serve's POST /v1/quality takes.
  (*ledger)->record_quality_async("scored", 1.0, "thumbs", "", [&](Result<void> r) { scored.set_value(std::move(r)); });
  auto done = scored.get_future();
  REQUIRE(done.wait_for(std::chrono::minutes(1)) == std::future_status::ready);
  CHECK(done.get().ok());
}

TEST_CASE("after a score, rows still commit in groups") {
  TempDir dir;
  LedgerOptions options;
  options.durability = Durability::async;
  options.batch_max_rows = 1000;
  constexpr auto kDelay = std::chrono::milliseconds(200);
  options.batch_max_delay = kDelay;
  auto ledger = Ledger::open(dir.file("l.db"), options);
  REQUIRE(ledger.ok());
  Ledger& l = **ledger;
  REQUIRE(l.append(make_row("scored", kT0, Money{1})).ok());
  REQUIRE(l.flush().ok());
  // Promises the callbacks share: a failed REQUIRE must not leave the
  // ledger answering into a destroyed one as it closes.
  auto scored = std::make_shared<std::promise<Result<void>>>();
  l.record_quality_async("scored", 1.0, "thumbs", "", [scored](Result<void> r) { scored->set_value(std::move(r)); });
  auto score_done = scored->get_future();
  REQUIRE(score_done.wait_for(std::chrono::minutes(1)) == std::future_status::ready);
  REQUIRE(score_done.get().ok());
  // Group commit: nothing closes a batch of a few rows before its delay has
  // passed since its first row, so the rows share one transaction. A writer
  // that believes a score is still waiting commits at once, row by row.
  for (int round = 1; round <= 3; ++round) {
    const int64_t batches_before = l.stats().batches_committed;
    auto last_committed = std::make_shared<std::promise<std::chrono::steady_clock::time_point>>();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 8; ++i) {
      std::function<void(Result<void>)> done = [](const Result<void>&) {};
      if (i == 7)
        done = [last_committed](const Result<void>&) { last_committed->set_value(std::chrono::steady_clock::now()); };
      l.append_async(make_row("r" + std::to_string(round) + "-" + std::to_string(i), kT0, Money{1}), done);
    }
    auto committed = last_committed->get_future();
    REQUIRE(committed.wait_for(std::chrono::minutes(1)) == std::future_status::ready);
    CHECK(committed.get() - start >= kDelay);
    CHECK(l.stats().rows_committed == 1 + 8 * round);
    CHECK(l.stats().batches_committed == batches_before + 1);
  }
}

TEST_CASE("a batch closes on its delay without a flush") {
  TempDir dir;
  LedgerOptions options;
  options.durability = Durability::async;
  options.batch_max_rows = 1000;
  options.batch_max_delay = std::chrono::milliseconds(1);
  auto ledger = Ledger::open(dir.file("l.db"), options);
  REQUIRE(ledger.ok());
  REQUIRE((*ledger)->append(make_row("lonely", kT0, Money{})).ok());
  CHECK(eventually([&] { return (*ledger)->stats().rows_committed == 1; }));
}

TEST_CASE("async appends are all committed by flush and by close") {
  TempDir dir;
  const auto path = dir.file("l.db");
  LedgerOptions options;
  options.durability = Durability::async;
  options.queue_max_rows = 64;  // appends must wait for room, not fail
  {
    auto ledger = Ledger::open(path, options);
    REQUIRE(ledger.ok());
    for (int i = 0; i < 500; ++i)
      REQUIRE((*ledger)->append(make_row("a" + std::to_string(i), kT0, Money{1})).ok());
    REQUIRE((*ledger)->flush().ok());
    CHECK(RawDb(path).integer("SELECT count(*) FROM attempts") == 500);
    for (int i = 0; i < 500; ++i)
      REQUIRE((*ledger)->append(make_row("b" + std::to_string(i), kT0, Money{1})).ok());
  }  // the destructor commits what is queued
  CHECK(RawDb(path).integer("SELECT count(*) FROM attempts") == 1000);
}

TEST_CASE("a reused request id keeps its row, under the id with a suffix, and its batch commits") {
  TempDir dir;
  const auto path = dir.file("l.db");
  LedgerOptions options;
  options.durability = Durability::async;
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  REQUIRE((*ledger)->append(make_row("x", kT0, Money{1})).ok());
  REQUIRE((*ledger)->append(make_row("x", kT0, Money{2})).ok());  // a caller reusing its id
  REQUIRE((*ledger)->append(make_row("y", kT0, Money{4})).ok());
  REQUIRE((*ledger)->flush().ok());
  RawDb db(path);
  CHECK(db.integer("SELECT count(*) FROM attempts") == 3);
  CHECK(db.integer("SELECT sum(cost_nanos) FROM attempts") == 7);  // no money lost
  CHECK(db.integer("SELECT cost_nanos FROM attempts WHERE request_id = 'x'") == 1);
  CHECK(db.integer("SELECT cost_nanos FROM attempts WHERE request_id LIKE 'x~" + std::to_string(kT0) + ".%'") == 2);
  CHECK((*ledger)->stats().rows_failed == 0);
  CHECK((*ledger)->health().ok());
}

TEST_CASE("record_quality stores a score against the answering attempt") {
  TempDir dir;
  const auto path = dir.file("l.db");
  LedgerOptions options;
  options.clock = [] { return kT0; };
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  LedgerRow failed = make_row("req", kT0, Money{});
  failed.status = AttemptStatus::error;
  failed.model = "glm-4-9b";
  failed.error_category = "provider";
  LedgerRow answered = make_row("req", kT0, Money{10});
  answered.attempt = 2;
  answered.model = "qwen3-8b";
  REQUIRE((*ledger)->append(failed).ok());
  REQUIRE((*ledger)->append(answered).ok());

  REQUIRE((*ledger)->record_quality("req", 0.75, "review").ok());
  RawDb db(path);
  CHECK(db.text("SELECT attempt || '|' || model || '|' || task || '|' || route || '|' || source "
                "FROM quality") == "2|qwen3-8b|classify|classify|review");

  const QualityStats q = (*ledger)->quality().get("qwen3-8b", "classify");
  CHECK(q.count == 1);
  CHECK(q.mean == Approx(0.75));
  CHECK(q.attempts == 1);
  CHECK((*ledger)->quality().get("glm-4-9b", "classify").error_rate == Approx(1.0));

  SECTION("an unknown request id is a clear error") {
    auto r = (*ledger)->record_quality("nope", 0.5, "review");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().category() == ErrorCategory::bad_request);
    CHECK_THAT(r.error().message(), Catch::Contains("no request 'nope'"));
  }
  SECTION("a score outside [0, 1] is a clear error") {
    for (double bad : {-0.1, 1.5, std::nan("")}) {
      auto r = (*ledger)->record_quality("req", bad, "review");
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().category() == ErrorCategory::bad_request);
      CHECK_THAT(r.error().message(), Catch::Contains("outside [0, 1]"));
    }
    CHECK(db.integer("SELECT count(*) FROM quality") == 1);
  }
}

TEST_CASE("record_quality_async: its own team's request only, without blocking") {
  TempDir dir;
  const auto path = dir.file("l.db");
  auto ledger = Ledger::open(path, LedgerOptions{});
  REQUIRE(ledger.ok());
  LedgerRow mine = make_row("mine", kT0, Money{10});
  REQUIRE((*ledger)->append(mine).ok());
  const std::string team = mine.team;
  auto score = [&](const std::string& id, double value, const std::string& as_team) {
    std::promise<Result<void>> done;
    (*ledger)->record_quality_async(id, value, "thumbs", as_team, [&](Result<void> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  };
  CHECK(score("mine", 1.0, team).ok());
  CHECK(score("mine", 0.5, "").ok());  // no team given: any request
  // Another team's request reads exactly as an unknown one.
  auto other = score("mine", 0.5, "not-" + team);
  REQUIRE_FALSE(other.ok());
  auto unknown = score("nope", 0.5, "not-" + team);
  REQUIRE_FALSE(unknown.ok());
  CHECK(other.error().category() == unknown.error().category());
  CHECK_THAT(other.error().message(), Catch::Contains("no request 'mine' in the ledger"));
  CHECK_THAT(unknown.error().message(), Catch::Contains("no request 'nope' in the ledger"));
  // A bad score is refused at once, on the caller's thread.
  auto bad = score("mine", 1.5, team);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), Catch::Contains("outside [0, 1]"));
  CHECK(RawDb(path).integer("SELECT count(*) FROM quality") == 2);
}

TEST_CASE("quality figures are rebuilt from the ledger when it is reopened") {
  TempDir dir;
  const auto path = dir.file("l.db");
  LedgerOptions options;
  options.clock = [] { return kT0; };
  {
    auto ledger = Ledger::open(path, options);
    REQUIRE(ledger.ok());
    for (int i = 0; i < 10; ++i) {
      LedgerRow r = make_row("q" + std::to_string(i), kT0 - 1000, Money{1});
      r.latency_ms = 100 * (i + 1);
      REQUIRE((*ledger)->append(r).ok());
      REQUIRE((*ledger)->record_quality(r.request_id, i < 5 ? 1.0 : 0.5, "judge").ok());
    }
  }
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  const QualityStats q = (*ledger)->quality().get("deepseek-v4-flash", "classify");
  CHECK(q.count == 10);
  CHECK(q.mean == Approx(0.75));
  CHECK(q.attempts == 10);
  CHECK(q.error_rate == 0);
  CHECK(q.p50_ms >= 430);  // true p50 is 500 (5th of 10); buckets are ~19 % wide
  CHECK(q.p50_ms <= 600);
  CHECK(q.p95_ms >= 860);  // true p95 is 1000
  CHECK(q.p95_ms <= 1200);
}
