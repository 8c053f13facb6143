// Budget leases, the store side: grants bounded by cap − settled − leased,
// rows settling through the ledger's trigger, expiry, windows, the
// invariant under contention, and a PostgreSQL restart. Every behaviour is
// checked on both stores: a SQLite ledger file and a PostgreSQL server the
// test starts itself (pg_support.hpp).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/budget/lease_store.hpp"
#include "engine/budget/pg_lease_store.hpp"
#include "engine/budget/sqlite_lease_store.hpp"
#include "engine/ledger/ledger_sqlite.hpp"
#include "engine/ledger/pg/pg_conn.hpp"
#include "pg_support.hpp"
#include "test_support.hpp"

namespace tollgate::engine {
namespace {

using testing::TempDir;

// 2026-05-14T10:30Z: mid-month, mid-day, mid-hour.
const int64_t kT0 = *utc_midnight_ms(2026, 5, 14) + 10 * kHourMs + 30 * 60'000;
constexpr int64_t kLongTtl = 24 * kHourMs;

// One attempts row, with the columns the settle trigger reads.
struct Row {
  std::string request_id;
  int64_t ts_ms = kT0;
  std::string team = "support", user = "ann", route = "classify", provider = "deepseek";
  int64_t cost_nanos = 0;
  std::optional<std::string> holder = std::nullopt;
};

// Writes rows as a ledger writer does, on a connection of its own.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual Result<void> insert(const Row& row) = 0;
};

class SqliteWriter final : public Writer {
 public:
  explicit SqliteWriter(sql::Db db) : db_(std::move(db)) {}
  Result<void> insert(const Row& row) override {
    auto stmt = db_.prepare(
        "INSERT INTO attempts (request_id, attempt, ts_ms, team, user, route, provider, status, "
        "cost_nanos, holder) VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, 'ok', ?7, ?8)");
    if (!stmt) return stmt.error();
    stmt->bind(1, row.request_id);
    stmt->bind(2, row.ts_ms);
    stmt->bind(3, row.team);
    stmt->bind(4, row.user);
    stmt->bind(5, row.route);
    stmt->bind(6, row.provider);
    stmt->bind(7, row.cost_nanos);
    if (row.holder) stmt->bind(8, *row.holder);
    auto r = stmt->step();
    if (!r) return r.error();
    return {};
  }

 private:
  sql::Db db_;
};

class PgWriter final : public Writer {
 public:
  explicit PgWriter(pg::Conn conn) : conn_(std::move(conn)) {}
  Result<void> insert(const Row& row) override {
    pg::Conn::Param holder;
    if (row.holder) holder = std::string_view(*row.holder);
    auto r = conn_.run("inserting a test row",
                       "INSERT INTO attempts (request_id, attempt, ts_ms, team, \"user\", route, "
                       "provider, status, cost_nanos, holder) "
                       "VALUES ($1, 1, $2, $3, $4, $5, $6, 'ok', $7, $8)",
                       {std::string_view(row.request_id), row.ts_ms, std::string_view(row.team),
                        std::string_view(row.user), std::string_view(row.route),
                        std::string_view(row.provider), row.cost_nanos, holder});
    if (!r) return r.error();
    return {};
  }
  pg::Conn& conn() { return conn_; }

 private:
  pg::Conn conn_;
};

// A fresh store of each kind per test. open() and writer() make a new
// connection each time, as separate threads or processes would.
struct SqliteBackend {
  TempDir dir;
  std::string path = dir.file("ledger.db");

  Result<std::unique_ptr<LeaseStore>> open() {
    auto s = SqliteLeaseStore::open(path, {.busy_timeout_ms = 30'000});
    if (!s) return s.error();
    return std::unique_ptr<LeaseStore>(std::move(*s));
  }
  Result<std::unique_ptr<Writer>> writer() {
    auto db = sql::Db::open(path, sql::Db::Mode::read_write_create, 30'000);
    if (!db) return db.error();
    return std::unique_ptr<Writer>(new SqliteWriter(std::move(*db)));
  }
};

struct PgBackend {
  std::string conninfo = testing::shared_pg_server().fresh_database();

  Result<std::unique_ptr<LeaseStore>> open() {
    auto s = PgLeaseStore::open(conninfo);
    if (!s) return s.error();
    return std::unique_ptr<LeaseStore>(std::move(*s));
  }
  Result<std::unique_ptr<Writer>> writer() {
    auto c = pg::Conn::connect(conninfo, {});
    if (!c) return c.error();
    return std::unique_ptr<Writer>(new PgWriter(std::move(*c)));
  }
};

template <typename T>
T must(Result<T> r) {
  if (!r) FAIL(r.error().message());
  return std::move(r).value();
}

void must(Result<void> r) {
  if (!r) FAIL(r.error().message());
}

CapRef team_cap(SpendWindow window, int64_t cap, int64_t now_ms = kT0,
                const std::string& team = "support") {
  return CapRef::at(CapScope::team, team, team, window, cap, now_ms);
}

// The holder's lease now, as renew lists it (renew extends it too).
int64_t held(LeaseStore& store, const std::string& holder, const CapRef& cap, int64_t now_ms) {
  int64_t amount = 0;
  for (const HeldLease& l : must(store.renew(holder, now_ms, kLongTtl))) {
    if (l.scope == cap.scope && l.team == cap.team && l.name == cap.name &&
        l.window == cap.window && l.window_id == cap.window_id)
      amount += l.amount_nanos;
  }
  return amount;
}

TEST_CASE("lease_slice: a quarter of what is free, never less than the need, nothing if short") {
  CHECK(lease_slice(1'000'000, 400'000, 0) == 250'000);
  CHECK(lease_slice(1'000'000, 100'000, 0) == 100'000);
  CHECK(lease_slice(1'000'000, 400'000, 300'000) == 300'000);
  CHECK(lease_slice(1'000'000, 400'000, 1'000'000) == 1'000'000);
  CHECK(lease_slice(999'999, 400'000, 1'000'000) == 0);
  CHECK(lease_slice(3, 400'000, 1) == 1);  // the last nanos still go
  CHECK(lease_slice(0, 400'000, 0) == 0);
  CHECK(lease_slice(-5, 400'000, 0) == 0);  // overspent: nothing
}

TEMPLATE_TEST_CASE("a grant never exceeds cap minus settled minus leased, and slices shrink near "
                   "the cap",
                   "[budget]", SqliteBackend, PgBackend) {
  TestType backend;
  auto store = must(backend.open());
  const CapRef cap = team_cap(SpendWindow::day, 1'000'000);

  auto a = must(store->grant(cap, "A", 400'000, 0, kT0, kLongTtl));
  CHECK(a.granted_nanos == 250'000);  // a quarter of what is free
  CHECK(a.holder_nanos == 250'000);
  CHECK(a.leased_nanos == 250'000);
  CHECK(a.settled_nanos == 0);
  CHECK(a.cap_nanos == 1'000'000);
  CHECK(a.expires_ms == kT0 + kLongTtl);

  auto b = must(store->grant(cap, "B", 400'000, 0, kT0, kLongTtl));
  CHECK(b.granted_nanos == 187'500);  // a quarter of the 750'000 left
  CHECK(b.leased_nanos == 437'500);

  // A need beyond what is free gets nothing, and changes nothing.
  auto refused = must(store->grant(cap, "A", 1'000'000, 600'000, kT0, kLongTtl));
  CHECK(refused.granted_nanos == 0);
  CHECK(refused.holder_nanos == 250'000);
  CHECK(refused.leased_nanos == 437'500);
  // A need that fits is granted whole, past the quarter.
  auto big = must(store->grant(cap, "A", 0, 500'000, kT0, kLongTtl));
  CHECK(big.granted_nanos == 500'000);
  CHECK(big.holder_nanos == 750'000);

  // C asks for everything, one nano at least, until nothing is left: each
  // slice is at most a quarter of what was free (or the one nano), and the
  // last nanos are handed out too.
  int64_t last = INT64_MAX;
  int grants = 0;
  for (; grants < 1'000; ++grants) {  // about 50 are needed: a quarter at a time
    auto before = must(store->figures(cap, kT0));
    auto c = must(store->grant(cap, "C", 1'000'000, 1, kT0, kLongTtl));
    if (c.granted_nanos == 0) {
      CHECK(before.available_nanos() == 0);
      break;
    }
    CHECK(c.granted_nanos <= std::max<int64_t>(1, before.available_nanos() / 4));
    CHECK(c.granted_nanos <= last);
    last = c.granted_nanos;
    CHECK(c.settled_nanos + c.leased_nanos <= cap.cap_nanos);
  }
  CHECK(grants > 10);
  CHECK(grants < 1'000);
  auto f = must(store->figures(cap, kT0));
  CHECK(f.settled_nanos == 0);
  CHECK(f.leased_nanos == 1'000'000);
  CHECK(f.available_nanos() == 0);
}

TEMPLATE_TEST_CASE("a holder's rows move their cost from its lease to settled, rows without a "
                   "holder only add to settled, rows from before a cap was registered count",
                   "[budget]", SqliteBackend, PgBackend) {
  TestType backend;
  auto store = must(backend.open());
  auto writer = must(backend.writer());
  // Written before anyone registered a cap: the grant's backfill counts
  // them, in the windows they fall in.
  must(writer->insert({.request_id = "early-1", .ts_ms = kT0 - kHourMs, .cost_nanos = 1'000}));
  must(writer->insert({.request_id = "early-2", .ts_ms = kT0 - 2 * kDayMs, .cost_nanos = 5'000}));
  must(writer->insert({.request_id = "early-3", .ts_ms = kT0, .team = "sales", .cost_nanos = 700}));

  const CapRef day = team_cap(SpendWindow::day, 1'000'000);
  auto g = must(store->grant(day, "A", 100'000, 0, kT0, kLongTtl));
  CHECK(g.settled_nanos == 1'000);  // yesterday's and the other team's rows do not count
  CHECK(g.granted_nanos == 100'000);

  // A's row: its cost leaves A's lease for settled, and the sum stays.
  must(writer->insert({.request_id = "a-1", .cost_nanos = 30'000, .holder = "A"}));
  auto f = must(store->figures(day, kT0));
  CHECK(f.settled_nanos == 31'000);
  CHECK(f.leased_nanos == 70'000);
  CHECK(held(*store, "A", day, kT0) == 70'000);

  // A row with no holder (a writer without leases) only adds to settled.
  must(writer->insert({.request_id = "n-1", .cost_nanos = 2'000}));
  f = must(store->figures(day, kT0));
  CHECK(f.settled_nanos == 33'000);
  CHECK(f.leased_nanos == 70'000);

  // Another holder's row does not touch A's lease; rows of another team,
  // free rows and rows of other holders' caps leave this cap alone.
  must(writer->insert({.request_id = "b-1", .cost_nanos = 4'000, .holder = "B"}));
  must(writer->insert({.request_id = "a-2", .team = "sales", .cost_nanos = 9'000, .holder = "A"}));
  must(writer->insert({.request_id = "a-3", .cost_nanos = 0, .holder = "A"}));
  f = must(store->figures(day, kT0));
  CHECK(f.settled_nanos == 37'000);
  CHECK(f.leased_nanos == 70'000);

  // A row's cost comes off every lease of its writer that the row matches:
  // the team's and the user's.
  const CapRef user = CapRef::at(CapScope::user, "support", "ann", SpendWindow::day, 500'000, kT0);
  auto u = must(store->grant(user, "A", 50'000, 0, kT0, kLongTtl));
  CHECK(u.settled_nanos == 37'000);  // every support row so far was ann's
  must(writer->insert({.request_id = "a-4", .cost_nanos = 10'000, .holder = "A"}));
  CHECK(held(*store, "A", day, kT0) == 60'000);
  CHECK(held(*store, "A", user, kT0) == 50'000 - 10'000);
  f = must(store->figures(user, kT0));
  CHECK(f.settled_nanos == 47'000);

  // A row costing more than its writer holds (a provider over-reporting)
  // is charged in full; the lease stops at zero, never below.
  must(writer->insert({.request_id = "a-5", .cost_nanos = 100'000, .holder = "A"}));
  f = must(store->figures(day, kT0));
  CHECK(f.settled_nanos == 147'000);
  CHECK(f.leased_nanos == 0);
  CHECK(f.settled_nanos + f.leased_nanos <= day.cap_nanos);

  // Route and provider caps count the rows that name them.
  const CapRef route = CapRef::at(CapScope::route, "", "classify", SpendWindow::day, 10'000'000, kT0);
  const CapRef provider = CapRef::at(CapScope::provider, "", "deepseek", SpendWindow::day, 10'000'000, kT0);
  CHECK(must(store->grant(route, "A", 1, 0, kT0, kLongTtl)).settled_nanos == 147'000 + 9'000 + 700);
  CHECK(must(store->grant(provider, "A", 1, 0, kT0, kLongTtl)).settled_nanos == 147'000 + 9'000 + 700);
}

TEMPLATE_TEST_CASE("a cap registered by its day window still counts the month's earlier rows",
                   "[budget]", SqliteBackend, PgBackend) {
  TestType backend;
  auto store = must(backend.open());
  auto writer = must(backend.writer());
  must(writer->insert({.request_id = "may-4", .ts_ms = kT0 - 10 * kDayMs, .cost_nanos = 8'000}));
  must(writer->insert({.request_id = "april", .ts_ms = kT0 - 20 * kDayMs, .cost_nanos = 1'000}));
  must(writer->insert({.request_id = "today", .cost_nanos = 500}));

  CHECK(must(store->grant(team_cap(SpendWindow::day, 1'000'000), "A", 1, 0, kT0, kLongTtl))
            .settled_nanos == 500);
  // The cap is registered now; its month window must still see May 4th.
  CHECK(must(store->grant(team_cap(SpendWindow::month, 1'000'000), "A", 1, 0, kT0, kLongTtl))
            .settled_nanos == 8'500);
}

TEMPLATE_TEST_CASE("an expired lease frees its headroom for others, renew keeps a lease alive, "
                   "release_all returns everything at once",
                   "[budget]", SqliteBackend, PgBackend) {
  TestType backend;
  auto store = must(backend.open());
  const CapRef cap = team_cap(SpendWindow::day, 1'000'000);
  constexpr int64_t kTtl = 10'000;

  CHECK(must(store->grant(cap, "A", 0, 800'000, kT0, kTtl)).granted_nanos == 800'000);
  CHECK(must(store->grant(cap, "B", 0, 500'000, kT0 + 5'000, kTtl)).granted_nanos == 0);

  // A renews before it lapses (at kT0 + 10 s), to kT0 + 19 s.
  auto renewed = must(store->renew("A", kT0 + 9'000, kTtl));
  REQUIRE(renewed.size() == 1);
  CHECK(renewed[0].scope == CapScope::team);
  CHECK(renewed[0].name == "support");
  CHECK(renewed[0].window == SpendWindow::day);
  CHECK(renewed[0].window_id == cap.window_id);
  CHECK(renewed[0].amount_nanos == 800'000);
  CHECK(must(store->grant(cap, "B", 0, 500'000, kT0 + 15'000, kTtl)).granted_nanos == 0);
  CHECK(must(store->figures(cap, kT0 + 19'000)).leased_nanos == 800'000);

  // A stops renewing (it died): once its lease lapses, B gets the headroom.
  CHECK(must(store->figures(cap, kT0 + 19'001)).leased_nanos == 0);
  CHECK(must(store->grant(cap, "B", 0, 500'000, kT0 + 20'000, kTtl)).granted_nanos == 500'000);
  // A lapsed lease is not revived: A learns it holds nothing.
  CHECK(must(store->renew("A", kT0 + 21'000, kTtl)).empty());

  // Nor is one that lapsed while no grant came to clear it away.
  CHECK(must(store->renew("B", kT0 + 31'000, kTtl)).empty());
  CHECK(must(store->figures(cap, kT0 + 31'000)).leased_nanos == 0);

  // A clean stop returns a lease at once, long before its expiry.
  CHECK(must(store->grant(cap, "C", 0, 600'000, kT0 + 40'000, kLongTtl)).granted_nanos == 600'000);
  CHECK(must(store->grant(cap, "D", 0, 600'000, kT0 + 40'000, kLongTtl)).granted_nanos == 0);
  must(store->release_all("C"));
  CHECK(must(store->figures(cap, kT0 + 40'000)).leased_nanos == 0);
  CHECK(must(store->grant(cap, "D", 0, 600'000, kT0 + 40'000, kLongTtl)).granted_nanos == 600'000);

  // Giving back part of a lease frees that part, and never goes below zero.
  must(store->give_back(cap, "D", 100'000));
  CHECK(must(store->figures(cap, kT0 + 40'000)).leased_nanos == 500'000);
  must(store->give_back(cap, "D", 10'000'000));
  CHECK(must(store->figures(cap, kT0 + 40'000)).leased_nanos == 0);
}

TEMPLATE_TEST_CASE("yesterday's day leases and spend do not count today, and rolling_24h sums "
                   "the last 24 hours",
                   "[budget]", SqliteBackend, PgBackend) {
  TestType backend;
  auto store = must(backend.open());
  auto writer = must(backend.writer());
  const int64_t yesterday = kT0 - kDayMs;
  const CapRef y_cap = team_cap(SpendWindow::day, 1'000'000, yesterday);
  const CapRef t_cap = team_cap(SpendWindow::day, 1'000'000, kT0);

  CHECK(must(store->grant(y_cap, "A", 0, 600'000, yesterday, kLongTtl)).granted_nanos == 600'000);
  CHECK(must(store->grant(y_cap, "B", 0, 300'000, yesterday, kLongTtl)).granted_nanos == 300'000);
  must(writer->insert({.request_id = "y-1", .ts_ms = yesterday, .cost_nanos = 100'000, .holder = "A"}));
  auto y = must(store->figures(y_cap, kT0));
  CHECK(y.settled_nanos == 100'000);
  CHECK(y.leased_nanos == 800'000);

  // Today starts empty: yesterday's leases (still unexpired) and spend are
  // of another window.
  auto t = must(store->figures(t_cap, kT0));
  CHECK(t.settled_nanos == 0);
  CHECK(t.leased_nanos == 0);
  // A's first grant today drops A's lease of yesterday; B's lapses by itself.
  CHECK(must(store->grant(t_cap, "A", 0, 1'000'000, kT0, kLongTtl)).granted_nanos == 1'000'000);
  CHECK(must(store->figures(y_cap, kT0)).leased_nanos == 300'000);

  // Rolling: the 24 hours ending with the current one.
  must(writer->insert({.request_id = "r-30h", .ts_ms = kT0 - 30 * kHourMs, .cost_nanos = 1}));
  must(writer->insert({.request_id = "r-23h", .ts_ms = kT0 - 23 * kHourMs, .cost_nanos = 10}));
  must(writer->insert({.request_id = "r-1h", .ts_ms = kT0 - kHourMs, .cost_nanos = 100}));
  must(writer->insert({.request_id = "r-now", .ts_ms = kT0, .cost_nanos = 1'000}));
  // (the 100'000 of yesterday 10:30 is 24 hours back: out; the 1'000'000
  // leased for today is a day window's, not the rolling one's)
  const CapRef rolling = team_cap(SpendWindow::rolling_24h, 10'000'000, kT0);
  auto r = must(store->grant(rolling, "A", 0, 5'000, kT0, kLongTtl));
  CHECK(r.settled_nanos == 1'110);
  CHECK(r.leased_nanos == 5'000);
  // Two hours on, the hour 23 hours back has left the window; the lease of
  // the rolling window carries on.
  const CapRef later = team_cap(SpendWindow::rolling_24h, 10'000'000, kT0 + 2 * kHourMs);
  CHECK(later.window_id == rolling.window_id);
  auto l = must(store->figures(later, kT0 + 2 * kHourMs));
  CHECK(l.settled_nanos == 1'100);
  CHECK(l.leased_nanos == 5'000);
}

// --- the invariant under contention ---

constexpr int64_t kContendedCap = 2'000'000;

// A holder: an instance whose threads admit reservations against the
// lease it holds, as SpendGate will. pool is what the holder may still
// reserve; the store's lease is pool plus what is reserved and not yet
// written, so a row never costs more than its writer's lease.
struct Holder {
  std::string id;
  std::mutex mu;
  int64_t pool = 0;
};

struct WorkerReport {
  int rows = 0;
  std::string error;  // the first failure, empty if none
};

// Loops: reserve a worst case from the pool (taking a slice from the store
// when the pool is short), write a row of a real cost at most that, put
// the rest back; now and then give half the pool back to the store. Ends
// when the pool is empty and the store has nothing left to grant, or, once
// this worker spent `max_spend`, giving the pool back: a single writer can
// hold SQLite's lock for long stretches, and these limits make sure the
// cap is spent by several workers, not by whoever got the lock first.
WorkerReport spend_until_refused(LeaseStore& store, Writer& writer, Holder& holder, int worker,
                                 unsigned seed, int64_t max_spend) {
  const CapRef cap = team_cap(SpendWindow::day, kContendedCap);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> worst(1'000, 20'000);
  WorkerReport report;
  int64_t spent = 0;
  for (int i = 0;; ++i) {
    if (spent >= max_spend) {
      int64_t rest = 0;
      {
        std::lock_guard lock(holder.mu);
        rest = std::exchange(holder.pool, 0);
      }
      if (auto r = store.give_back(cap, holder.id, rest); !r) report.error = r.error().message();
      return report;
    }
    const int64_t want = worst(rng);
    int64_t reserved = 0;
    {
      std::unique_lock lock(holder.mu);
      if (holder.pool < want) {
        lock.unlock();
        auto g = store.grant(cap, holder.id, 50'000, 1, kT0, kLongTtl);
        if (!g) {
          report.error = g.error().message();
          return report;
        }
        lock.lock();
        holder.pool += g->granted_nanos;
      }
      reserved = std::min(want, holder.pool);
      holder.pool -= reserved;
    }
    if (reserved == 0) return report;  // nothing in the pool, nothing granted: the cap is spent
    const int64_t cost = std::uniform_int_distribution<int64_t>(reserved / 2 + 1, reserved)(rng);
    auto w = writer.insert({.request_id = holder.id + "-" + std::to_string(worker) + "-" +
                                          std::to_string(i),
                            .cost_nanos = cost,
                            .holder = holder.id});
    if (!w) {
      report.error = w.error().message();
      return report;
    }
    ++report.rows;
    spent += cost;
    int64_t give = 0;
    {
      std::lock_guard lock(holder.mu);
      holder.pool += reserved - cost;
      if (i % 7 == 3) {
        give = holder.pool / 2;
        holder.pool -= give;
      }
    }
    if (give > 0) {
      if (auto r = store.give_back(cap, holder.id, give); !r) {
        report.error = r.error().message();
        return report;
      }
    }
  }
}

// Reads the figures until `done`, counting any moment where settled plus
// leased exceeded the cap.
struct CheckerReport {
  int checks = 0, violations = 0;
  std::string error;
};

template <typename Done>
CheckerReport check_invariant(LeaseStore& store, Done&& done) {
  const CapRef cap = team_cap(SpendWindow::day, kContendedCap);
  CheckerReport report;
  do {
    auto f = store.figures(cap, kT0);
    if (!f) {
      report.error = f.error().message();
      return report;
    }
    ++report.checks;
    if (f->settled_nanos + f->leased_nanos > cap.cap_nanos) ++report.violations;
  } while (!done());
  return report;
}

template <typename Backend>
void check_final_figures(Backend& backend) {
  auto store = must(backend.open());
  auto f = must(store->figures(team_cap(SpendWindow::day, kContendedCap), kT0));
  CHECK(f.settled_nanos <= kContendedCap);
  // Demand exceeded the cap, so the fleet spent (nearly) all of it.
  CHECK(f.settled_nanos >= kContendedCap * 97 / 100);
  CHECK(f.leased_nanos == 0);
}

TEMPLATE_TEST_CASE("settled plus leases never exceed the cap while holders contend for it",
                   "[budget][concurrency]", SqliteBackend, PgBackend) {
  TestType backend;
  constexpr int kHolders = 3, kThreadsPerHolder = 2;
  std::vector<std::unique_ptr<Holder>> holders;
  for (int h = 0; h < kHolders; ++h) {
    holders.push_back(std::make_unique<Holder>());
    holders.back()->id = "holder-" + std::to_string(h);
  }
  // Connections are opened here, on the test's thread, so a failure is an
  // assertion; each worker then uses its own pair.
  std::vector<std::unique_ptr<LeaseStore>> stores;
  std::vector<std::unique_ptr<Writer>> writers;
  for (int i = 0; i < kHolders * kThreadsPerHolder; ++i) {
    stores.push_back(must(backend.open()));
    writers.push_back(must(backend.writer()));
  }
  auto checker_store = must(backend.open());

  std::atomic<int> running{kHolders * kThreadsPerHolder};
  std::vector<WorkerReport> reports(stores.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < stores.size(); ++i) {
    threads.emplace_back([&, i] {
      // Six workers, a quarter of the cap each at most: four at least spend.
      reports[i] = spend_until_refused(*stores[i], *writers[i], *holders[i / kThreadsPerHolder],
                                       static_cast<int>(i), static_cast<unsigned>(1000 + i),
                                       kContendedCap / 4);
      --running;
    });
  }
  CheckerReport checker = check_invariant(*checker_store, [&] { return running.load() == 0; });
  for (auto& t : threads) t.join();

  int rows = 0;
  for (const auto& r : reports) {
    CHECK(r.error.empty());
    INFO(r.error);
    rows += r.rows;
  }
  CHECK(checker.error.empty());
  INFO(checker.error);
  CHECK(checker.violations == 0);
  CHECK(checker.checks > 0);
  CHECK(rows > 100);
  for (auto& h : holders) CHECK(h->pool == 0);
  check_final_figures(backend);
}

TEST_CASE("settled plus leases never exceed the cap while processes contend for a SQLite ledger",
          "[budget]") {
  SqliteBackend backend;
  must(backend.open());  // creates the schema before the children race to
  constexpr int kProcesses = 3;
  // The children start together: each waits for the parent to close the
  // pipe once all are forked.
  int start[2];
  REQUIRE(::pipe(start) == 0);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The child: its own connections, one holder, then _exit (no Catch,
      // no destructors of the parent's objects). Failures go to stderr.
      ::close(start[1]);
      char byte = 0;
      while (::read(start[0], &byte, 1) < 0 && errno == EINTR) {
      }
      int code = 0;
      {
        auto store = backend.open();
        auto writer = backend.writer();
        if (!store || !writer) {
          std::fprintf(stderr, "child %d: %s\n", p,
                       (store ? writer.error() : store.error()).message().c_str());
          ::_exit(1);
        }
        Holder holder;
        holder.id = "process-" + std::to_string(p);
        // 45 % of the cap each at most: the third must spend the rest.
        const WorkerReport r = spend_until_refused(**store, **writer, holder, 0,
                                                   static_cast<unsigned>(2000 + p),
                                                   kContendedCap * 45 / 100);
        if (!r.error.empty()) std::fprintf(stderr, "child %d: %s\n", p, r.error.c_str());
        if (!r.error.empty()) code = 1;
        if (holder.pool != 0) code = 2;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  ::close(start[0]);
  ::close(start[1]);  // go
  auto checker_store = must(backend.open());
  int exited = 0;
  std::vector<int> codes;
  CheckerReport checker = check_invariant(*checker_store, [&] {
    for (pid_t& pid : children) {
      int status = 0;
      if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) {
        codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        pid = 0;
        ++exited;
      }
    }
    return exited == kProcesses;
  });
  CHECK(checker.error.empty());
  INFO(checker.error);
  CHECK(checker.violations == 0);
  CHECK(checker.checks > 0);
  for (int code : codes) CHECK(code == 0);
  check_final_figures(backend);
  // All three spent: none could spend more than 45 % of the cap.
  auto db = must(sql::Db::open(backend.path, sql::Db::Mode::read_only, 30'000));
  CHECK(must(db.query_int("SELECT count(*) FROM attempts")) > 100);
  CHECK(must(db.query_int("SELECT count(DISTINCT holder) FROM attempts")) == kProcesses);
}

// --- PostgreSQL only ---

TEST_CASE("a row inserted while a grant registers its cap is counted exactly once", "[budget]") {
  PgBackend backend;
  auto store = must(backend.open());
  auto writer_base = must(backend.writer());
  auto& writer = static_cast<PgWriter&>(*writer_base);
  auto observer = must(pg::Conn::connect(backend.conninfo, {}));
  const CapRef cap = team_cap(SpendWindow::day, 1'000'000);

  // The row's transaction is open (its cost invisible to others) when the
  // grant registers the cap and backfills it.
  must(writer.conn().begin("the row's transaction"));
  must(writer.insert({.request_id = "racing", .cost_nanos = 4'000}));
  Result<LeaseGrant> granted = Error(ErrorCategory::internal, "not run");
  std::thread grant([&] { granted = store->grant(cap, "A", 1'000, 0, kT0, kLongTtl); });
  // The grant waits on the cap's lock, which the row's trigger holds.
  CHECK(testing::eventually([&] {
    auto rows = observer.run("watching", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                         "AND NOT granted");
    return rows && rows->integer(0, 0) == 1;
  }));
  must(writer.conn().commit("committing the row"));
  grant.join();
  REQUIRE(granted.ok());
  CHECK(granted->settled_nanos == 4'000);
  CHECK(must(store->figures(cap, kT0)).settled_nanos == 4'000);
}

TEST_CASE("a PostgreSQL restart fails calls with a ledger error, then the same store works again",
          "[budget]") {
  testing::PgServer server;  // its own: this test stops it
  auto store = must(PgLeaseStore::open(server.conninfo()));
  const CapRef cap = team_cap(SpendWindow::day, 1'000'000);
  CHECK(must(store->grant(cap, "A", 100'000, 0, kT0, kLongTtl)).granted_nanos == 100'000);

  // A restart between two calls goes unnoticed: the dropped connection is
  // re-opened by the next transaction's first statement.
  server.stop();
  server.start();
  CHECK(must(store->grant(cap, "A", 100'000, 0, kT0, kLongTtl)).granted_nanos == 100'000);
  CHECK(must(store->figures(cap, kT0)).leased_nanos == 200'000);

  // While the server is down every call fails at once with a ledger error
  // saying what to check.
  server.stop();
  const auto started = std::chrono::steady_clock::now();
  auto g = store->grant(cap, "A", 100'000, 0, kT0, kLongTtl);
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().category() == ErrorCategory::ledger);
  CHECK_THAT(g.error().message(), Catch::Contains("PostgreSQL") &&
                                      Catch::Contains("check that the PostgreSQL server is running"));
  auto f = store->figures(cap, kT0);
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().category() == ErrorCategory::ledger);
  CHECK_FALSE(store->give_back(cap, "A", 1).ok());
  CHECK_FALSE(store->renew("A", kT0, kLongTtl).ok());
  CHECK_FALSE(store->release_all("A").ok());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));

  server.start();
  auto back = must(store->figures(cap, kT0));
  CHECK(back.leased_nanos == 200'000);
  CHECK(must(store->grant(cap, "B", 0, 100'000, kT0, kLongTtl)).granted_nanos == 100'000);
}

TEST_CASE("a PostgreSQL connection string's password never appears in a message", "[budget]") {
  using pg::redact_conninfo;
  CHECK(redact_conninfo("postgresql://ann:s3cret@db.internal:5432/ledger?sslmode=require") ==
        "postgresql://ann:***@db.internal:5432/ledger?sslmode=require");
  CHECK(redact_conninfo("postgres://ann@db/ledger?password=s3cret&sslmode=verify-full") ==
        "postgres://ann@db/ledger?password=***&sslmode=verify-full");
  CHECK(redact_conninfo("postgresql://db.internal/ledger") == "postgresql://db.internal/ledger");
  CHECK(redact_conninfo("host=db user=ann password=s3cret dbname=ledger") ==
        "host=db user=ann password=*** dbname=ledger");
  CHECK(redact_conninfo("host=db password = 'my s3cret' dbname=ledger") ==
        "host=db password=*** dbname=ledger");
  CHECK(redact_conninfo("host=db password='a b\\' c' port=5") == "host=db password=*** port=5");

  // Connecting to a server that is not there: the message names where, and
  // masks the password.
  TempDir nowhere;
  auto r = PgLeaseStore::open("postgresql://ann:s3cretpw@/ledger?host=" + nowhere.path().string() +
                              "&port=5999");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().category() == ErrorCategory::ledger);
  CHECK_THAT(r.error().message(), Catch::Contains("postgresql://ann:***@/ledger") &&
                                      !Catch::Contains("s3cretpw"));
  auto bad = PgLeaseStore::open("host=db port");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), Catch::Contains("does not parse"));
}

TEST_CASE("a malformed cap or holder is refused as the caller's bug", "[budget]") {
  SqliteBackend backend;
  auto store = must(backend.open());
  CapRef cap = team_cap(SpendWindow::day, 1'000);
  auto no_holder = store->grant(cap, "", 1, 0, kT0, kLongTtl);
  REQUIRE_FALSE(no_holder.ok());
  CHECK(no_holder.error().category() == ErrorCategory::internal);
  CapRef route_with_team = CapRef::at(CapScope::route, "support", "classify", SpendWindow::day, 1'000, kT0);
  CHECK_FALSE(store->grant(route_with_team, "A", 1, 0, kT0, kLongTtl).ok());
  cap.cap_nanos = 0;
  CHECK_FALSE(store->grant(cap, "A", 1, 0, kT0, kLongTtl).ok());
  CHECK_FALSE(store->grant(team_cap(SpendWindow::day, 1'000), "A", 1, 0, kT0, 0).ok());
}

}  // namespace
}  // namespace tollgate::engine
