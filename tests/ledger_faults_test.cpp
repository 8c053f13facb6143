// The ledger under faults: SIGKILL under load, a full disk, a read-only
// file, a lock held by another process, the file deleted under it.
//
// Crash tests run the writer in a child process: this test binary re-executed
// with TOLLGATE_LEDGER_CHILD set, which a static hook below catches before
// Catch2's main. The child reports every acknowledged row id through a pipe.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/ledger/ledger.hpp"
#include "ledger_test_util.hpp"
#include "test_support.hpp"

extern char** environ;

using namespace tollgate;
using namespace tollgate::engine;
using tollgate::testing::ErrorLog;
using tollgate::testing::make_row;
using tollgate::testing::RawDb;
using tollgate::testing::TempDir;

namespace {

constexpr int64_t kT0 = 1'778'000'000'000;
constexpr const char* kChildEnv = "TOLLGATE_LEDGER_CHILD";  // "<mode>:<fd>:<path>"

// A row of about 1 KiB: a few dozen fill the 40-page quota the full-disk
// tests give the file.
LedgerRow big_row(const std::string& id) {
  LedgerRow row = make_row(id, kT0, Money{1});
  row.error_message = std::string(1000, 'e');
  return row;
}

bool write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Child "sync" / "async": append rows from 8 threads forever, writing each
// acknowledged id (an int64) to fd. Killed by the parent.
int child_writer(const std::string& path, int fd, bool sync) {
  LedgerOptions options;
  options.durability = sync ? Durability::sync : Durability::async;
  options.batch_max_delay = std::chrono::microseconds(500);
  auto ledger = Ledger::open(path, options);
  if (!ledger.ok()) return 2;
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = 0;; ++i) {
        const int64_t id = t * 1'000'000'000 + i;
        LedgerRow row = make_row(std::to_string(id), kT0, Money{7});
        row.error_message = std::string(200, 'x');  // bigger rows: more pages per commit
        if (!(*ledger)->append(std::move(row)).ok()) continue;
        if (!write_all(fd, &id, sizeof id)) return;
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}

// Child "readonly": drop root if we are root (root writes any file), then
// try to open; report the error message through fd.
int child_readonly(const std::string& path, int fd) {
  if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 3;
  auto ledger = Ledger::open(path);
  const std::string msg = ledger.ok() ? std::string("opened") : ledger.error().what();
  return write_all(fd, msg.data(), msg.size()) ? 0 : 4;
}

// Runs before main in the re-executed child.
const bool kChildHook = [] {
  const char* spec = std::getenv(kChildEnv);
  if (!spec) return false;
  const std::string s(spec);
  const size_t a = s.find(':'), b = s.find(':', a + 1);
  const std::string mode = s.substr(0, a);
  const int fd = std::atoi(s.substr(a + 1, b - a - 1).c_str());
  const std::string path = s.substr(b + 1);
  int rc = 1;
  if (mode == "sync" || mode == "async") rc = child_writer(path, fd, mode == "sync");
  if (mode == "readonly") rc = child_readonly(path, fd);
  std::_Exit(rc);
}();

struct Child {
  pid_t pid = -1;
  int read_fd = -1;
};

// Starts this binary as a child in `mode`; its reports arrive on read_fd.
Child spawn_child(const std::string& mode, const std::string& path) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string env = std::string(kChildEnv) + "=" + mode + ":" + std::to_string(fds[1]) +
                          ":" + path;
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(const_cast<char*>(env.c_str()));
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char* argv[] = {self, nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  Child child;
  const int rc = posix_spawn(&child.pid, "/proc/self/exe", &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);  // the child holds the write end now; EOF once it dies
  REQUIRE(rc == 0);
  child.read_fd = fds[0];
  return child;
}

// Reads whole int64 ids until `stop_after` have arrived or EOF.
void read_ids(int fd, std::vector<int64_t>& ids, size_t stop_after, std::string& partial) {
  char buf[4096];
  while (ids.size() < stop_after) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    partial.append(buf, static_cast<size_t>(n));
    size_t used = 0;
    for (; partial.size() - used >= sizeof(int64_t); used += sizeof(int64_t)) {
      int64_t id;
      std::memcpy(&id, partial.data() + used, sizeof id);
      ids.push_back(id);
    }
    partial.erase(0, used);
  }
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string read_text(int fd) {
  std::string out;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("after SIGKILL under load every acknowledged sync row is in an intact ledger") {
  TempDir dir;
  const auto path = dir.file("crash.db");
  for (int round = 0; round < 3; ++round) {  // each round kills at a different moment
    Child child = spawn_child("sync", path);
    std::vector<int64_t> acked;
    std::string partial;
    read_ids(child.read_fd, acked, 1500 * static_cast<size_t>(round + 1), partial);
    ::kill(child.pid, SIGKILL);
    const int status = wait_child(child.pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    read_ids(child.read_fd, acked, SIZE_MAX, partial);  // what was sent before it died
    ::close(child.read_fd);
    REQUIRE(acked.size() >= 1500);

    RawDb db(path);
    CHECK(db.text("PRAGMA integrity_check") == "ok");
    std::set<std::string> stored;
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db.handle(), "SELECT request_id FROM attempts", -1, &s, nullptr) ==
            SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
      stored.insert(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    sqlite3_finalize(s);
    size_t missing = 0;
    for (int64_t id : acked) missing += stored.count(std::to_string(id)) == 0;
    CHECK(missing == 0);
    INFO("round " << round << ": " << acked.size() << " acknowledged, " << stored.size()
                  << " stored");
    CHECK(stored.size() >= acked.size());
  }
  // The ledger opens and writes again after the crashes.
  auto ledger = Ledger::open(path);
  REQUIRE(ledger.ok());
  CHECK((*ledger)->append(make_row("after-crash", kT0, Money{1})).ok());
}

TEST_CASE("after SIGKILL an async ledger is intact and reopens") {
  TempDir dir;
  const auto path = dir.file("crash-async.db");
  Child child = spawn_child("async", path);
  std::vector<int64_t> acked;
  std::string partial;
  read_ids(child.read_fd, acked, 5000, partial);
  ::kill(child.pid, SIGKILL);
  wait_child(child.pid);
  ::close(child.read_fd);
  REQUIRE(acked.size() >= 5000);
  RawDb db(path);
  CHECK(db.text("PRAGMA integrity_check") == "ok");
  auto ledger = Ledger::open(path);
  REQUIRE(ledger.ok());
  CHECK((*ledger)->append(make_row("after-crash", kT0, Money{1})).ok());
}

TEST_CASE("a full disk fails appends with a clear error and corrupts nothing") {
  TempDir dir;
  const auto path = dir.file("full.db");
  std::atomic<int> reported{0};
  LedgerOptions options;
  options.max_db_pages = 40;  // ~160 KiB: a full disk, reproducibly
  options.on_error = [&](const Error&) { ++reported; };
  options.retry_interval = std::chrono::hours(1);  // held rows stay held while this test looks
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  int acked = 0;
  std::optional<Error> failure;
  for (int i = 0; i < 10'000 && !failure; ++i) {
    auto r = (*ledger)->append(big_row("f" + std::to_string(i)));
    if (r.ok()) {
      ++acked;
    } else {
      failure = r.error();
    }
  }
  REQUIRE(failure.has_value());
  CHECK(failure->category() == ErrorCategory::ledger);
  CHECK_THAT(failure->message(), Catch::Contains("full") && Catch::Contains("free space") &&
                                     Catch::Contains("the row is kept in memory"));
  CHECK(reported >= 1);
  CHECK_FALSE((*ledger)->health().ok());
  // It keeps failing cleanly; nothing crashes, nothing half-written.
  CHECK_FALSE((*ledger)->append(big_row("more")).ok());
  const LedgerStats stats = (*ledger)->stats();
  CHECK(stats.rows_committed == acked);
  CHECK(stats.rows_held == 2);  // the refused rows wait for room, not lost
  CHECK(stats.rows_failed == 0);
  RawDb db(path);
  CHECK(db.text("PRAGMA integrity_check") == "ok");
  CHECK(db.integer("SELECT count(*) FROM attempts") == acked);
}

TEST_CASE("rows a full disk refused are written once there is room again", "[concurrency]") {
  TempDir dir;
  const auto path = dir.file("refilled.db");
  LedgerOptions options;
  options.durability = Durability::async;
  options.max_db_pages = 40;
  options.batch_max_rows = 16;
  options.retry_interval = std::chrono::milliseconds(20);
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  // Fill the file with rows an operator can spare, until it refuses more.
  int old_rows = 0;
  while ((*ledger)->flush().ok() && old_rows < 10'000) (void)(*ledger)->append(big_row("old" + std::to_string(old_rows++)));
  REQUIRE_FALSE((*ledger)->health().ok());
  // The spend that arrives while the disk is full.
  for (int i = 0; i < 50; ++i) (void)(*ledger)->append(big_row("new" + std::to_string(i)));
  CHECK_FALSE((*ledger)->flush().ok());
  CHECK((*ledger)->stats().rows_held >= 50);
  // Room comes back: another process deletes old rows (their pages are
  // reused; the quota stays).
  RawDb other(path);
  other.exec("PRAGMA busy_timeout = 60000");  // the writer retries in between
  REQUIRE(other.exec("DELETE FROM attempts WHERE request_id LIKE 'old%'") == SQLITE_OK);
  CHECK(tollgate::testing::eventually([&] { return (*ledger)->stats().rows_held == 0; }));
  CHECK((*ledger)->health().ok());
  CHECK((*ledger)->stats().rows_failed == 0);
  CHECK(other.integer("SELECT count(*) FROM attempts WHERE request_id LIKE 'new%'") == 50);
  CHECK(other.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("held rows past their bound, or still refused at close, are counted as lost", "[concurrency]") {
  TempDir dir;
  const auto path = dir.file("lost.db");
  ErrorLog errors;
  {
    LedgerOptions options;
    options.busy_timeout_ms = 20;
    options.held_max_rows = 3;
    options.retry_interval = std::chrono::hours(1);
    options.on_error = errors.handler();
    auto ledger = Ledger::open(path, options);
    REQUIRE(ledger.ok());
    RawDb other(path);
    REQUIRE(other.exec("BEGIN IMMEDIATE") == SQLITE_OK);  // the lock stays held until the end
    for (int i = 0; i < 3; ++i) CHECK_FALSE((*ledger)->append(make_row("r" + std::to_string(i), kT0, Money{1})).ok());
    auto over = (*ledger)->append(make_row("r3", kT0, Money{1}));
    REQUIRE_FALSE(over.ok());
    CHECK_THAT(over.error().message(), Catch::Contains("3 earlier rows already wait in memory") &&
                                           Catch::Contains("this one is lost"));
    const LedgerStats stats = (*ledger)->stats();
    CHECK(stats.rows_held == 3);
    CHECK(stats.rows_failed == 1);
    ledger->reset();  // closes while the lock is still held
    REQUIRE(other.exec("ROLLBACK") == SQLITE_OK);
  }
  const std::vector<std::string> reported = errors.messages();
  REQUIRE_FALSE(reported.empty());
  CHECK_THAT(reported.back(), Catch::Contains("the ledger closed with 3 rows it could not write"));
}

TEST_CASE("a stalled disk never blocks append_async, and every row lands once it ends", "[concurrency]") {
  TempDir dir;
  const auto path = dir.file("stalled.db");
  LedgerOptions options;  // sync: a row's callback runs once it is committed
  options.batch_max_rows = 4;
  options.queue_max_rows = 8;
  options.overflow_max_rows = 16;
  options.busy_timeout_ms = 600'000;  // a slow disk, not a failing one: the writer waits it out
  std::atomic<int> committed{0}, refused{0};
  auto count = [&](const Result<void>& r) { ++(r.ok() ? committed : refused); };
  std::promise<Result<void>> score;  // outlives the ledger, which answers it
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  Ledger& l = **ledger;
  RawDb other(path);
  REQUIRE(other.exec("BEGIN IMMEDIATE") == SQLITE_OK);  // the stall: no commit gets through
  // The writer takes a first batch and waits for the lock.
  l.append_async(make_row("first", kT0, Money{1}), count);
  REQUIRE(tollgate::testing::eventually([&] { return l.stats().queued == 0; }));
  // An I/O thread, serving requests: their rows fill the queue and its
  // overflow, and a client sends a score. Nothing of it may wait.
  auto io = std::async(std::launch::async, [&] {
    for (int i = 0; i < 24; ++i) l.append_async(make_row("r" + std::to_string(i), kT0, Money{1}), count);
    l.record_quality_async("first", 1.0, "thumbs", "", [&](Result<void> r) { score.set_value(std::move(r)); });
  });
  const bool returned = io.wait_for(std::chrono::minutes(1)) == std::future_status::ready;
  if (!returned) other.exec("ROLLBACK");  // free a blocked thread, so the test fails instead of hanging
  REQUIRE(returned);
  auto scored = score.get_future();
  REQUIRE(scored.wait_for(std::chrono::seconds(0)) == std::future_status::ready);  // answered at once
  const Result<void> refused_score = scored.get();
  REQUIRE_FALSE(refused_score.ok());
  CHECK(refused_score.error().category() == ErrorCategory::ledger);
  CHECK_THAT(refused_score.error().message(),
             Catch::Contains("write queue is full") && Catch::Contains("send it again"));
  CHECK(l.stats().queued == 24);
  // New requests are refused while the queue is full (on_ledger_error = "deny").
  const Result<void> health = l.health();
  REQUIRE_FALSE(health.ok());
  CHECK(health.error().category() == ErrorCategory::ledger);
  CHECK_THAT(health.error().message(), Catch::Contains("write queue is full") && Catch::Contains(path));
  CHECK(committed == 0);
  CHECK(refused == 0);

  REQUIRE(other.exec("ROLLBACK") == SQLITE_OK);  // the disk catches up
  REQUIRE(tollgate::testing::eventually([&] { return committed == 25; }));
  CHECK(refused == 0);
  CHECK(other.integer("SELECT count(*) FROM attempts") == 25);
  CHECK(l.stats().rows_failed == 0);
  CHECK(l.health().ok());
}

TEST_CASE("a row past a stalled ledger's overflow is refused at once, counted and reported", "[concurrency]") {
  TempDir dir;
  const auto path = dir.file("overflow.db");
  ErrorLog errors;
  LedgerOptions options;
  options.durability = Durability::async;
  options.batch_max_rows = 4;
  options.queue_max_rows = 4;
  options.overflow_max_rows = 4;
  options.busy_timeout_ms = 600'000;
  options.on_error = errors.handler();
  std::vector<Result<void>> lost;  // outlives the ledger, which may answer into it
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  Ledger& l = **ledger;
  RawDb other(path);
  REQUIRE(other.exec("BEGIN IMMEDIATE") == SQLITE_OK);
  REQUIRE(l.append(make_row("first", kT0, Money{1})).ok());
  REQUIRE(tollgate::testing::eventually([&] { return l.stats().queued == 0; }));
  for (int i = 0; i < 8; ++i) l.append_async(make_row("r" + std::to_string(i), kT0, Money{1}), [](const Result<void>&) {});
  for (int i = 0; i < 2; ++i)
    l.append_async(make_row("lost" + std::to_string(i), kT0, Money{1}), [&](Result<void> r) { lost.push_back(std::move(r)); });
  REQUIRE(lost.size() == 2);  // refused on this thread, before append_async returned
  for (const Result<void>& r : lost) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().category() == ErrorCategory::ledger);
    CHECK_THAT(r.error().message(), Catch::Contains("overflow of 4 rows") && Catch::Contains("this row is lost"));
  }
  CHECK(l.stats().rows_failed == 2);
  REQUIRE(other.exec("ROLLBACK") == SQLITE_OK);
  REQUIRE(l.flush().ok());
  CHECK(other.integer("SELECT count(*) FROM attempts") == 9);
  CHECK(other.integer("SELECT count(*) FROM attempts WHERE request_id LIKE 'lost%'") == 0);
  const std::vector<std::string> reported = errors.messages();
  REQUIRE(reported.size() == 1);
  CHECK_THAT(reported[0], Catch::Contains("2 rows were lost") && Catch::Contains("overflow of 4 rows"));
}

TEST_CASE("a batch that hits a full disk mid-way is undone as a whole") {
  TempDir dir;
  const auto path = dir.file("full-async.db");
  LedgerOptions options;
  options.durability = Durability::async;
  options.max_db_pages = 40;
  options.batch_max_rows = 64;
  options.retry_interval = std::chrono::hours(1);  // held rows stay held while this test looks
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  for (int i = 0; i < 2000; ++i) {
    (void)(*ledger)->append(big_row("a" + std::to_string(i)));  // async: failures surface on flush
  }
  auto flushed = (*ledger)->flush();
  REQUIRE_FALSE(flushed.ok());
  CHECK(flushed.error().category() == ErrorCategory::ledger);
  const LedgerStats stats = (*ledger)->stats();
  CHECK(stats.rows_held > 0);
  CHECK(stats.rows_committed + stats.rows_held == 2000);
  RawDb db(path);
  CHECK(db.text("PRAGMA integrity_check") == "ok");
  CHECK(db.integer("SELECT count(*) FROM attempts") == stats.rows_committed);
  // A smaller batch may still fit; fill up row by row until one does not.
  bool failed = false;
  for (int i = 0; i < 1000 && !failed; ++i) {
    (void)(*ledger)->append(big_row("b" + std::to_string(i)));
    failed = !(*ledger)->flush().ok();
  }
  REQUIRE(failed);
  // Async appends learn of the failure too, so on_ledger_error = "deny" can act.
  CHECK_FALSE((*ledger)->health().ok());
  CHECK_FALSE((*ledger)->append(make_row("late", kT0, Money{1})).ok());
}

TEST_CASE("a read-only ledger file is refused with what to do about it") {
  TempDir dir;
  const auto path = dir.file("ro.db");
  {
    auto ledger = Ledger::open(path);
    REQUIRE(ledger.ok());
  }
  REQUIRE(::chmod(path.c_str(), 0444) == 0);
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // the unprivileged child must reach it
  Child child = spawn_child("readonly", path);
  const std::string message = read_text(child.read_fd);
  ::close(child.read_fd);
  const int status = wait_child(child.pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(message, Catch::StartsWith("ledger: ") && Catch::Contains("read-only") &&
                          Catch::Contains("make the file and its directory writable"));
}

TEST_CASE("a lock held by another process fails the batch clearly, the ledger recovers") {
  TempDir dir;
  const auto path = dir.file("locked.db");
  LedgerOptions options;
  options.busy_timeout_ms = 50;
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  REQUIRE((*ledger)->append(make_row("before", kT0, Money{1})).ok());
  RawDb other(path);
  REQUIRE(other.exec("BEGIN IMMEDIATE") == SQLITE_OK);
  auto locked = (*ledger)->append(make_row("during", kT0, Money{1}));
  REQUIRE_FALSE(locked.ok());
  CHECK(locked.error().category() == ErrorCategory::ledger);
  CHECK_THAT(locked.error().message(), Catch::Contains("locked") &&
                                           Catch::Contains("another process holds the database lock"));
  CHECK_FALSE((*ledger)->health().ok());
  REQUIRE(other.exec("COMMIT") == SQLITE_OK);
  CHECK((*ledger)->append(make_row("after", kT0, Money{1})).ok());
  CHECK((*ledger)->health().ok());
  // The row the lock refused was kept, and is written now the lock is gone.
  CHECK(tollgate::testing::eventually([&] { return other.integer("SELECT count(*) FROM attempts") == 3; }));
  CHECK((*ledger)->stats().rows_held == 0);
}

TEST_CASE("a ledger file deleted while open fails the next batch instead of writing nowhere") {
  TempDir dir;
  const auto path = dir.file("gone.db");
  auto ledger = Ledger::open(path);
  REQUIRE(ledger.ok());
  REQUIRE((*ledger)->append(make_row("kept", kT0, Money{1})).ok());
  std::filesystem::remove(path);
  auto r = (*ledger)->append(make_row("lost", kT0, Money{1}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().category() == ErrorCategory::ledger);
  CHECK_THAT(r.error().message(), Catch::Contains("was deleted or replaced"));
}
