#include "engine/ledger/ledger_sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace tollgate::engine::sql {
namespace {

// What to do about a failure, by SQLite's primary result code. The ledger
// surfaces these to operators, so each names a fix, not just a symptom.
std::string_view advice(int code) {
  switch (code & 0xff) {
    case SQLITE_FULL:
      return "the disk (or the ledger's max_db_pages quota) is full; free space or raise the "
             "quota, then retry";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return "check that the file and its directory exist and are writable by this process "
             "(SQLite also creates <file>-wal and <file>-shm beside it)";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another process holds the database lock; stop it or point ledger_path at a "
             "file of this service's own";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "the file is damaged or is not a tollgate ledger; restore it from a backup or "
             "move it aside";
    case SQLITE_IOERR:
      return "the storage reported an I/O error; check the disk and the file (it may have "
             "been deleted or moved while in use)";
    default:
      return "";
  }
}

Error make_error(sqlite3* db, int code, std::string_view what) {
  std::string msg(what);
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  if (file && *file) msg += std::string(" (ledger '") + file + "')";
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  const std::string_view hint = advice(code);
  if (!hint.empty()) {
    msg += "; ";
    msg += hint;
  }
  return Error(ErrorCategory::ledger, std::move(msg));
}

}  // namespace

Result<Db> Db::open(const std::string& path, Mode mode, int busy_timeout_ms) {
  const int flags = (mode == Mode::read_only ? SQLITE_OPEN_READONLY
                                             : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw, path);
  if (rc != SQLITE_OK) {
    std::string what = "cannot open the ledger '" + path + "'";
    return make_error(raw, rc, what);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return db;
}

Db::Db(Db&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

Result<void> Db::exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return make_error(db_, rc, "ledger statement failed");
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return make_error(db_, rc, "cannot prepare a ledger query");
  return Stmt(stmt, db_);
}

Result<int64_t> Db::query_int(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? stmt->int_at(0) : int64_t{0};
}

Result<std::string> Db::query_text(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? std::string(stmt->text_at(0)) : std::string();
}

bool Db::read_only() const { return sqlite3_db_readonly(db_, "main") == 1; }

int64_t Db::changes() const { return sqlite3_changes64(db_); }

bool Db::last_was_constraint() const { return (sqlite3_errcode(db_) & 0xff) == SQLITE_CONSTRAINT; }

Error Db::error(std::string_view what) const {
  return make_error(db_, sqlite3_extended_errcode(db_), what);
}

Stmt::Stmt(Stmt&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
  }
  return *this;
}

Stmt::~Stmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

void Stmt::bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
void Stmt::bind(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
void Stmt::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

Result<bool> Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = make_error(db_, rc, "ledger query failed");
  sqlite3_reset(stmt_);
  return e;
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Stmt::int_at(int column) const { return sqlite3_column_int64(stmt_, column); }
double Stmt::double_at(int column) const { return sqlite3_column_double(stmt_, column); }
std::string_view Stmt::text_at(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}
bool Stmt::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

}  // namespace tollgate::engine::sql
