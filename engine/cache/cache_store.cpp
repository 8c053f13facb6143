#include "engine/cache/cache_store.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "engine/ledger/batch_writer.hpp"
#include "engine/ledger/ledger_sqlite.hpp"
#include "engine/wall_clock.hpp"

namespace tollgate::engine {

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS tollgate_cache (
  key TEXT PRIMARY KEY,            -- to_hex(CacheKey)
  stored_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  route TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  finish_reason TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  body TEXT NOT NULL               -- the chat.completion JSON
);
CREATE INDEX IF NOT EXISTS tollgate_cache_expiry ON tollgate_cache(expires_at_ms);
CREATE TABLE IF NOT EXISTS tollgate_cache_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

constexpr std::string_view kUpsert =
    "INSERT OR REPLACE INTO tollgate_cache (key, stored_at_ms, expires_at_ms, route, provider, "
    "model, finish_reason, input_tokens, cached_input_tokens, output_tokens, cost_nanos, body) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
constexpr std::string_view kDelete = "DELETE FROM tollgate_cache WHERE key = ?1";
constexpr std::string_view kPurge = "DELETE FROM tollgate_cache WHERE expires_at_ms <= ?1";
constexpr std::string_view kLoad =
    "SELECT key, stored_at_ms, expires_at_ms, route, provider, model, finish_reason, "
    "input_tokens, cached_input_tokens, output_tokens, cost_nanos, body FROM tollgate_cache "
    "WHERE expires_at_ms > ?1 ORDER BY stored_at_ms";

std::string secret_to_hex(const CacheKeySecret& s) {
  CacheKey k{};
  for (std::size_t i = 0; i < 8; ++i) {
    k.hi = (k.hi << 8) | s[i];
    k.lo = (k.lo << 8) | s[8 + i];
  }
  return to_hex(k);
}

bool secret_from_hex(std::string_view hex, CacheKeySecret& out) {
  CacheKey k{};
  if (!cache_key_from_hex(hex, k)) return false;
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(k.hi >> (56 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(k.lo >> (56 - 8 * i));
  }
  return true;
}

// One queued write.
struct Op {
  CacheKey key;
  CachedPtr value;  // null: delete
};

Result<sql::Db> open_db(const CacheStore::Options& o) {
  auto db = sql::Db::open(o.path, sql::Db::Mode::read_write_create, o.busy_timeout_ms);
  if (!db) return db.error();
  if (auto mode = db->query_text("PRAGMA journal_mode = WAL"); !mode) return mode.error();
  // The cache is disposable: a crash may lose the last rows, never corrupt.
  if (auto r = db->exec("PRAGMA synchronous = NORMAL"); !r) return r.error();
  return db;
}

}  // namespace

struct CacheStore::Impl final : BatchWriter<Op>::Sink {
  using Lock = BatchWriter<Op>::Lock;

  Options opts;
  CacheKeySecret secret{};
  sql::Db db;  // the writer thread's, once it runs
  std::optional<sql::Stmt> upsert, del, purge;  // prepared at open; one missing fails every batch

  // The queue and the writer thread; its mutex, `mu`, guards what follows.
  BatchWriter<Op> writer;
  std::mutex& mu = writer.mutex();
  std::condition_variable done_cv;
  uint64_t queued = 0, done = 0;  // ops ever queued / ever processed
  CacheStoreStats st;
  // Writer thread only: how the batch being written went.
  bool batch_ok = false;
  CacheStoreStats delta;

  Impl(Options o, sql::Db d) : opts(std::move(o)), db(std::move(d)), writer({opts.batch_size, {}}) {}

  // Never waits: put() runs on the request path and erase() under the
  // memory cache's shard lock. Puts fill up to max_pending; deletes may
  // queue max_pending more, so the evictions a queue of puts causes still
  // fit behind them. Past that a delete is dropped too (see erase()).
  void enqueue(Op op) {
    std::lock_guard lock(mu);
    const bool is_put = op.value != nullptr;
    if (writer.size() >= (is_put ? opts.max_pending : 2 * opts.max_pending)) {
      ++(is_put ? st.dropped : st.erases_dropped);
      return;
    }
    writer.push(std::move(op));
    ++queued;
  }

  // The writer thread's side (BatchWriter<Op>::Sink). A failed batch is
  // lost: the cache is disposable.
  void write(std::vector<Op>& batch) override {
    delta = {};
    batch_ok = upsert && del && purge && write_batch(batch);
  }
  void written(std::vector<Op>& batch, Lock&) override {
    if (batch_ok) {
      st.written += delta.written;
      st.erased += delta.erased;
      st.purged += delta.purged;
    } else {
      ++st.write_errors;
    }
    done += batch.size();
    done_cv.notify_all();
  }

  bool write_batch(const std::vector<Op>& batch) {
    if (!db.exec("BEGIN IMMEDIATE")) return false;
    for (const Op& op : batch) {
      const std::string hex = to_hex(op.key);
      sql::Stmt& s = op.value ? *upsert : *del;
      s.bind(1, std::string_view(hex));
      if (op.value) {
        const CachedResponse& v = *op.value;
        s.bind(2, v.stored_at_ms);
        s.bind(3, v.expires_at_ms);
        s.bind(4, std::string_view(v.route));
        s.bind(5, std::string_view(v.provider));
        s.bind(6, std::string_view(v.model));
        s.bind(7, std::string_view(v.finish_reason));
        s.bind(8, v.usage.input_tokens);
        s.bind(9, v.usage.cached_input_tokens);
        s.bind(10, v.usage.output_tokens);
        s.bind(11, v.cost.nanos);
        s.bind(12, std::string_view(v.body));
      }
      const bool stepped = static_cast<bool>(s.step());
      s.reset();
      if (!stepped) {
        (void)db.exec("ROLLBACK");
        return false;
      }
      if (op.value) {
        ++delta.written;
      } else {
        delta.erased += db.changes();
      }
    }
    purge->bind(1, now());
    const bool purged = static_cast<bool>(purge->step());
    purge->reset();
    if (!purged) {
      (void)db.exec("ROLLBACK");
      return false;
    }
    delta.purged += db.changes();
    if (!db.exec("COMMIT")) {
      (void)db.exec("ROLLBACK");
      return false;
    }
    return true;
  }

  int64_t now() const { return opts.clock ? opts.clock() : unix_now_ms(); }
};

Result<std::unique_ptr<CacheStore>> CacheStore::open(Options options) {
  auto db = open_db(options);
  if (!db) return db.error();
  if (auto r = db->exec(kSchema); !r) return r.error();
  // INSERT OR IGNORE: two processes opening one new file agree on one secret.
  const std::string fresh = secret_to_hex(random_cache_key_secret());
  if (auto r = db->exec("INSERT OR IGNORE INTO tollgate_cache_meta (name, value) VALUES "
                        "('key_secret', '" + fresh + "')");
      !r) {
    return r.error();
  }
  auto stored = db->query_text("SELECT value FROM tollgate_cache_meta WHERE name = 'key_secret'");
  if (!stored) return stored.error();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*db));
  if (!secret_from_hex(*stored, impl->secret)) {
    return Error(ErrorCategory::ledger, "the cache key secret in '" + impl->opts.path +
                                            "' is damaged; delete the tollgate_cache_meta and "
                                            "tollgate_cache tables (the cache starts cold)");
  }
  // Prepared here, used by the writer alone once it starts.
  for (auto [stmt, text] : {std::pair{&impl->upsert, kUpsert}, {&impl->del, kDelete}, {&impl->purge, kPurge}}) {
    if (auto prepared = impl->db.prepare(text)) stmt->emplace(std::move(*prepared));
  }
  impl->writer.start(*impl);
  return std::unique_ptr<CacheStore>(new CacheStore(std::move(impl)));
}

CacheStore::CacheStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CacheStore::~CacheStore() { impl_->writer.stop(); }

const CacheKeySecret& CacheStore::secret() const { return impl_->secret; }

Result<int64_t> CacheStore::load_into(ResponseCache& cache) {
  auto db = open_db(impl_->opts);
  if (!db) return db.error();
  const int64_t now = impl_->now();
  {
    auto purge = db->prepare(kPurge);
    if (!purge) return purge.error();
    purge->bind(1, now);
    if (auto r = purge->step(); !r) return r.error();
  }
  auto load = db->prepare(kLoad);
  if (!load) return load.error();
  load->bind(1, now);
  int64_t restored = 0;
  for (;;) {
    auto row = load->step();
    if (!row) return row.error();
    if (!*row) break;
    CacheKey key;
    if (!cache_key_from_hex(load->text_at(0), key)) continue;
    CachedResponse v;
    v.stored_at_ms = load->int_at(1);
    v.expires_at_ms = load->int_at(2);
    v.route = load->text_at(3);
    v.provider = load->text_at(4);
    v.model = load->text_at(5);
    v.finish_reason = load->text_at(6);
    v.usage.input_tokens = load->int_at(7);
    v.usage.cached_input_tokens = load->int_at(8);
    v.usage.output_tokens = load->int_at(9);
    v.cost = Money::from_nanos(load->int_at(10));
    v.body = load->text_at(11);
    if (cache.restore(key, std::move(v))) ++restored;
  }
  return restored;
}

void CacheStore::put(const CacheKey& key, CachedPtr value) {
  if (value) impl_->enqueue({key, std::move(value)});
}

// A delete dropped (the file stalled while the memory cache kept evicting)
// leaves a row the memory cache no longer holds: it is purged once it
// expires, and at the next start load_into evicts it again (and deletes
// it) if it does not fit. The file outgrows the memory cache's bound for
// that long; memory stays bounded, and no caller waits.
void CacheStore::erase(const CacheKey& key) { impl_->enqueue({key, nullptr}); }

void CacheStore::flush() {
  std::unique_lock lock(impl_->mu);
  const uint64_t target = impl_->queued;
  impl_->done_cv.wait(lock, [&] { return impl_->done >= target; });
}

CacheStoreStats CacheStore::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->st;
}

}  // namespace tollgate::engine
