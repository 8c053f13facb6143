// Ledger and spend-cap throughput: rows settled per second with group
// commit, a cap check with reservation, and the rebuild at start.
// Figures and the machine they came from: bench/README.md.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/ledger/ledger.hpp"
#include "engine/budget/spend_gate.hpp"

using namespace tollgate;
using namespace tollgate::engine;

namespace {

constexpr int64_t kNow = 1'778'000'000'000;

std::string temp_ledger(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tollgate-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  return path.string();
}

LedgerRow row(int64_t i) {
  LedgerRow r;
  r.request_id = "req-" + std::to_string(i);
  r.time_ms = kNow;
  r.team = "support";
  r.user = "ann";
  r.tags_json = R"({"task":"classify"})";
  r.task = "classify";
  r.route = "classify";
  r.provider = "deepseek";
  r.model = "deepseek-v4-flash";
  r.input_tokens = 1200;
  r.cached_input_tokens = 200;
  r.output_tokens = 300;
  r.cost = Money::from_nanos(4200);
  r.latency_ms = 420;
  r.ttft_ms = 90;
  return r;
}

// Rows committed per second, async: appends queue, the writer commits in
// batches of batch_max_rows (the first argument). One iteration = 100,000
// rows and the flush that makes them durable. The second argument, 1: the
// ledger follows other processes' spend as an engine's does (two more
// reads per batch; there is no other process, so they find nothing).
void BM_LedgerAppendAsync(benchmark::State& state) {
  LedgerOptions options;
  options.durability = Durability::async;
  options.batch_max_rows = static_cast<size_t>(state.range(0));
  auto ledger = Ledger::open(temp_ledger("async.db"), options);
  if (!ledger.ok()) {
    state.SkipWithError(ledger.error().what());
    return;
  }
  if (state.range(1)) (*ledger)->follow_foreign_spend(0, [](const SpendKeys&, Money, int64_t) {});
  int64_t next = 0;
  constexpr int kRows = 100'000;
  for (auto _ : state) {
    for (int i = 0; i < kRows; ++i) (void)(*ledger)->append(row(next++));
    if (!(*ledger)->flush().ok()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_LedgerAppendAsync)
    ->Args({512, 0})
    ->Args({4096, 0})
    ->Args({16, 0})
    ->Args({16, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Rows committed per second in sync mode (each append waits for its fsynced
// commit) from 64 concurrent callers: group commit is what makes this
// anything but one fsync per row.
void BM_LedgerAppendSync(benchmark::State& state) {
  static std::unique_ptr<Ledger> ledger;
  if (state.thread_index() == 0) {
    auto opened = Ledger::open(temp_ledger("sync.db"));
    if (opened.ok()) ledger = std::move(*opened);
  }
  int64_t next = static_cast<int64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    if (!ledger || !ledger->append(row(next++)).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) ledger.reset();  // every thread has left the loop
}
BENCHMARK(BM_LedgerAppendSync)->Threads(64)->UseRealTime();

SpendGate& bench_gate() {
  static SpendGate gate;
  static bool configured = [] {
    dsl::PolicyDecls decls;
    dsl::TeamDecl team;
    team.name = "support";
    team.caps = {{"day", Money::from_usd(1e9).nanos}, {"month", Money::from_usd(1e9).nanos}};
    decls.teams = {team};
    for (int i = 0; i < 100; ++i) {  // other teams in the table, as in a real policy
      team.name = "team-" + std::to_string(i);
      decls.teams.push_back(team);
    }
    return gate.configure(decls).ok();
  }();
  (void)configured;
  return gate;
}

// One cap check with reservation and its settlement, uncontended: a team
// with a day and a month cap.
void BM_SpendReserveSettle(benchmark::State& state) {
  SpendGate& gate = bench_gate();
  const SpendKeys keys{"support", "ann", "classify", "deepseek"};
  for (auto _ : state) {
    auto r = gate.reserve(keys, Money::from_nanos(10'000), kNow);
    benchmark::DoNotOptimize(r.ok());
    r->settle(Money::from_nanos(7'000), kNow);
  }
}
BENCHMARK(BM_SpendReserveSettle);

// The same from 8 threads on one team: what contention on a team's counters costs.
BENCHMARK(BM_SpendReserveSettle)->Threads(8)->UseRealTime();

// A reservation released without settling (a failed request).
void BM_SpendReserveRelease(benchmark::State& state) {
  SpendGate& gate = bench_gate();
  const SpendKeys keys{"support", "ann", "classify", "deepseek"};
  for (auto _ : state) {
    auto r = gate.reserve(keys, Money::from_nanos(10'000), kNow);
    benchmark::DoNotOptimize(r.ok());
  }
}
BENCHMARK(BM_SpendReserveRelease);

// Start-up on a ledger of 1,000,000 rows spread over the last 7 days:
// Ledger::open (schema check, quality rebuild) plus rebuild_spend.
void BM_RebuildAtStart(benchmark::State& state) {
  const std::string path = temp_ledger("million.db");
  {
    // Fill once through SQLite directly: this measures the rebuild, not appends.
    auto ledger = Ledger::open(path);
    if (!ledger.ok()) {
      state.SkipWithError(ledger.error().what());
      return;
    }
  }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO attempts (request_id, attempt, ts_ms, team, user, task, route, "
                     "provider, model, status, cost_nanos, latency_ms) "
                     "VALUES (?1, 1, ?2, ?3, ?4, 'classify', ?5, ?6, ?7, ?8, ?9, ?10)",
                     -1, &ins, nullptr);
  const int64_t rows = state.range(0);
  const int64_t span = 7 * 86'400'000LL;
  for (int64_t i = 0; i < rows; ++i) {
    const std::string id = "r" + std::to_string(i);
    const std::string team = "team-" + std::to_string(i % 50);
    const std::string user = "user-" + std::to_string(i % 500);
    const std::string route = "route-" + std::to_string(i % 8);
    const std::string provider = "provider-" + std::to_string(i % 6);
    const std::string model = "model-" + std::to_string(i % 12);
    sqlite3_bind_text(ins, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 2, kNow - span + i * (span / rows));
    sqlite3_bind_text(ins, 3, team.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 4, user.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 5, route.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 6, provider.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 7, model.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 8, i % 20 == 0 ? "error" : "ok", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 9, i % 20 == 0 ? 0 : 4200);
    sqlite3_bind_int64(ins, 10, 100 + i % 900);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);

  dsl::PolicyDecls decls;
  for (int t = 0; t < 50; ++t) {
    dsl::TeamDecl team;
    team.name = "team-" + std::to_string(t);
    team.caps = {{"day", Money::from_usd(1000).nanos}, {"rolling_24h", Money::from_usd(1000).nanos}};
    decls.teams.push_back(team);
  }
  LedgerOptions options;
  options.clock = [] { return kNow; };
  for (auto _ : state) {
    SpendGate gate;
    (void)gate.configure(decls);
    auto ledger = Ledger::open(path, options);
    if (!ledger.ok() || !(*ledger)->rebuild_spend(gate, kNow).ok()) {
      state.SkipWithError("rebuild failed");
      break;
    }
    benchmark::DoNotOptimize(gate.snapshot("team-1", SpendWindow::month, kNow));
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_RebuildAtStart)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
