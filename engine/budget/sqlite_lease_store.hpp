// Budget leases in the SQLite ledger file: caps shared by the processes of
// one machine (see lease_store.hpp for the protocol).
//
// The store opens its own connection to the ledger file and brings the
// schema up to date as the ledger does. A grant is a BEGIN IMMEDIATE
// transaction: SQLite's one writer at a time is what serializes grants.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "engine/budget/lease_store.hpp"
#include "engine/ledger/ledger_sqlite.hpp"

namespace tollgate::engine {

class SqliteLeaseStore final : public SqlLeaseStore {
 public:
  struct Options {
    // How long a grant waits for another process's write transaction (a
    // ledger batch, another grant) before it fails.
    int busy_timeout_ms = 5000;
  };
  static Result<std::unique_ptr<SqliteLeaseStore>> open(const std::string& path, Options options);
  static Result<std::unique_ptr<SqliteLeaseStore>> open(const std::string& path) {
    return open(path, Options{});
  }

 protected:
  Result<SqlRows> run(std::string_view what, std::string_view sql,
                      std::initializer_list<Param> params, int columns) override;
  Result<void> begin(std::string_view what, const std::string& key) override;
  Result<void> commit(std::string_view what) override;
  void rollback() noexcept override;

 private:
  explicit SqliteLeaseStore(sql::Db db) : db_(std::move(db)) {}
  Result<void> exec(std::string_view what, std::string_view sql);

  sql::Db db_;
  std::map<std::string, sql::Stmt, std::less<>> statements_;  // by SQL text
};

}  // namespace tollgate::engine
