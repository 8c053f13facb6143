#include "engine/ledger/ledger.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "engine/ledger/batch_writer.hpp"
#include "engine/ledger/ledger_schema.hpp"
#include "engine/ledger/ledger_sqlite.hpp"
#include "engine/budget/spend_gate.hpp"
#include "engine/wall_clock.hpp"

namespace tollgate::engine {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How a caller of submit() waits.
enum class Wait : uint8_t {
  nothing,  // append_async, record_quality_async: an I/O thread may be the caller
  room,     // append() in async mode: for room in the queue
  commit,   // append() in sync mode, flush(), record_quality(): for room, then for the commit
};

// A caller blocked until the writer has dealt with its item.
struct Waiter {
  bool done = false;
  std::optional<Error> error;
};

struct Item {
  enum class Kind : uint8_t { row, score, barrier };
  Kind kind = Kind::row;
  LedgerRow row;                       // Kind::row
  std::string request_id, source;      // Kind::score
  std::string team;                    // Kind::score: only this team's requests (empty: any)
  double score = 0;
  int64_t time_ms = 0;
  Waiter* waiter = nullptr;            // null: nobody waits (async rows)
  std::function<void(Result<void>)> on_done;  // append_async: called after the batch
  std::optional<Error> error;          // set by the writer
};

constexpr std::string_view kInsertAttempt = R"sql(
INSERT INTO attempts (request_id, attempt, ts_ms, team, user, tags, task, route, provider, model,
  status, input_tokens, cached_input_tokens, output_tokens, cost_nanos, saved_nanos, latency_ms,
  ttft_ms, error_category, error_message, holder)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
)sql";

// The attempt a score belongs to: the last one that answered, else the last.
constexpr std::string_view kFindAnswer = R"sql(
SELECT attempt, model, task, route, team FROM attempts WHERE request_id = ?1
ORDER BY status IN ('ok', 'cache_hit') DESC, attempt DESC LIMIT 1
)sql";

// Rows after a given one: another process's, when read where this one's
// cannot be (see read_foreign_spend).
constexpr std::string_view kRowsAfter = R"sql(
SELECT id, team, user, route, provider, ts_ms, cost_nanos FROM attempts WHERE id > ?1 ORDER BY id
)sql";

constexpr std::string_view kInsertScore = R"sql(
INSERT INTO quality (request_id, attempt, ts_ms, score, source, model, task, route)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
)sql";

// An error in this attempt counts against the model only when the model or
// its provider caused it; a caller's cancellation or our own ledger trouble
// says nothing about the model.
bool counts_against_model(std::string_view error_category) {
  return error_category != "cancelled" && error_category != "ledger" &&
         error_category != "budget" && error_category != "policy";
}

}  // namespace

struct Ledger::Impl final : BatchWriter<Item>::Sink {
  using Lock = BatchWriter<Item>::Lock;

  LedgerOptions options;
  std::string path;
  sql::Db db;                       // writer thread only, once started
  std::optional<sql::Stmt> insert_attempt, find_answer, insert_score, rows_after, last_row_id;
  QualityBoard quality;

  // The queue (queue_max_rows items, then append_async's overflow) and the
  // writer thread; its mutex, `mu`, guards what follows unless said otherwise.
  BatchWriter<Item> writer;
  std::mutex& mu = writer.mutex();
  std::condition_variable done_cv;   // callers: a batch finished
  size_t overflow_lost = 0;          // rows refused past the overflow, not yet reported
  std::optional<Error> first_error_since_flush;
  std::vector<Item> finished;        // writer thread only: items whose callbacks are due
  LedgerStats counters;
  uint64_t reused_ids = 0;  // writer thread only: suffixes given to reused request ids

  // Other processes' spend (Ledger::follow_foreign_spend). A new follower
  // waits in `follow` (guarded by mu) until the writer takes it over.
  struct Follow {
    int64_t after_id = 0;
    ForeignSpendFn on_spend;
  };
  std::optional<Follow> follow;
  ForeignSpendFn on_foreign_spend;  // writer thread only
  int64_t foreign_after = 0;        // writer thread only: the last row id seen

  std::atomic<bool> failing{false};
  std::optional<Error> failing_error;  // guarded by mu
  // Rows of failed batches, written again once the file takes them.
  std::deque<LedgerRow> held;  // guarded by mu
  SteadyClock::time_point next_retry;  // writer thread only
  std::optional<Error> batch_error;    // writer thread only: the last commit()'s failure

  // The file's identity when opened. SQLite keeps writing to a file that
  // was deleted or replaced under it, into an inode nobody will read again;
  // the writer checks before each batch and fails it instead.
  dev_t file_dev = 0;
  ino_t file_ino = 0;

  Impl(LedgerOptions o, std::string p, sql::Db d)
      : options(std::move(o)),
        path(std::move(p)),
        db(std::move(d)),
        quality(options.quality),
        writer({options.batch_max_rows, options.batch_max_delay}) {}

  int64_t now_ms() const { return options.clock ? options.clock() : unix_now_ms(); }

  Result<void> prepare();
  Result<void> rebuild_quality();
  Result<void> submit(Item item, Wait wait);
  std::optional<Error> refusal(const Item& item);
  std::string queue_full_message() const;
  void report_overflow_lost(Lock& lock);
  void keep_failed_row(Item& item);
  bool retry_held(Lock& lock);
  void give_up_held(Lock& lock);
  void commit(std::vector<Item>& batch);
  void fail_all(std::vector<Item>& batch, const Error& error);
  void report_failure(const Error& error, size_t rows_held);
  Result<void> check_file_identity() const;
  Result<void> write_row(Item& item);
  bool write_reused_id_row(Item& item);
  Result<void> write_score(Item& item);
  void read_foreign_spend();

  // The writer thread's side (BatchWriter<Item>::Sink).
  void write(std::vector<Item>& batch) override { commit(batch); }
  void written(std::vector<Item>& batch, Lock& lock) override;
  bool urgent(const Item& item) const override { return item.kind != Item::Kind::row; }  // scores, flushes
  bool own_work(Lock& lock) override;
  bool finish(Lock& lock) override;
  std::optional<std::chrono::milliseconds> idle_period() override;
  void idle(Lock& lock) override;
};

Result<void> Ledger::Impl::prepare() {
  auto a = db.prepare(kInsertAttempt);
  if (!a) return a.error();
  auto f = db.prepare(kFindAnswer);
  if (!f) return f.error();
  auto s = db.prepare(kInsertScore);
  if (!s) return s.error();
  auto after = db.prepare(kRowsAfter);
  if (!after) return after.error();
  auto last = db.prepare("SELECT coalesce(max(id), 0) FROM attempts");
  if (!last) return last.error();
  insert_attempt.emplace(std::move(*a));
  find_answer.emplace(std::move(*f));
  insert_score.emplace(std::move(*s));
  rows_after.emplace(std::move(*after));
  last_row_id.emplace(std::move(*last));
  return {};
}

Result<void> Ledger::Impl::rebuild_quality() {
  const int64_t now = now_ms();
  const int64_t since = now - options.quality.window_ms;
  auto attempts = db.prepare(
      "SELECT model, task, ts_ms, status, latency_ms, error_category FROM attempts "
      "WHERE ts_ms >= ?1 AND status IN ('ok', 'error')");
  if (!attempts) return attempts.error();
  attempts->bind(1, since);
  for (;;) {
    auto more = attempts->step();
    if (!more) return more.error();
    if (!*more) break;
    const bool failed = attempts->text_at(3) == "error";
    if (failed && !counts_against_model(attempts->text_at(5))) continue;
    quality.add_attempt(attempts->text_at(0), attempts->text_at(1), attempts->int_at(2), failed,
                        attempts->is_null(4) ? -1 : attempts->int_at(4));
  }
  auto scores = db.prepare("SELECT model, task, ts_ms, score FROM quality WHERE ts_ms >= ?1");
  if (!scores) return scores.error();
  scores->bind(1, since);
  for (;;) {
    auto more = scores->step();
    if (!more) return more.error();
    if (!*more) break;
    quality.add_score(scores->text_at(0), scores->text_at(1), scores->int_at(2),
                      scores->double_at(3));
  }
  quality.publish(now);
  return {};
}

// The one way into the queue, for rows, scores and flush barriers alike.
// An item refused is answered here: its on_done runs on this thread,
// without mu, and the error is returned.
Result<void> Ledger::Impl::submit(Item item, Wait wait) {
  Waiter waiter;
  Lock lock(mu);
  if (wait != Wait::nothing) writer.wait_for_room(lock, options.queue_max_rows);
  if (std::optional<Error> refused = refusal(item)) {
    lock.unlock();
    if (item.on_done) item.on_done(*refused);
    return *std::move(refused);
  }
  if (wait == Wait::commit) item.waiter = &waiter;
  writer.push(std::move(item));
  if (wait != Wait::commit) {
    if (failing_error) return *failing_error;
    return {};
  }
  done_cv.wait(lock, [&] { return waiter.done; });
  if (waiter.error) return *waiter.error;
  return {};
}

// Why `item` cannot be queued now, if it cannot (mu is held). Only a caller
// that does not wait for room meets a full queue here. A score is new work
// and can be sent again; a row is a request already run, so it goes to the
// overflow, and is lost only past it.
std::optional<Error> Ledger::Impl::refusal(const Item& item) {
  if (writer.stopping()) return Error(ErrorCategory::internal, "the ledger is closing; nothing more is recorded");
  if (writer.size() < options.queue_max_rows) return std::nullopt;
  if (item.kind == Item::Kind::score) {
    return Error(ErrorCategory::ledger,
                 "record_quality: " + queue_full_message() + "; the score was not recorded, send it again later");
  }
  if (item.kind == Item::Kind::row && writer.size() >= options.queue_max_rows + options.overflow_max_rows) {
    ++counters.rows_failed;
    ++overflow_lost;
    return Error(ErrorCategory::ledger,
                 queue_full_message() + ", and so is the overflow of " + std::to_string(options.overflow_max_rows) +
                     " rows for requests already admitted: this row is lost");
  }
  return std::nullopt;
}

std::string Ledger::Impl::queue_full_message() const {
  return "the ledger's write queue is full: " + std::to_string(writer.size()) + " items wait to be written to '" +
         path + "' (the disk is slow or stalled, or another process holds the file's lock)";
}

// Tells the embedder (options.on_error) of rows refused past the overflow
// since the last report (mu is held on entry and on return; on_error runs
// without it, on this, the writer's thread).
void Ledger::Impl::report_overflow_lost(Lock& lock) {
  const size_t lost = std::exchange(overflow_lost, 0);
  if (lost == 0 || !options.on_error) return;
  Error error(ErrorCategory::ledger,
              std::to_string(lost) + (lost == 1 ? " row was" : " rows were") + " lost: the ledger's write queue to '" +
                  path + "' and its overflow of " + std::to_string(options.overflow_max_rows) +
                  " rows were full; their spend is missing from the file");
  lock.unlock();
  options.on_error(error);
  lock.lock();
}

// Before each look at the queue: a new follower of other processes' spend,
// and held rows due for another try.
bool Ledger::Impl::own_work(Lock& lock) {
  if (follow) {
    foreign_after = follow->after_id;
    on_foreign_spend = std::move(follow->on_spend);
    follow.reset();
  }
  return !held.empty() && SteadyClock::now() >= next_retry && retry_held(lock);
}

// Closing: the held rows get a last try.
bool Ledger::Impl::finish(Lock& lock) {
  if (!held.empty() && !retry_held(lock)) give_up_held(lock);
  return held.empty();
}

// Idle: wake once a second anyway so quality windows age on time, sooner
// when held rows are due for another try, and every 250 ms when following
// other processes' spend.
std::optional<std::chrono::milliseconds> Ledger::Impl::idle_period() {
  auto idle = held.empty() ? std::chrono::milliseconds(1000)
                           : std::min(std::chrono::milliseconds(1000), options.retry_interval);
  if (on_foreign_spend) idle = std::min(idle, std::chrono::milliseconds(250));
  return idle;
}

void Ledger::Impl::idle(Lock& lock) {
  lock.unlock();
  read_foreign_spend();  // none of this process's rows are past foreign_after
  quality.publish(now_ms());
  lock.lock();
}

void Ledger::Impl::written(std::vector<Item>& batch, Lock& lock) {
  const std::optional<Error> failed = std::exchange(batch_error, std::nullopt);
  for (Item& item : batch)
    if (item.kind == Item::Kind::row && item.error) keep_failed_row(item);
  if (failed) {
    // Before any caller of this batch hears back: an embedder's handler
    // sees the failure no later than the request it failed.
    const size_t now_held = held.size();
    lock.unlock();
    report_failure(*failed, now_held);
    lock.lock();
  }
  report_overflow_lost(lock);
  // Health changes only on a batch that wrote something: an empty commit
  // (a flush alone) proves nothing about the disk.
  bool ok_batch = true, wrote = false;
  for (Item& item : batch) {
    wrote = wrote || item.kind != Item::Kind::barrier;
    if (item.error) {
      if (!first_error_since_flush && item.kind == Item::Kind::row)
        first_error_since_flush = item.error;
      ok_batch = ok_batch && item.error->category() != ErrorCategory::ledger;
    } else if (item.kind == Item::Kind::row) {
      ++counters.rows_committed;
    } else if (item.kind == Item::Kind::score) {
      ++counters.scores_committed;
    }
    if (item.kind == Item::Kind::barrier && first_error_since_flush) {
      item.error = std::exchange(first_error_since_flush, std::nullopt);
    }
    if (item.on_done) {
      finished.push_back(std::move(item));
      continue;
    }
    if (item.waiter) {
      item.waiter->error = std::move(item.error);
      item.waiter->done = true;
    }
  }
  if (ok_batch && wrote) {
    ++counters.batches_committed;
    failing_error.reset();
    failing.store(false, std::memory_order_release);
    next_retry = SteadyClock::now();  // the file takes rows again: so may the held ones
  }
  done_cv.notify_all();
  if (!finished.empty()) {
    // Callbacks run outside the lock: they may post work, append again is
    // allowed from elsewhere, and a slow one must not stall submitters.
    lock.unlock();
    for (Item& item : finished) {
      if (item.error) item.on_done(std::move(*item.error));
      else item.on_done(Result<void>{});
    }
    finished.clear();
    lock.lock();
  }
}

// A row whose batch the file refused (full, locked, failing) is money not
// yet written: it is kept for retry_held(), and its caller is told so. A
// row refused for itself (a duplicate attempt) is not: retrying cannot help.
void Ledger::Impl::keep_failed_row(Item& item) {
  if (item.error->category() != ErrorCategory::ledger) {
    ++counters.rows_failed;
    return;
  }
  if (held.size() >= options.held_max_rows) {
    ++counters.rows_failed;
    item.error = Error(ErrorCategory::ledger,
                       item.error->message() + "; " + std::to_string(held.size()) +
                           " earlier rows already wait in memory for the ledger, so this one is lost");
    return;
  }
  if (held.empty()) next_retry = SteadyClock::now() + options.retry_interval;
  held.push_back(item.row);
  counters.rows_held = static_cast<int64_t>(held.size());
  item.error = Error(ErrorCategory::ledger,
                     item.error->message() + "; the row is kept in memory and written once the ledger takes "
                                             "rows again");
}

// Writes up to a batch of held rows (mu is held on entry and on return).
// True when they committed.
bool Ledger::Impl::retry_held(Lock& lock) {
  std::vector<Item> retry;
  const size_t n = std::min(held.size(), options.batch_max_rows);
  retry.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Item item;
    item.row = std::move(held.front());
    held.pop_front();
    retry.push_back(std::move(item));
  }
  lock.unlock();
  commit(retry);
  const std::optional<Error> failed = std::exchange(batch_error, std::nullopt);
  lock.lock();
  const bool ok = std::none_of(retry.begin(), retry.end(), [](const Item& i) { return i.error.has_value(); });
  if (ok) {
    counters.rows_committed += static_cast<int64_t>(n);
    ++counters.batches_committed;
    failing_error.reset();
    failing.store(false, std::memory_order_release);
  } else {
    // Back to the front, in order; a row refused for itself is dropped.
    for (auto it = retry.rbegin(); it != retry.rend(); ++it) {
      if (it->error && it->error->category() != ErrorCategory::ledger) ++counters.rows_failed;
      else held.push_front(std::move(it->row));
    }
    next_retry = SteadyClock::now() + options.retry_interval;
  }
  // Only now: while a retry is in flight its rows count as held, not gone.
  counters.rows_held = static_cast<int64_t>(held.size());
  if (failed) {
    const size_t now_held = held.size();
    lock.unlock();
    report_failure(*failed, now_held);
    lock.lock();
  }
  return ok;
}

// Closing with rows the file still refuses: they are lost, and said so
// (mu is held on entry and on return; on_error runs without it).
void Ledger::Impl::give_up_held(Lock& lock) {
  const size_t lost = held.size();
  counters.rows_failed += static_cast<int64_t>(lost);
  counters.rows_held = 0;
  held.clear();
  if (!options.on_error) return;
  Error error(ErrorCategory::ledger,
              "the ledger closed with " + std::to_string(lost) + " rows it could not write to '" + path + "' (" +
                  (failing_error ? failing_error->message() : std::string("the file refused them")) +
                  "); their spend is missing from the file");
  lock.unlock();
  options.on_error(error);
  lock.lock();
}

// A caller that gave a new request an id it had used before (Request::id,
// serve's x-request-id: a client retrying with the same headers) collides
// with the earlier request's attempts. The row is money, so it is kept: the
// request id gets a suffix, `<id>~<ms>.<n>`, unique among this ledger's rows.
bool Ledger::Impl::write_reused_id_row(Item& item) {
  const std::string given = item.row.request_id;
  for (int n = 1; n <= 3; ++n) {
    item.row.request_id = given + "~" + std::to_string(item.row.time_ms) + "." + std::to_string(++reused_ids);
    if (write_row(item)) return true;
    if (!db.last_was_constraint()) break;
  }
  item.row.request_id = given;
  return false;
}

// Charges other processes' costed rows past foreign_after to the follower.
// Called where none of this process's rows can be past it: at the start of
// a batch's write transaction, or idle. A read that fails (the file is
// locked, failing) is tried again next time from the same row.
void Ledger::Impl::read_foreign_spend() {
  if (!on_foreign_spend) return;
  sql::Stmt& q = *rows_after;
  q.bind(1, foreign_after);
  for (;;) {
    auto row = q.step();
    if (!row || !*row) break;
    foreign_after = q.int_at(0);
    if (const int64_t cost = q.int_at(6); cost != 0)
      on_foreign_spend(SpendKeys{q.text_at(1), q.text_at(2), q.text_at(3), q.text_at(4)},
                       Money::from_nanos(cost), q.int_at(5));
  }
  q.reset();
}

Result<void> Ledger::Impl::write_row(Item& item) {
  const LedgerRow& r = item.row;
  sql::Stmt& s = *insert_attempt;
  s.bind(1, std::string_view(r.request_id));
  s.bind(2, static_cast<int64_t>(r.attempt));
  s.bind(3, r.time_ms);
  s.bind(4, std::string_view(r.team));
  s.bind(5, std::string_view(r.user));
  s.bind(6, std::string_view(r.tags_json.empty() ? std::string_view("{}") : r.tags_json));
  s.bind(7, std::string_view(r.task));
  s.bind(8, std::string_view(r.route));
  s.bind(9, std::string_view(r.provider));
  s.bind(10, std::string_view(r.model));
  s.bind(11, to_string(r.status));
  s.bind(12, r.input_tokens);
  s.bind(13, r.cached_input_tokens);
  s.bind(14, r.output_tokens);
  s.bind(15, r.cost.nanos);
  s.bind(16, r.saved.nanos);
  if (r.latency_ms >= 0) s.bind(17, r.latency_ms);
  if (r.ttft_ms >= 0) s.bind(18, r.ttft_ms);
  s.bind(19, std::string_view(r.error_category));
  s.bind(20, std::string_view(r.error_message));
  if (!options.holder.empty()) s.bind(21, std::string_view(options.holder));  // else NULL
  auto done = s.step();
  s.reset();
  if (!done) return done.error();
  return {};
}

Result<void> Ledger::Impl::write_score(Item& item) {
  sql::Stmt& find = *find_answer;
  find.bind(1, std::string_view(item.request_id));
  auto found = find.step();
  if (!found) {
    find.reset();
    return found.error();
  }
  // Another team's request reads as unknown: a gateway's client learns
  // nothing about requests not its own.
  if (!*found || (!item.team.empty() && find.text_at(4) != item.team)) {
    find.reset();
    item.error = Error(ErrorCategory::bad_request,
                       "record_quality: no request '" + item.request_id +
                           "' in the ledger; pass the request id the engine returned for a "
                           "request that has finished");
    return {};
  }
  const int64_t attempt = find.int_at(0);
  const std::string model(find.text_at(1)), task(find.text_at(2)), route(find.text_at(3));
  find.reset();
  sql::Stmt& s = *insert_score;
  s.bind(1, std::string_view(item.request_id));
  s.bind(2, attempt);
  s.bind(3, item.time_ms);
  s.bind(4, item.score);
  s.bind(5, std::string_view(item.source));
  s.bind(6, std::string_view(model));
  s.bind(7, std::string_view(task));
  s.bind(8, std::string_view(route));
  auto done = s.step();
  s.reset();
  if (!done) return done.error();
  // Remember where the score went so the quality board can be fed after the
  // commit succeeds.
  item.row.model = model;
  item.row.task = task;
  return {};
}

void Ledger::Impl::fail_all(std::vector<Item>& batch, const Error& error) {
  for (Item& item : batch) {
    if (item.kind != Item::Kind::barrier) item.error = error;
  }
  {
    std::lock_guard lock(mu);
    failing_error = error;
    failing.store(true, std::memory_order_release);
  }
  batch_error = error;  // reported by report_failure() once the rows are held
}

// Tells the embedder (options.on_error) that a batch failed, and what became
// of its rows. Called without mu.
void Ledger::Impl::report_failure(const Error& error, size_t rows_held) {
  if (!options.on_error) return;
  if (rows_held == 0) return options.on_error(error);
  options.on_error(Error(ErrorCategory::ledger,
                         error.message() + "; " + std::to_string(rows_held) +
                             (rows_held == 1 ? " row waits" : " rows wait") +
                             " in memory and will be written once the ledger takes rows again"));
}

Result<void> Ledger::Impl::check_file_identity() const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || st.st_dev != file_dev || st.st_ino != file_ino) {
    return Error(ErrorCategory::ledger,
                 "the ledger file '" + path +
                     "' was deleted or replaced while tollgate had it open; nothing more is "
                     "recorded. Restore the file (or remove the new one) and restart the service");
  }
  return {};
}

void Ledger::Impl::commit(std::vector<Item>& batch) {
  if (auto same = check_file_identity(); !same) {
    fail_all(batch, same.error());
    return;
  }
  if (auto begin = db.exec("BEGIN IMMEDIATE"); !begin) {
    fail_all(batch, begin.error());
    return;
  }
  // This transaction holds the write lock and has written nothing yet:
  // every row past foreign_after is another process's, committed.
  read_foreign_spend();
  for (Item& item : batch) {
    if (item.kind == Item::Kind::barrier) continue;
    auto written = item.kind == Item::Kind::row ? write_row(item) : write_score(item);
    if (written) continue;
    if (item.kind == Item::Kind::row && db.last_was_constraint() && write_reused_id_row(item)) continue;
    if (db.last_was_constraint()) {
      // Only this statement was undone; the rest of the batch stands.
      item.error = Error(ErrorCategory::internal,
                         "request '" + item.row.request_id + "' attempt " +
                             std::to_string(item.row.attempt) +
                             " is already in the ledger; each attempt of a request needs its own "
                             "number (this is a bug in the caller; please report it)");
      continue;
    }
    (void)db.exec("ROLLBACK");
    fail_all(batch, written.error());
    return;
  }
  // Still under the write lock: the last row is this batch's own, or the
  // last foreign one read above. Past it, after COMMIT, only others write.
  int64_t last_id = foreign_after;
  if (on_foreign_spend) {
    sql::Stmt& q = *last_row_id;
    if (auto row = q.step(); row && *row) last_id = std::max(last_id, q.int_at(0));
    q.reset();
  }
  if (auto done = db.exec("COMMIT"); !done) {
    (void)db.exec("ROLLBACK");
    fail_all(batch, done.error());
    return;
  }
  foreign_after = last_id;
  for (const Item& item : batch) {
    if (item.error) continue;
    const LedgerRow& r = item.row;
    if (item.kind == Item::Kind::score) {
      quality.add_score(r.model, r.task, item.time_ms, item.score);
    } else if (item.kind == Item::Kind::row) {
      if (r.status == AttemptStatus::ok) {
        quality.add_attempt(r.model, r.task, r.time_ms, false, r.latency_ms);
      } else if (r.status == AttemptStatus::error && counts_against_model(r.error_category)) {
        quality.add_attempt(r.model, r.task, r.time_ms, true, -1);
      }
    }
  }
  quality.publish(now_ms());
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Ledger::~Ledger() { impl_->writer.stop(); }

Result<std::unique_ptr<Ledger>> Ledger::open(const std::string& path, LedgerOptions options) {
  if (options.batch_max_rows == 0) options.batch_max_rows = 1;
  if (options.queue_max_rows < options.batch_max_rows) options.queue_max_rows = options.batch_max_rows;
  auto db = sql::Db::open(path, sql::Db::Mode::read_write_create, options.busy_timeout_ms);
  if (!db) return db.error();
  if (db->read_only()) {
    return Error(ErrorCategory::ledger,
                 "the ledger '" + path +
                     "' is read-only for this process; make the file and its directory writable "
                     "(SQLite also writes <file>-wal and <file>-shm), or set ledger_path to a "
                     "writable location");
  }
  auto mode = db->query_text("PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") {
    return Error(ErrorCategory::ledger,
                 "the ledger '" + path + "' cannot use write-ahead logging (journal mode is '" +
                     *mode + "'); put it on a local file system that supports shared memory");
  }
  const char* sync = options.durability == Durability::sync ? "PRAGMA synchronous = FULL"
                                                            : "PRAGMA synchronous = NORMAL";
  if (auto r = db->exec(sync); !r) return r.error();
  // A 4 MiB page cache: every index grows at its right edge (the engine's
  // request ids start with the time), so a batch touches a few hot pages per
  // index. A bigger cache only filled with cold pages and grew the process
  // by its size (32 MiB was most of `tollgate serve`'s memory); ids an
  // embedder makes up at random cost a page read per row once their index
  // outgrows this, not more memory.
  if (auto r = db->exec("PRAGMA cache_size = -4096"); !r) return r.error();
  if (options.max_db_pages > 0) {
    if (auto r = db->exec("PRAGMA max_page_count = " + std::to_string(options.max_db_pages)); !r)
      return r.error();
  }
  if (auto r = migrate_ledger(*db); !r) return r.error();

  auto impl = std::make_unique<Impl>(std::move(options), path, std::move(*db));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error(ErrorCategory::ledger, "the ledger '" + path +
                                            "' vanished while it was being opened; check that "
                                            "nothing else deletes or moves it");
  }
  impl->file_dev = st.st_dev;
  impl->file_ino = st.st_ino;
  if (auto r = impl->prepare(); !r) return r.error();
  if (auto r = impl->rebuild_quality(); !r) return r.error();
  impl->writer.start(*impl);
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

Result<void> Ledger::append(LedgerRow row) {
  Item item;
  item.kind = Item::Kind::row;
  item.row = std::move(row);
  return impl_->submit(std::move(item), impl_->options.durability == Durability::sync ? Wait::commit : Wait::room);
}

void Ledger::append_async(LedgerRow row, std::function<void(Result<void>)> done) {
  Item item;
  item.kind = Item::Kind::row;
  item.row = std::move(row);
  item.on_done = std::move(done);
  // Queued: the writer calls on_done after the batch. Refused: submit()
  // has called it already.
  (void)impl_->submit(std::move(item), Wait::nothing);
}

Result<void> Ledger::flush() {
  Item item;
  item.kind = Item::Kind::barrier;
  return impl_->submit(std::move(item), Wait::commit);
}

namespace {

// What is wrong with a score before the ledger is asked, if anything.
std::optional<Error> score_problem(std::string_view request_id, double score) {
  if (!(score >= 0.0 && score <= 1.0)) {
    return Error(ErrorCategory::bad_request,
                 "record_quality: score " + std::to_string(score) +
                     " for request '" + std::string(request_id) +
                     "' is outside [0, 1]; scale it to 0 (useless) .. 1 (perfect)");
  }
  if (request_id.empty()) {
    return Error(ErrorCategory::bad_request,
                 "record_quality: empty request id; pass the id the engine returned");
  }
  return std::nullopt;
}

Item score_item(std::string_view request_id, double score, std::string_view source, std::string_view team,
                int64_t now_ms) {
  Item item;
  item.kind = Item::Kind::score;
  item.request_id = std::string(request_id);
  item.source = std::string(source);
  item.team = std::string(team);
  item.score = score;
  item.time_ms = now_ms;
  return item;
}

}  // namespace

Result<void> Ledger::record_quality(std::string_view request_id, double score,
                                    std::string_view source) {
  if (auto problem = score_problem(request_id, score)) return *problem;
  return impl_->submit(score_item(request_id, score, source, {}, impl_->now_ms()), Wait::commit);
}

void Ledger::record_quality_async(std::string_view request_id, double score, std::string_view source,
                                  std::string_view team, std::function<void(Result<void>)> done) {
  if (auto problem = score_problem(request_id, score)) return done(std::move(*problem));
  Item item = score_item(request_id, score, source, team, impl_->now_ms());
  item.on_done = std::move(done);
  (void)impl_->submit(std::move(item), Wait::nothing);
}

const QualityBoard& Ledger::quality() const { return impl_->quality; }

void Ledger::follow_foreign_spend(int64_t after_id, ForeignSpendFn on_spend) {
  std::lock_guard lock(impl_->mu);
  impl_->follow = Impl::Follow{after_id, std::move(on_spend)};
  impl_->writer.poke();
}

Result<void> Ledger::health() const {
  if (!impl_->failing.load(std::memory_order_acquire) && impl_->writer.depth() < impl_->options.queue_max_rows)
    return {};
  std::lock_guard lock(impl_->mu);
  if (impl_->failing_error) return *impl_->failing_error;
  if (impl_->writer.size() >= impl_->options.queue_max_rows)
    return Error(ErrorCategory::ledger, impl_->queue_full_message());
  return {};
}

LedgerStats Ledger::stats() const {
  std::lock_guard lock(impl_->mu);
  LedgerStats stats = impl_->counters;
  stats.queued = static_cast<int64_t>(impl_->writer.size());
  return stats;
}

const std::string& Ledger::path() const { return impl_->path; }

}  // namespace tollgate::engine
