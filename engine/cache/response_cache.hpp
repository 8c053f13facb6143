// The in-memory response cache: sharded, LRU bounded by bytes, a TTL per
// entry, and a clock tests can drive.
//
// Values are immutable and shared (std::shared_ptr<const CachedResponse>):
// a hit copies a pointer under the shard lock, never the body, and an entry
// evicted while a caller still reads it stays alive until that caller drops
// it. Only successful answers go in; the engine never inserts an error.
//
// Bytes: each entry counts its key, body, strings and kEntryOverhead (the
// entry, the shared_ptr control block, the hash-map and LRU nodes). Each
// of the shards holds max_bytes / shards; an entry larger than that is not
// stored (at the default 256 MiB and 16 shards: 16 MiB).
//
// Thread safety: every member function may be called from any thread. Each
// shard has its own mutex; the eviction hook is called with that shard's
// lock held, so it must not call back into the cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/cache/cache_key.hpp"
#include "tollgate/money.hpp"
#include "tollgate/result.hpp"  // Usage

namespace tollgate::engine {

// One cached answer: what the engine needs to answer a hit and to write its
// ledger row.
struct CachedResponse {
  std::string body;  // the final "chat.completion", serialized JSON
  std::string route, provider, model;
  std::string finish_reason;
  Usage usage;
  Money cost;                 // what the upstream call cost: a hit's `saved`
  int64_t stored_at_ms = 0;   // unix ms, set by insert()
  int64_t expires_at_ms = 0;  // unix ms, set by insert()

  // What this entry counts against the cache's bytes.
  int64_t charged_bytes() const;
};

using CachedPtr = std::shared_ptr<const CachedResponse>;

// What to store for a successful upstream answer (its body serialized).
CachedResponse to_cached(const Response& response);
// The Response for a hit (or a single-flight follower): the stored body and
// usage, cost 0, saved = what the stored answer cost, cache_hit, 0 attempts.
// Null when the stored body does not parse (a damaged persisted row): treat
// it as a miss. `body_as_text`: the caller reads body_text only
// (Request::answer_as_text); the body is checked, not parsed into `body`.
std::optional<Response> hit_response(const CachedResponse& cached, std::string request_id,
                                     bool body_as_text = false);

struct ResponseCacheStats {
  int64_t hits = 0, misses = 0;
  int64_t inserts = 0;
  int64_t evictions = 0;   // removed to make room (LRU)
  int64_t expirations = 0; // removed because their TTL passed
  int64_t rejected = 0;    // not stored: larger than a shard, or TTL <= 0
  int64_t bytes = 0, entries = 0;
};

class ResponseCache {
 public:
  // Fixed per-entry cost on top of the strings: measured by cache_bench
  // (bench/README.md), rounded up.
  static constexpr int64_t kEntryOverhead = 352;

  struct Options {
    int64_t max_bytes = 256 << 20;
    unsigned shards = 16;  // rounded up to a power of two
    // Unix milliseconds. Empty: the system clock.
    std::function<int64_t()> clock;
    // Called for each LRU eviction (not for expiry or replacement), with the
    // shard lock held: the store deletes its copy. Must not re-enter.
    std::function<void(const CacheKey&)> on_evict;
  };

  explicit ResponseCache(Options options);
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;
  ~ResponseCache();

  // The live entry for `key` (now marked most recently used), or null on a
  // miss. An expired entry is removed and counts as a miss.
  CachedPtr find(const CacheKey& key);

  // Stores `value` for ttl_ms from now, replacing any entry for `key`, and
  // evicts least recently used entries until the shard fits. Returns the
  // stored entry (with its times set), or null when it was not stored.
  CachedPtr insert(const CacheKey& key, CachedResponse value, int64_t ttl_ms);
  // Stores an entry whose times are already set (loading from the store).
  // Null when already expired or too large.
  CachedPtr restore(const CacheKey& key, CachedResponse value);

  void erase(const CacheKey& key);
  // Drops every expired entry now (find() also drops them lazily).
  int64_t purge_expired();

  ResponseCacheStats stats() const;
  int64_t now_ms() const { return clock_(); }
  int64_t max_bytes() const { return max_bytes_; }

 private:
  struct Shard;
  Shard& shard_for(const CacheKey& key);
  CachedPtr put(const CacheKey& key, std::shared_ptr<CachedResponse> value);

  int64_t max_bytes_;
  int64_t shard_bytes_;
  std::function<int64_t()> clock_;
  std::function<void(const CacheKey&)> on_evict_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<int64_t> hits_{0}, misses_{0}, inserts_{0}, evictions_{0}, expirations_{0},
      rejected_{0};
};

}  // namespace tollgate::engine
