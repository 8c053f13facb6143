// The ledger's schema, created and upgraded through numbered migrations.
//
// The schema version lives in SQLite's `PRAGMA user_version`. Migration N
// takes a database at version N-1 to N inside one transaction, so a crash
// mid-upgrade leaves the previous version intact. Migrations are append-only:
// never edit a shipped one, add the next number.
#pragma once

#include "engine/ledger/ledger_sqlite.hpp"
#include "tollgate/error.hpp"

namespace tollgate::engine {

// The version this build writes and understands.
int ledger_schema_version() noexcept;

// Brings `db` to version `target` (default: the latest) by running the
// migrations it lacks. Fails, touching nothing, on a database newer than
// this build (written by a later tollgate) or whose migrations fail.
Result<void> migrate_ledger(sql::Db& db, int target = -1);

}  // namespace tollgate::engine
