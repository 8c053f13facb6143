// Budget leases in PostgreSQL: caps shared by instances on many machines
// (see lease_store.hpp for the protocol).
//
// The store owns one connection, which it re-opens at the next call after
// the server went away, and creates or upgrades the schema when it opens
// (pg_schema.hpp). A grant runs in one READ COMMITTED transaction holding a
// transaction-scoped advisory lock on the cap's key, so grants of one cap
// serialize while grants of different caps run side by side; the ledger's
// trigger takes the same keys shared, so a row being inserted and a grant
// registering the cap it matches never miss each other.
#pragma once

#include <memory>
#include <string>

#include "engine/budget/lease_store.hpp"
#include "engine/ledger/pg/pg_conn.hpp"

namespace tollgate::engine {

class PgLeaseStore final : public SqlLeaseStore {
 public:
  // `conninfo`: a postgresql:// URL or libpq key=value pairs (sslmode and
  // the rest as libpq reads them).
  static Result<std::unique_ptr<PgLeaseStore>> open(const std::string& conninfo,
                                                    pg::Conn::Options options);
  static Result<std::unique_ptr<PgLeaseStore>> open(const std::string& conninfo) {
    return open(conninfo, pg::Conn::Options{});
  }

 protected:
  Result<SqlRows> run(std::string_view what, std::string_view sql,
                      std::initializer_list<Param> params, int columns) override;
  Result<SqlRows> run_alone(std::string_view what, std::string_view sql,
                            std::initializer_list<Param> params, int columns) override;
  Result<void> begin(std::string_view what, const std::string& key) override;
  Result<void> commit(std::string_view what) override;
  void rollback() noexcept override;

 private:
  explicit PgLeaseStore(pg::Conn conn) : conn_(std::move(conn)) {}

  pg::Conn conn_;
};

}  // namespace tollgate::engine
