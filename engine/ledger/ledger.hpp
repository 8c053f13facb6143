// The ledger: tollgate's memory of money and quality, in one SQLite file.
//
// One writer thread owns the write connection and commits rows in batches
// (group commit): a batch closes when it holds batch_max_rows rows or
// batch_max_delay has passed since its first row, whichever comes first, and
// is one transaction. The file is in WAL mode, so readers (the report, the
// rebuild at start) use their own connections and never block the writer.
//
// Durability (LedgerOptions::durability):
//   sync  (default)  append() returns only after the row's batch committed
//                    with synchronous=FULL: an acknowledged row survives a
//                    crash of the process and of the machine.
//   async            append() returns at once. Rows still queued when the
//                    process dies are lost: at most batch_max_rows rows or
//                    batch_max_delay of traffic, plus what waits behind a
//                    batch in flight (see "A full queue" below).
//                    Commits use synchronous=NORMAL: committed rows survive a
//                    process crash; the last commits may roll back on power
//                    loss.
// Whatever the mode, a crash never corrupts the file (SQLite's WAL).
//
// A full queue (the disk is slow or stalled, or another process holds the
// file's lock): the queue holds queue_max_rows items. The blocking calls
// (append, flush, record_quality) wait for room. The non-blocking ones
// never wait, since an I/O thread makes them: record_quality_async is
// refused with a ledger error, and append_async's row goes to an overflow
// of overflow_max_rows behind the queue, because it belongs to a request
// that has already run. health() fails while the queue is full, so an
// engine with on_ledger_error = "deny" admits no new requests and the
// overflow holds only the rows of requests already in flight. A row past
// the overflow is lost: its callback hears so, rows_failed counts it and
// on_error reports it.
//
// Thread-safety: every member function may be called from any thread.
// append(), flush() and record_quality() may block (sync mode; a full
// queue), so call them off latency-critical I/O threads; append_async(),
// record_quality_async() and health() never block on the disk.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/ledger/ledger_row.hpp"
#include "engine/signals/quality.hpp"
#include "tollgate/error.hpp"
#include "tollgate/options.hpp"

namespace tollgate::engine {

class SpendGate;
struct SpendKeys;

// The public setting (Options::durability), documented there.
using Durability = tollgate::Durability;

struct LedgerOptions {
  Durability durability = Durability::sync;
  // A batch closes at this many rows. Default 512: large enough that one
  // fsync carries hundreds of rows, small enough that a batch commits in
  // about a millisecond.
  size_t batch_max_rows = 512;
  // ... or this long after its first row arrived. Default 2 ms: the latency
  // sync mode adds to a request when traffic is light. 0: commit whatever is
  // queued as soon as the writer is free.
  std::chrono::microseconds batch_max_delay{2000};
  // Items waiting for the writer. append() waits while the queue is full,
  // so a stalled disk slows its callers instead of growing memory; the
  // non-blocking calls do not wait (see "A full queue" above). Default 65,536.
  size_t queue_max_rows = 65536;
  // Rows append_async() may queue past a full queue: those of requests
  // admitted before it filled. Past this bound a row is lost. Default
  // 65,536 (about 20 MiB, as held_max_rows).
  size_t overflow_max_rows = 65536;
  // How long a commit waits for a lock held by another process before it
  // fails with a ledger error. Default 5 s.
  int busy_timeout_ms = 5000;
  // A quota on the file's size in SQLite pages (4 KiB each); 0: none. A
  // batch that would exceed it fails as on a full disk.
  int64_t max_db_pages = 0;
  QualityOptions quality;
  // Unix time in ms; tests inject their own. Used to age quality figures.
  std::function<int64_t()> clock;
  // Called on the writer thread when a batch fails (disk full, lock held, file
  // gone), with the error every row of it got. Must not call back into the
  // ledger. In async mode this is the only place such a failure is seen.
  std::function<void(const Error&)> on_error;
  // Shared caps: the lease holder this process is (LeaseKeeper::holder),
  // written with every row so that the row's commit moves its cost out of
  // that holder's leases (engine/budget/lease_store.hpp). Empty: none.
  std::string holder;
  // Rows a failed batch could not write are kept in memory, up to this
  // many, and written again every retry_interval until the file takes them
  // (space freed, the lock released): a full disk for a while loses no
  // spend. Rows past the bound, and rows still held when the ledger closes,
  // are lost and counted in rows_failed. Default 65,536 (about 20 MiB).
  size_t held_max_rows = 65536;
  std::chrono::milliseconds retry_interval{1000};
};

struct LedgerStats {
  int64_t rows_committed = 0;
  int64_t batches_committed = 0;
  int64_t rows_held = 0;     // rows a failed batch left in memory, waiting for a retry
  int64_t rows_failed = 0;   // rows lost: over held_max_rows or overflow_max_rows, or still held at close
  int64_t scores_committed = 0;
  int64_t queued = 0;        // items waiting for the writer now, overflow included
};

class Ledger {
 public:
  // Opens or creates the ledger at `path`, upgrades its schema, rebuilds the
  // quality figures from the window the options name, and starts the writer.
  // Fails with a ledger error saying what to do when the file cannot be
  // written (read-only, locked, not a ledger, newer schema).
  static Result<std::unique_ptr<Ledger>> open(const std::string& path, LedgerOptions options = {});

  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  // Commits everything queued, then stops the writer.
  ~Ledger();

  // Records one attempt. sync: returns when its batch committed, or the
  // ledger error that batch failed with. async: returns at once; the error
  // is the one the last batch failed with, if the ledger is currently failing,
  // so `on_ledger_error = "deny"` can act on it (the row is queued anyway).
  Result<void> append(LedgerRow row);

  // Records one attempt without blocking the caller on the commit: `done`
  // runs on the writer thread once the row's batch committed (or failed),
  // in both durability modes, so an I/O thread can acknowledge a request
  // only after its row is durable. `done` must be quick and must not call
  // back into the ledger; post to an executor for real work. Never waits,
  // not even for room in the queue: a full queue sends the row to the
  // overflow. A row refused (the overflow is full too, or the ledger is
  // closing) has `done` called at once, on this thread, with the error.
  void append_async(LedgerRow row, std::function<void(Result<void>)> done);

  // Waits until every row appended before the call is committed; returns the
  // first error of those batches.
  Result<void> flush();

  // Stores a quality score against the request's answering attempt (the last
  // successful one; else its last attempt) and its model, route and task.
  // Fails with bad_request for a score outside [0, 1] or a request id the
  // ledger has no row for. Waits for the commit in both durability modes.
  Result<void> record_quality(std::string_view request_id, double score, std::string_view source);
  // The same without blocking on the commit: `done` runs on the writer
  // thread once the score is committed or refused (as append_async's), or
  // at once on this thread for a score outside [0, 1] or an empty id. A
  // non-empty `team` scores only that team's requests: another team's id
  // fails exactly as an unknown one does. Never waits: while the queue is
  // full the score is refused at once with a ledger error (send it again
  // later).
  void record_quality_async(std::string_view request_id, double score, std::string_view source,
                            std::string_view team, std::function<void(Result<void>)> done);

  // Measured quality per (model, task); kept current by the writer.
  const QualityBoard& quality() const;

  // Charges every costed row inside the gate's longest window to the gate
  // (see SpendGate::add_settled), so a restart does not reset a cap. Call once
  // at start, after SpendGate::configure and before the first reserve.
  // Returns the id of the last row the file held then (0 when empty): where
  // follow_foreign_spend takes over.
  Result<int64_t> rebuild_spend(SpendGate& gate, int64_t now_ms) const;

  // Other processes writing the same file: each costed row they commit
  // after row `after_id` goes to `on_spend` (keys, cost, the row's time),
  // on the writer thread, so their spend fills this process's caps too.
  // The writer reads them at every batch of its own (inside the batch's
  // write transaction, where every row it sees is another's) and every
  // 250 ms when idle. This process's own rows never reach `on_spend`.
  // Whatever `on_spend` touches must outlive the ledger.
  using ForeignSpendFn = std::function<void(const SpendKeys& keys, Money cost, int64_t time_ms)>;
  void follow_foreign_spend(int64_t after_id, ForeignSpendFn on_spend);

  // OK while the ledger takes rows: its last batch committed and its queue
  // has room. Else the error the batch failed with, or a ledger error saying
  // the queue is full. Cheap (two atomic loads when healthy): the engine
  // checks it before dispatch when `on_ledger_error = "deny"`, which matters
  // most in async mode, where append() learns of a failure only after the
  // fact, and while the disk stalls, when it keeps new requests from adding
  // rows the queue has no room for.
  Result<void> health() const;

  LedgerStats stats() const;
  const std::string& path() const;

  struct Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::engine
