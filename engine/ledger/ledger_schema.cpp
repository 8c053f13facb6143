#include "engine/ledger/ledger_schema.hpp"

#include <array>
#include <string>
#include <string_view>

namespace tollgate::engine {
namespace {

// Index i holds migration i+1.
constexpr std::array<std::string_view, 3> kMigrations = {
    // 1: one row per attempt, quality scores against attempts.
    R"sql(
CREATE TABLE attempts (
  id                  INTEGER PRIMARY KEY,
  request_id          TEXT    NOT NULL,
  attempt             INTEGER NOT NULL,
  ts_ms               INTEGER NOT NULL,
  team                TEXT    NOT NULL,
  user                TEXT    NOT NULL DEFAULT '',
  tags                TEXT    NOT NULL DEFAULT '{}',
  task                TEXT    NOT NULL DEFAULT '',
  route               TEXT    NOT NULL DEFAULT '',
  provider            TEXT    NOT NULL DEFAULT '',
  model               TEXT    NOT NULL DEFAULT '',
  status              TEXT    NOT NULL,
  input_tokens        INTEGER NOT NULL DEFAULT 0,
  cached_input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens       INTEGER NOT NULL DEFAULT 0,
  cost_nanos          INTEGER NOT NULL DEFAULT 0,
  saved_nanos         INTEGER NOT NULL DEFAULT 0,
  latency_ms          INTEGER,
  ttft_ms             INTEGER,
  error_category      TEXT    NOT NULL DEFAULT '',
  error_message       TEXT    NOT NULL DEFAULT '',
  UNIQUE (request_id, attempt)
);
CREATE INDEX attempts_by_time ON attempts (ts_ms);
CREATE TABLE quality (
  id         INTEGER PRIMARY KEY,
  request_id TEXT    NOT NULL,
  attempt    INTEGER NOT NULL,
  ts_ms      INTEGER NOT NULL,
  score      REAL    NOT NULL CHECK (score >= 0 AND score <= 1),
  source     TEXT    NOT NULL DEFAULT '',
  model      TEXT    NOT NULL,
  task       TEXT    NOT NULL,
  route      TEXT    NOT NULL
);
CREATE INDEX quality_by_request ON quality (request_id, attempt);
CREATE INDEX quality_by_time ON quality (ts_ms);
)sql",
    // 2: the spend rebuild at start reads (time, who, cost) of every costed
    // row in the longest cap window. A covering partial index makes that an
    // index-only range scan that skips free rows (cache hits, denials), and
    // keeps the budget queries our peers saw saturate their databases off
    // the table itself.
    R"sql(
CREATE INDEX attempts_spend ON attempts (ts_ms, team, user, route, provider, cost_nanos)
  WHERE cost_nanos != 0;
)sql",
    // 3: budget leases, caps shared by processes (engine/budget/
    // lease_store.hpp). The holder (instance) that wrote a row; the caps
    // some holder registered; their settled spend per UTC hour; the leases
    // holders took. A costed row settles in its own transaction: the trigger
    // adds its cost to every registered cap it matches and takes it off its
    // writer's leases of those caps (never below 0), so settled + leased
    // stays put. `window` is an SQL keyword (PostgreSQL reserves it), hence
    // cap_window.
    R"sql(
ALTER TABLE attempts ADD COLUMN holder TEXT;
CREATE TABLE cap_keys (
  scope TEXT NOT NULL, team TEXT NOT NULL, name TEXT NOT NULL,
  PRIMARY KEY (scope, team, name)
) WITHOUT ROWID;
CREATE TABLE cap_spend (
  scope TEXT NOT NULL, team TEXT NOT NULL, name TEXT NOT NULL,
  hour          INTEGER NOT NULL,
  settled_nanos INTEGER NOT NULL,
  PRIMARY KEY (scope, team, name, hour)
) WITHOUT ROWID;
CREATE TABLE cap_leases (
  scope TEXT NOT NULL, team TEXT NOT NULL, name TEXT NOT NULL,
  cap_window   TEXT    NOT NULL,
  window_id    INTEGER NOT NULL,
  holder       TEXT    NOT NULL,
  amount_nanos INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL,
  PRIMARY KEY (scope, team, name, cap_window, window_id, holder)
) WITHOUT ROWID;
CREATE INDEX cap_leases_by_holder ON cap_leases (holder);
CREATE TRIGGER attempts_settle_caps AFTER INSERT ON attempts WHEN NEW.cost_nanos > 0
BEGIN
  INSERT INTO cap_spend (scope, team, name, hour, settled_nanos)
  SELECT c.scope, c.team, c.name, NEW.ts_ms / 3600000, NEW.cost_nanos FROM cap_keys c
   WHERE (c.scope = 'team' AND c.team = NEW.team AND c.name = NEW.team)
      OR (c.scope = 'user' AND c.team = NEW.team AND c.name = NEW.user)
      OR (c.scope = 'route' AND c.team = '' AND c.name = NEW.route)
      OR (c.scope = 'provider' AND c.team = '' AND c.name = NEW.provider)
  ON CONFLICT (scope, team, name, hour)
  DO UPDATE SET settled_nanos = cap_spend.settled_nanos + excluded.settled_nanos;
  UPDATE cap_leases SET amount_nanos = MAX(amount_nanos - NEW.cost_nanos, 0)
   WHERE NEW.holder IS NOT NULL AND holder = NEW.holder
     AND ((scope = 'team' AND team = NEW.team AND name = NEW.team)
       OR (scope = 'user' AND team = NEW.team AND name = NEW.user)
       OR (scope = 'route' AND team = '' AND name = NEW.route)
       OR (scope = 'provider' AND team = '' AND name = NEW.provider));
END;
)sql",
};

}  // namespace

int ledger_schema_version() noexcept { return static_cast<int>(kMigrations.size()); }

Result<void> migrate_ledger(sql::Db& db, int target) {
  if (target < 0) target = ledger_schema_version();
  // BEGIN IMMEDIATE: two processes opening one new file must not both
  // run migration 1.
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return r;
  auto version = db.query_int("PRAGMA user_version");
  if (!version) {
    (void)db.exec("ROLLBACK");
    return version.error();
  }
  if (*version > ledger_schema_version()) {
    (void)db.exec("ROLLBACK");
    return Error(ErrorCategory::ledger,
                 "the ledger '" + db.path() + "' has schema version " + std::to_string(*version) +
                     ", newer than this tollgate understands (" +
                     std::to_string(ledger_schema_version()) +
                     "); upgrade tollgate or point ledger_path at another file");
  }
  for (int v = static_cast<int>(*version); v < target; ++v) {
    if (auto r = db.exec(kMigrations[static_cast<size_t>(v)]); !r) {
      (void)db.exec("ROLLBACK");
      return Error(ErrorCategory::ledger,
                   "migration " + std::to_string(v + 1) + " failed: " + r.error().message());
    }
  }
  if (target > *version) {
    if (auto r = db.exec("PRAGMA user_version = " + std::to_string(target)); !r) {
      (void)db.exec("ROLLBACK");
      return r;
    }
  }
  if (auto r = db.exec("COMMIT"); !r) {
    (void)db.exec("ROLLBACK");
    return r;
  }
  return {};
}

}  // namespace tollgate::engine
