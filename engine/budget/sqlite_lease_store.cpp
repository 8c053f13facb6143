#include "engine/budget/sqlite_lease_store.hpp"

#include <cctype>

#include "engine/ledger/ledger_schema.hpp"

namespace tollgate::engine {
namespace {

// The protocol's SQL numbers its parameters PostgreSQL's way ($1); SQLite
// reads the same numbers as ?1.
std::string sqlite_params(std::string_view sql) {
  std::string out(sql);
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && std::isdigit(static_cast<unsigned char>(out[i + 1]))) out[i] = '?';
  }
  return out;
}

Error failed(std::string_view what, const Error& cause) {
  return Error(ErrorCategory::ledger, std::string(what) + " failed: " + cause.message());
}

}  // namespace

Result<std::unique_ptr<SqliteLeaseStore>> SqliteLeaseStore::open(const std::string& path,
                                                                 Options options) {
  auto db = sql::Db::open(path, sql::Db::Mode::read_write_create, options.busy_timeout_ms);
  if (!db) return db.error();
  if (db->read_only()) {
    return Error(ErrorCategory::ledger,
                 "the ledger '" + path +
                     "' is read-only for this process, so it cannot hold budget leases; make "
                     "the file and its directory writable");
  }
  // Write-ahead logging lets the figures be read while another process
  // writes; NORMAL sync is safe there, as in the ledger: a power loss that
  // could undo a grant stops its holder too.
  auto mode = db->query_text("PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  if (auto r = db->exec("PRAGMA synchronous = NORMAL"); !r) return r.error();
  if (auto r = migrate_ledger(*db); !r) return r.error();
  return std::unique_ptr<SqliteLeaseStore>(new SqliteLeaseStore(std::move(*db)));
}

Result<void> SqliteLeaseStore::exec(std::string_view what, std::string_view sql) {
  if (auto r = db_.exec(sql); !r) return failed(what, r.error());
  return {};
}

Result<void> SqliteLeaseStore::begin(std::string_view what, const std::string&) {
  // IMMEDIATE takes the write lock now, so the figures this grant reads
  // cannot change before it writes (SQLite has one writer at a time).
  return exec(what, "BEGIN IMMEDIATE");
}

Result<void> SqliteLeaseStore::commit(std::string_view what) { return exec(what, "COMMIT"); }

void SqliteLeaseStore::rollback() noexcept { (void)db_.exec("ROLLBACK"); }

Result<SqlLeaseStore::SqlRows> SqliteLeaseStore::run(std::string_view what, std::string_view sql,
                                                     std::initializer_list<Param> params,
                                                     int columns) {
  std::string text = sqlite_params(sql);
  auto it = statements_.find(text);
  if (it == statements_.end()) {
    auto stmt = db_.prepare(text);
    if (!stmt) return failed(what, stmt.error());
    it = statements_.emplace(std::move(text), std::move(*stmt)).first;
  }
  sql::Stmt& stmt = it->second;
  stmt.reset();
  int index = 1;
  for (const Param& p : params) {
    if (const auto* i = std::get_if<int64_t>(&p)) {
      stmt.bind(index, *i);
    } else if (const auto* s = std::get_if<std::string_view>(&p)) {
      stmt.bind(index, *s);
    }  // std::monostate: left NULL, as reset() cleared it
    ++index;
  }
  SqlRows rows;
  for (;;) {
    auto more = stmt.step();
    if (!more) {
      stmt.reset();
      return failed(what, more.error());
    }
    if (!*more) break;
    auto& row = rows.emplace_back();
    for (int c = 0; c < columns; ++c) row.emplace_back(stmt.text_at(c));
  }
  stmt.reset();
  return rows;
}

}  // namespace tollgate::engine
