// Persistence for the response cache, so a restart starts warm.
//
// Entries live in the table `tollgate_cache` of a SQLite file: the ledger's
// (open the store after Ledger::open; the table is created with IF NOT
// EXISTS on a connection of the store's own, outside the ledger's numbered
// migrations) or a file of its own. The file also keeps the CacheKeyer
// secret (table `tollgate_cache_meta`), so keys computed after a restart
// match the rows written before it.
//
// Writes are write-behind: put()/erase() only queue and never wait, and one
// background thread commits the queue in batches, deleting expired rows as
// it goes. The queue is bounded: past max_pending items a put is dropped,
// past twice that a delete is (both counted). The table mirrors the memory
// cache: wire ResponseCache::Options::on_evict to erase(), so the file holds
// at most what the memory cache does, plus expired rows until the next
// batch and, after a stall that dropped deletes, rows until they expire or
// the next start. A lost write costs a future miss or some disk space,
// nothing else: the cache is disposable.
//
// Thread safety: put, erase, flush and stats may be called from any thread.
// load_into runs on the caller's thread with a connection of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/cache/cache_key.hpp"
#include "engine/cache/response_cache.hpp"
#include "tollgate/error.hpp"

namespace tollgate::engine {

struct CacheStoreStats {
  int64_t written = 0;       // rows upserted
  int64_t erased = 0;        // rows deleted by erase()
  int64_t purged = 0;        // expired rows deleted
  int64_t dropped = 0;       // puts not queued: the queue was full
  int64_t erases_dropped = 0;  // deletes not queued: the queue was full, puts' share and deletes' own
  int64_t write_errors = 0;  // batches that failed to commit (the rows are lost)
};

class CacheStore {
 public:
  struct Options {
    std::string path;
    std::size_t max_pending = 4096;  // queued writes; beyond it puts are dropped, beyond twice it deletes
    std::size_t batch_size = 256;    // writes per transaction
    int busy_timeout_ms = 5000;
    std::function<int64_t()> clock;  // unix ms; empty: the system clock
  };

  // Opens (creating if needed) the file and the tables and starts the writer
  // thread. Errors are `ledger` errors naming the file and what to do.
  static Result<std::unique_ptr<CacheStore>> open(Options options);

  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;
  // Commits what is queued, then stops the writer.
  ~CacheStore();

  // The key secret kept in the file (created at first open).
  const CacheKeySecret& secret() const;

  // Deletes expired rows, then restores the rest into `cache`, oldest first
  // (so the newest are the most recently used). Returns how many were
  // restored. Call once at start, before serving.
  Result<int64_t> load_into(ResponseCache& cache);

  // Queues an upsert of `value` (as stored by ResponseCache::insert).
  void put(const CacheKey& key, CachedPtr value);
  // Queues a delete. Never waits: on_evict calls it under the memory
  // cache's lock.
  void erase(const CacheKey& key);
  // Returns once everything queued before the call is committed (or failed).
  void flush();

  CacheStoreStats stats() const;

 private:
  struct Impl;
  explicit CacheStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::engine
