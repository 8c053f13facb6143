// Shared caps across processes: three processes, each its own engine with
// 67 client threads (200 in all), spend one team's day cap through one
// SQLite ledger file, against a mock whose answers cost their worst case and
// which fails 10 % of calls. While they run, the parent reads the store: at
// every moment settled + leased <= cap. Afterwards: spent <= cap, spent >=
// 97 % of it, nothing leased or reserved. Once more with one process
// SIGKILLed midway: its lease comes back after the TTL and the others spend
// it.
//
// The children fork before any thread exists (the parent starts the mock
// after), get the mock's port through a pipe, and leave with _exit: a
// child's status is its verdict (0 = every request ended as it should).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "request_support.hpp"

using namespace tollgate;
using namespace tollgate::testing;

namespace {

constexpr int kProcesses = 3;
constexpr int kClientsPerProcess = 67;
constexpr int64_t kCapNanos = 20'000'000;  // $0.02 a day
constexpr int64_t kLeaseTtlMs = 2'000;
// A client stops once every request it made for this long was denied:
// longer than a lease's TTL, so a killed process's lease has come back.
constexpr auto kQuietStop = std::chrono::milliseconds(3 * kLeaseTtlMs);

const char* kPolicy = R"(
team "fleet" { daily_usd = 0.02, on_exceed = "deny" }
route "default" { try = { "gpt-4o-mini" } }
)";

// Exit statuses of a child.
enum ChildStatus { kOk = 0, kNoPort = 2, kEngine = 3, kUnexpected = 4, kLeftReserved = 5 };

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe(fds) == 0); }
};

// One process of the fleet: reads the mock's port, serves its clients until
// the cap is spent, writes its lease holder id first so the parent can find
// its rows.
[[noreturn]] void run_child(int port_fd, int holder_fd, const std::string& policy, const std::string& ledger) {
  uint16_t port = 0;
  if (::read(port_fd, &port, sizeof port) != static_cast<ssize_t>(sizeof port)) ::_exit(kNoPort);
  Options opts;
  opts.policy_paths = {policy};
  opts.ledger_path = ledger;
  opts.shared_caps = true;
  opts.lease_ttl_ms = kLeaseTtlMs;
  opts.cache_bytes = 0;
  opts.threads = 2;
  opts.retry.base_backoff_ms = 1;
  opts.retry.max_backoff_ms = 5;
  opts.base_url_overrides["*"] = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  auto created = Engine::create(opts);
  if (!created.ok()) ::_exit(kEngine);
  auto* engine = static_cast<engine::EngineImpl*>(created->get());
  const std::string holder = engine->core().leases->holder();
  (void)!::write(holder_fd, holder.c_str(), holder.size() + 1);

  std::atomic<bool> unexpected{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClientsPerProcess; ++c) {
    clients.emplace_back([&, c] {
      auto last_answer = std::chrono::steady_clock::now();
      for (int n = 0;; ++n) {
        Request r = chat("fleet", "fleet request " + std::to_string(c) + "-" + std::to_string(n));
        r.max_tokens = 100 * (1 + (c + n) % 3);  // mixed worst cases
        auto res = engine->complete(r);
        if (res.ok()) {
          last_answer = std::chrono::steady_clock::now();
          continue;
        }
        const auto cat = res.error().category();
        // A failing upstream may also open its circuit breaker (unavailable).
        if (cat != ErrorCategory::budget && cat != ErrorCategory::provider && cat != ErrorCategory::unavailable &&
            !unexpected.exchange(true)) {
          std::fprintf(stderr, "fleet child %d: unexpected %s\n", static_cast<int>(::getpid()), res.error().what());
        }
        if (cat == ErrorCategory::budget && std::chrono::steady_clock::now() - last_answer > kQuietStop) return;
      }
    });
  }
  for (auto& t : clients) t.join();
  bool reserved = false;
  for (const SpendView& s : engine->spend_all()) reserved = reserved || s.reserved.nanos != 0;
  created->reset();  // a clean stop: rows committed, leases given back
  ::_exit(unexpected ? kUnexpected : reserved ? kLeftReserved : kOk);
}

struct FleetRun {
  int64_t spent = 0;           // committed spend of the team
  int64_t worst_moment = 0;    // the largest settled + leased the parent saw
  int64_t live_leases_after = -1;
  std::vector<int> statuses;   // per child: its exit status, or -signal
};

FleetRun run_fleet(bool kill_one) {
  TempDir dir;
  const std::string policy = dir.write("policy.lua", kPolicy);
  const std::string ledger = dir.file("ledger.db");
  std::vector<Pipe> ports(kProcesses), holders(kProcesses);
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcesses; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) run_child(ports[i].fds[0], holders[i].fds[1], policy, ledger);
    pids.push_back(pid);
  }
  // Threads only now, in the parent.
  adapters::MockServerOptions mo;
  mo.threads = 2;
  // Long answers: every request runs to its max_tokens, so its real cost is
  // its worst case less the prompt's estimate error.
  mo.default_behavior.reply = std::string(2000, 'x');
  for (int i = 0; i < 400; ++i) mo.default_behavior.reply[static_cast<size_t>(i) * 5] = ' ';
  mo.default_behavior.fault_rate = 0.10;
  mo.default_behavior.random_faults = {adapters::MockFault::server_error, adapters::MockFault::rate_limit,
                                       adapters::MockFault::unavailable};
  mo.default_behavior.retry_after = std::chrono::seconds(0);
  auto mock = adapters::MockServer::start(mo);
  REQUIRE(mock);
  const uint16_t port = (*mock)->port();
  for (int i = 0; i < kProcesses; ++i) REQUIRE(::write(ports[i].fds[1], &port, sizeof port) == sizeof port);
  std::vector<std::string> holder_ids(kProcesses);
  for (int i = 0; i < kProcesses; ++i) {
    char buf[128] = {};
    REQUIRE(::read(holders[i].fds[0], buf, sizeof buf - 1) > 0);
    holder_ids[static_cast<size_t>(i)] = buf;
  }

  FleetRun run;
  auto ledger_int = [&](const std::string& sql) {
    sqlite3* db = nullptr;
    int64_t v = -1;
    if (sqlite3_open_v2(ledger.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db, 5000);
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
  };
  // settled + live leases of the cap, read in one statement (one snapshot).
  const std::string moment =
      "SELECT (SELECT coalesce(sum(settled_nanos), 0) FROM cap_spend WHERE scope = 'team' AND name = 'fleet') + "
      "(SELECT coalesce(sum(amount_nanos), 0) FROM cap_leases WHERE scope = 'team' AND name = 'fleet' "
      "AND cap_window = 'day' AND expires_ms >= CAST(strftime('%s', 'now') AS INTEGER) * 1000)";

  std::atomic<int> running{kProcesses};
  std::thread watcher([&] {
    // Reads the store while the children spend; stops once they are all gone.
    while (running.load() > 0) run.worst_moment = std::max(run.worst_moment, ledger_int(moment));
  });
  if (kill_one) {
    // Midway: once the victim has answered requests and holds a lease, which
    // dies with it (the others spend it only once its TTL has passed).
    const std::string victim_rows =
        "SELECT count(*) FROM attempts WHERE status = 'ok' AND holder = '" + holder_ids[0] + "'";
    const std::string victim_lease = "SELECT coalesce(sum(amount_nanos), 0) FROM cap_leases WHERE holder = '" +
                                     holder_ids[0] + "'";
    CHECK(eventually([&] { return ledger_int(victim_rows) >= 3 && ledger_int(victim_lease) > 0; }));
    ::kill(pids[0], SIGKILL);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    run.statuses.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    --running;
  }
  watcher.join();
  run.spent = ledger_int("SELECT coalesce(sum(cost_nanos), 0) FROM attempts WHERE team = 'fleet'");
  if (const char* keep = std::getenv("TOLLGATE_FLEET_KEEP")) {
    std::filesystem::copy_file(ledger, keep, std::filesystem::copy_options::overwrite_existing);
  }
  run.live_leases_after = ledger_int(
      "SELECT coalesce(sum(amount_nanos), 0) FROM cap_leases WHERE expires_ms >= "
      "CAST(strftime('%s', 'now') AS INTEGER) * 1000");
  return run;
}

void check_fleet(const FleetRun& run) {
  INFO("spent " << run.spent << " of " << kCapNanos << " nanos; worst moment " << run.worst_moment);
  CHECK(run.spent <= kCapNanos);
  CHECK(run.worst_moment <= kCapNanos);
  CHECK(run.spent * 100 >= kCapNanos * 97);
  CHECK(run.live_leases_after == 0);
}

}  // namespace

TEST_CASE("three processes on one ledger file hold a shared cap exactly, and spend 97 % of it", "[request][budget][fleet]") {
  const FleetRun run = run_fleet(/*kill_one=*/false);
  for (int s : run.statuses) CHECK(s == kOk);
  check_fleet(run);
}

TEST_CASE("a SIGKILLed process's lease comes back after its TTL and the others spend it", "[request][budget][fleet]") {
  const FleetRun run = run_fleet(/*kill_one=*/true);
  CHECK(run.statuses[0] == -SIGKILL);
  CHECK(run.statuses[1] == kOk);
  CHECK(run.statuses[2] == kOk);
  check_fleet(run);
}
