// A thin RAII layer over the SQLite C API for the ledger's own use.
//
// Keeps sqlite3.h out of every header: callers see opaque handles, Result
// values with actionable messages, and statements that reset themselves.
// A Db and its Stmts belong to one thread at a time (SQLite connections are
// opened with SQLITE_OPEN_NOMUTEX); the ledger gives each thread its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tollgate/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace tollgate::engine::sql {

class Stmt;

class Db {
 public:
  enum class Mode { read_write_create, read_only };
  // Opens `path`; `busy_timeout_ms` is how long a statement waits for a lock
  // another connection or process holds before failing with "locked".
  static Result<Db> open(const std::string& path, Mode mode, int busy_timeout_ms);

  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Runs one or more statements that return no rows worth reading.
  Result<void> exec(std::string_view sql);
  Result<Stmt> prepare(std::string_view sql);
  // The first column of the first row of `sql` as an integer (PRAGMAs).
  Result<int64_t> query_int(std::string_view sql);
  // The first column of the first row as text ("ok", "wal").
  Result<std::string> query_text(std::string_view sql);
  // True when SQLite opened the file read-only (no write permission).
  bool read_only() const;
  int64_t changes() const;
  // True when the last failure was a constraint (a duplicate key): only that
  // statement was undone, the transaction is still open.
  bool last_was_constraint() const;

  // A ledger Error for the last failure on this connection: what failed,
  // SQLite's words, and what to do about it (disk full, read-only, locked).
  Error error(std::string_view what) const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement. bind_* take 1-based indexes as SQLite does; step()
// returns true while there is a row. Resets and clears bindings on reset().
class Stmt {
 public:
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  void bind(int index, int64_t value);
  void bind(int index, double value);
  // The text must outlive step(): it is bound without a copy.
  void bind(int index, std::string_view text);
  Result<bool> step();
  void reset();

  int64_t int_at(int column) const;
  double double_at(int column) const;
  // Valid until the next step() or reset().
  std::string_view text_at(int column) const;
  bool is_null(int column) const;

 private:
  friend class Db;
  Stmt(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

}  // namespace tollgate::engine::sql
