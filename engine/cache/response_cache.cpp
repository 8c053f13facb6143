#include "adapters/json/json_parse.hpp"
#include "engine/cache/response_cache.hpp"

#include <bit>
#include <chrono>
#include <list>
#include <unordered_map>

#include "adapters/providers/answer_scan.hpp"
#include "engine/wall_clock.hpp"

namespace tollgate::engine {

int64_t CachedResponse::charged_bytes() const {
  return static_cast<int64_t>(sizeof(CacheKey) + body.size() + route.size() + provider.size() +
                              model.size() + finish_reason.size()) +
         ResponseCache::kEntryOverhead;
}

CachedResponse to_cached(const Response& response) {
  CachedResponse c;
  c.body = response.body_text.empty() ? response.body.dump() : response.body_text;
  c.route = response.route;
  c.provider = response.provider;
  c.model = response.model;
  c.finish_reason = response.finish_reason;
  c.usage = response.usage;
  c.cost = response.cost;
  return c;
}

std::optional<Response> hit_response(const CachedResponse& cached, std::string request_id,
                                     bool body_as_text) {
  Response r;
  if (body_as_text) {
    if (!adapters::scan_completion(cached.body)) return std::nullopt;
  } else {
    r.body = adapters::parse_json(cached.body);
    if (r.body.is_discarded() || !r.body.is_object()) return std::nullopt;
  }
  r.body_text = cached.body;  // the text it was parsed from: the provider's, or body's dump
  r.request_id = std::move(request_id);
  r.route = cached.route;
  r.provider = cached.provider;
  r.model = cached.model;
  r.finish_reason = cached.finish_reason;
  r.usage = cached.usage;
  r.cost = Money{};
  r.saved = cached.cost;
  r.cache_hit = true;
  r.attempts = 0;
  return r;
}

struct ResponseCache::Shard {
  struct Node {
    CacheKey key;
    CachedPtr value;
    int64_t bytes;
  };
  std::mutex mu;
  std::list<Node> lru;  // front: most recently used
  std::unordered_map<CacheKey, std::list<Node>::iterator, CacheKeyHash> index;
  int64_t bytes = 0;

  // REQUIRES: mu held.
  void remove(std::list<Node>::iterator it) {
    bytes -= it->bytes;
    index.erase(it->key);
    lru.erase(it);
  }
};

ResponseCache::ResponseCache(Options options)
    : max_bytes_(options.max_bytes > 0 ? options.max_bytes : 0),
      clock_(options.clock ? std::move(options.clock) : std::function<int64_t()>(unix_now_ms)),
      on_evict_(std::move(options.on_evict)) {
  const unsigned n = std::bit_ceil(options.shards == 0 ? 1U : options.shards);
  shard_bytes_ = max_bytes_ / n;
  shards_.reserve(n);
  for (unsigned i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>());
}

ResponseCache::~ResponseCache() = default;

ResponseCache::Shard& ResponseCache::shard_for(const CacheKey& key) {
  // The hash map buckets on `lo`; shard on `hi` so the two stay independent.
  return *shards_[static_cast<std::size_t>(key.hi & (shards_.size() - 1))];
}

CachedPtr ResponseCache::find(const CacheKey& key) {
  Shard& s = shard_for(key);
  const int64_t now = clock_();
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  if (it->second->value->expires_at_ms <= now) {
    s.remove(it->second);
    expirations_.fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->value;
}

CachedPtr ResponseCache::insert(const CacheKey& key, CachedResponse value, int64_t ttl_ms) {
  if (ttl_ms <= 0) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  value.stored_at_ms = clock_();
  value.expires_at_ms = value.stored_at_ms + ttl_ms;
  return put(key, std::make_shared<CachedResponse>(std::move(value)));
}

CachedPtr ResponseCache::restore(const CacheKey& key, CachedResponse value) {
  if (value.expires_at_ms <= clock_()) return nullptr;
  return put(key, std::make_shared<CachedResponse>(std::move(value)));
}

CachedPtr ResponseCache::put(const CacheKey& key, std::shared_ptr<CachedResponse> value) {
  const int64_t bytes = value->charged_bytes();
  if (bytes > shard_bytes_) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  CachedPtr stored = std::move(value);
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) s.remove(it->second);
  while (s.bytes + bytes > shard_bytes_ && !s.lru.empty()) {
    auto victim = std::prev(s.lru.end());
    if (on_evict_) on_evict_(victim->key);
    s.remove(victim);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  s.lru.push_front(Shard::Node{key, stored, bytes});
  s.index.emplace(key, s.lru.begin());
  s.bytes += bytes;
  inserts_.fetch_add(1, std::memory_order_relaxed);
  return stored;
}

void ResponseCache::erase(const CacheKey& key) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) s.remove(it->second);
}

int64_t ResponseCache::purge_expired() {
  const int64_t now = clock_();
  int64_t removed = 0;
  for (auto& sp : shards_) {
    std::lock_guard lock(sp->mu);
    for (auto it = sp->lru.begin(); it != sp->lru.end();) {
      auto next = std::next(it);
      if (it->value->expires_at_ms <= now) {
        sp->remove(it);
        ++removed;
      }
      it = next;
    }
  }
  expirations_.fetch_add(removed, std::memory_order_relaxed);
  return removed;
}

ResponseCacheStats ResponseCache::stats() const {
  ResponseCacheStats st;
  st.hits = hits_.load(std::memory_order_relaxed);
  st.misses = misses_.load(std::memory_order_relaxed);
  st.inserts = inserts_.load(std::memory_order_relaxed);
  st.evictions = evictions_.load(std::memory_order_relaxed);
  st.expirations = expirations_.load(std::memory_order_relaxed);
  st.rejected = rejected_.load(std::memory_order_relaxed);
  for (const auto& sp : shards_) {
    std::lock_guard lock(sp->mu);
    st.bytes += sp->bytes;
    st.entries += static_cast<int64_t>(sp->lru.size());
  }
  return st;
}

}  // namespace tollgate::engine
