#include "engine/budget/pg_lease_store.hpp"

#include "engine/ledger/pg/pg_schema.hpp"

namespace tollgate::engine {

Result<std::unique_ptr<PgLeaseStore>> PgLeaseStore::open(const std::string& conninfo,
                                                         pg::Conn::Options options) {
  auto conn = pg::Conn::connect(conninfo, options);
  if (!conn) return conn.error();
  if (auto r = pg::migrate(*conn); !r) return r.error();
  return std::unique_ptr<PgLeaseStore>(new PgLeaseStore(std::move(*conn)));
}

Result<void> PgLeaseStore::begin(std::string_view what, const std::string& key) {
  if (auto r = conn_.begin(what); !r) return r;
  // Grants of this cap wait here for each other (and for rows being
  // inserted that match it: the trigger holds the key shared), so the
  // figures read next stay true until this transaction commits.
  auto r = conn_.run(what, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                     {std::string_view(key)});
  if (!r) {
    rollback();
    return r.error();
  }
  return {};
}

Result<SqlLeaseStore::SqlRows> PgLeaseStore::run_alone(std::string_view what, std::string_view sql,
                                                       std::initializer_list<Param> params,
                                                       int columns) {
  // In a transaction of its own so that a connection the server dropped
  // since the last call is caught, and re-opened, by BEGIN, which is safe to
  // send twice; a statement sent on a dead connection might have run.
  if (auto r = conn_.begin(what); !r) return r.error();
  return finish(what, run(what, sql, params, columns));
}

Result<void> PgLeaseStore::commit(std::string_view what) { return conn_.commit(what); }

void PgLeaseStore::rollback() noexcept { conn_.rollback(); }

Result<SqlLeaseStore::SqlRows> PgLeaseStore::run(std::string_view what, std::string_view sql,
                                                 std::initializer_list<Param> params, int columns) {
  auto result = conn_.run(what, sql, params);
  if (!result) return result.error();
  SqlRows rows(static_cast<size_t>(result->size()));
  for (int r = 0; r < result->size(); ++r) {
    for (int c = 0; c < columns; ++c) rows[static_cast<size_t>(r)].emplace_back(result->text(r, c));
  }
  return rows;
}

}  // namespace tollgate::engine
