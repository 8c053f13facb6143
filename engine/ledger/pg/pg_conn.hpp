// A thin RAII layer over libpq for tollgate's PostgreSQL stores.
//
// Keeps libpq-fe.h out of every header, as ledger_sqlite.hpp does for
// SQLite: callers see a connection that reconnects by itself, results that
// free themselves, and ledger Errors that say what to do and never show the
// password of the connection string.
//
// A Conn belongs to one thread at a time. A call on a connection that broke
// (the server restarted, the network dropped) reconnects first; if the
// server is still unreachable the call fails with a ledger error at once,
// and the next call tries again. Every statement runs under the session's
// statement_timeout, so no call waits longer than that on a stuck server or
// a held lock.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "tollgate/error.hpp"

struct pg_conn;
struct pg_result;

namespace tollgate::engine::pg {

// `postgresql://ann:***@db.internal/ledger`: the connection string (a URL or
// libpq's key=value form) with its password masked, for messages and logs.
std::string redact_conninfo(std::string_view conninfo);

// One statement's rows, values as text (libpq's text format).
class Rows {
 public:
  Rows(Rows&& other) noexcept;
  Rows& operator=(Rows&& other) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows();

  int size() const;
  bool is_null(int row, int column) const;
  // Valid while this Rows lives. "" for NULL.
  std::string_view text(int row, int column) const;
  // The value as an integer; 0 for NULL (SUM over no rows).
  int64_t integer(int row, int column) const;
  // How many rows an INSERT, UPDATE or DELETE touched.
  int64_t affected() const;

 private:
  friend class Conn;
  explicit Rows(pg_result* result) : result_(result) {}
  pg_result* result_ = nullptr;
};

class Conn {
 public:
  struct Options {
    // How long connecting may take before the call fails. A `connect_timeout`
    // in the connection string wins.
    int connect_timeout_s = 5;
    // The session's statement_timeout: the longest any one statement (a lock
    // wait included) may run before the server cancels it.
    int statement_timeout_ms = 5000;
  };

  // A statement parameter: an integer, text, or NULL (std::monostate).
  using Param = std::variant<std::monostate, int64_t, std::string_view>;

  // Connects to `conninfo` (a postgresql:// URL or key=value pairs; sslmode
  // and the rest are libpq's own). Fails with a ledger error naming the
  // server, password masked.
  static Result<Conn> connect(const std::string& conninfo, Options options);

  Conn(Conn&& other) noexcept;
  Conn& operator=(Conn&& other) noexcept;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn();

  // Runs one statement with $1, $2, ... bound to `params`. `what` names the
  // operation in an error ("lease grant").
  Result<Rows> run(std::string_view what, std::string_view sql, std::initializer_list<Param> params = {});
  // Runs a script of statements without parameters (schema migrations).
  Result<void> script(std::string_view what, std::string_view sql);
  // Opens a transaction. A connection found broken only now (the server
  // restarted since the last call) is re-opened and BEGIN sent again: nothing
  // had run yet, so the retry cannot apply anything twice.
  Result<void> begin(std::string_view what);
  Result<void> commit(std::string_view what);
  // Ends a failed transaction. A connection that broke took its transaction
  // with it, so it is left to be re-opened by the next call, not now.
  void rollback() noexcept;

  // The connection string with its password masked.
  const std::string& where() const { return where_; }

 private:
  Conn(pg_conn* conn, std::string where, std::string password, Options options)
      : conn_(conn), where_(std::move(where)), password_(std::move(password)), options_(options) {}
  Result<void> ensure_connected(std::string_view what);
  Result<void> set_up_session();
  Error failure(std::string_view what, const pg_result* result) const;

  pg_conn* conn_ = nullptr;
  std::string where_;
  std::string password_;  // only to scrub it from server messages
  Options options_;
  // Between begin() and commit() or rollback(): a broken connection then
  // fails the call instead of being re-opened, since what the transaction
  // did so far went with it.
  bool in_transaction_ = false;
};

}  // namespace tollgate::engine::pg
