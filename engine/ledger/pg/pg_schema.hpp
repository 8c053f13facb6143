// The PostgreSQL ledger's schema, created and upgraded through numbered
// migrations, as ledger_schema.hpp does for SQLite.
//
// The version lives in a one-row `schema_version` table. Migration N takes
// a database at version N-1 to N in one transaction, under an advisory lock
// so two instances starting at once do not both run it. Append-only: never
// edit a shipped migration, add the next number.
#pragma once

#include "engine/ledger/pg/pg_conn.hpp"
#include "tollgate/error.hpp"

namespace tollgate::engine::pg {

// The version this build writes and understands.
int schema_version() noexcept;

// Brings the database to the latest version. Fails, touching nothing, on a
// database newer than this build.
Result<void> migrate(Conn& conn);

}  // namespace tollgate::engine::pg
