#include "engine/budget/lease_store.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "engine/budget/pg_lease_store.hpp"
#include "engine/budget/sqlite_lease_store.hpp"

namespace tollgate::engine {
namespace {

// SQL both stores run, with PostgreSQL's $n parameters (the SQLite store
// reads them as ?n). "user" is quoted: PostgreSQL reserves the word.

// Answers a row only when the cap is new.
constexpr std::string_view kRegister = R"sql(
INSERT INTO cap_keys (scope, team, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1
)sql";

// The ledger's rows a new cap must count: those written before anyone
// registered it, from $4 on (later rows reach cap_spend through the
// trigger). `cost_nanos != 0` lets SQLite use the attempts_spend index.
std::string backfill_sql(CapScope scope) {
  std::string_view match = "team = $2";
  switch (scope) {
    case CapScope::team: break;
    case CapScope::user: match = "team = $2 AND \"user\" = $3"; break;
    case CapScope::route: match = "route = $3"; break;
    case CapScope::provider: match = "provider = $3"; break;
  }
  return "INSERT INTO cap_spend (scope, team, name, hour, settled_nanos) "
         "SELECT $1, $2, $3, ts_ms / 3600000, SUM(cost_nanos) FROM attempts "
         "WHERE ts_ms >= $4 AND cost_nanos != 0 AND cost_nanos > 0 AND " +
         std::string(match) +
         " GROUP BY ts_ms / 3600000 "
         "ON CONFLICT (scope, team, name, hour) "
         "DO UPDATE SET settled_nanos = cap_spend.settled_nanos + excluded.settled_nanos";
}

// Expired leases of the cap (anyone's), and the holder's leases of the
// cap's earlier windows (their headroom is of a window that is over).
constexpr std::string_view kCleanup = R"sql(
DELETE FROM cap_leases WHERE scope = $1 AND team = $2 AND name = $3
  AND (expires_ms < $4 OR (holder = $5 AND cap_window = $6 AND window_id <> $7))
)sql";

// Settled and leased in one statement, so both come from one snapshot.
constexpr std::string_view kFigures = R"sql(
SELECT
  (SELECT COALESCE(SUM(settled_nanos), 0) FROM cap_spend
    WHERE scope = $1 AND team = $2 AND name = $3 AND hour >= $4 AND hour < $5),
  (SELECT COALESCE(SUM(amount_nanos), 0) FROM cap_leases
    WHERE scope = $1 AND team = $2 AND name = $3 AND cap_window = $6 AND window_id = $7
      AND expires_ms >= $8)
)sql";

constexpr std::string_view kUpsertLease = R"sql(
INSERT INTO cap_leases (scope, team, name, cap_window, window_id, holder, amount_nanos, expires_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (scope, team, name, cap_window, window_id, holder)
DO UPDATE SET amount_nanos = cap_leases.amount_nanos + excluded.amount_nanos,
              expires_ms = excluded.expires_ms
RETURNING amount_nanos
)sql";

constexpr std::string_view kGiveBack = R"sql(
UPDATE cap_leases
   SET amount_nanos = CASE WHEN amount_nanos > $7 THEN amount_nanos - $7 ELSE 0 END
 WHERE scope = $1 AND team = $2 AND name = $3 AND cap_window = $4 AND window_id = $5
   AND holder = $6
)sql";

constexpr std::string_view kRenew = R"sql(
UPDATE cap_leases SET expires_ms = $2 WHERE holder = $1 AND expires_ms >= $3
RETURNING scope, team, name, cap_window, window_id, amount_nanos
)sql";

constexpr std::string_view kReleaseAll = "DELETE FROM cap_leases WHERE holder = $1";

std::optional<CapScope> scope_from(std::string_view s) {
  for (CapScope scope : {CapScope::team, CapScope::user, CapScope::route, CapScope::provider}) {
    if (to_string(scope) == s) return scope;
  }
  return std::nullopt;
}

int64_t to_int(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Arguments that make no sense are the caller's bug, not the store's.
Error misuse(std::string message) {
  return Error(ErrorCategory::internal, "budget lease: " + std::move(message));
}

Result<void> check_cap(const CapRef& cap) {
  const bool team_scoped = cap.scope == CapScope::team || cap.scope == CapScope::user;
  if (cap.name.empty() || team_scoped == cap.team.empty() ||
      (cap.scope == CapScope::team && cap.team != cap.name)) {
    return misuse("malformed cap '" + cap.key() +
                  "': team caps name their team twice, user caps their team and user, route "
                  "and provider caps only their name");
  }
  if (cap.cap_nanos <= 0) return misuse(cap.describe() + " has no positive cap");
  if (cap.window_start_ms >= cap.window_end_ms || cap.window_start_ms % kHourMs != 0 ||
      cap.window_end_ms % kHourMs != 0 ||
      (cap.window == SpendWindow::rolling_24h && cap.window_id != 0)) {
    return misuse(cap.describe() + " has a malformed window; build it with CapRef::at");
  }
  return {};
}

Result<void> check_holder(std::string_view holder) {
  if (holder.empty()) return misuse("a lease holder needs a non-empty id");
  return {};
}

// Where a new cap's backfill starts: the earliest hour any window of the
// cap could count at `now_ms`. The cap is registered once for all its
// windows, so a day cap registered first must not leave a month cap of the
// same team without the month's earlier rows.
int64_t backfill_since(const CapRef& cap, int64_t now_ms) {
  int64_t since = cap.window_start_ms;
  for (SpendWindow w : {SpendWindow::month, SpendWindow::rolling_24h})
    since = std::min(since, window_start_ms(w, window_id(w, now_ms)));
  return since;
}

}  // namespace

CapRef CapRef::at(CapScope scope, std::string team, std::string name, SpendWindow window,
                  int64_t cap_nanos, int64_t now_ms) {
  CapRef cap;
  cap.scope = scope;
  cap.team = std::move(team);
  cap.name = std::move(name);
  cap.window = window;
  // Qualified: the members of the same names hide spend_window.hpp's.
  const int64_t id = engine::window_id(window, now_ms);
  cap.window_id = window == SpendWindow::rolling_24h ? 0 : id;
  cap.window_start_ms = engine::window_start_ms(window, id);
  cap.window_end_ms = engine::window_end_ms(window, id);
  cap.cap_nanos = cap_nanos;
  return cap;
}

std::string CapRef::key() const {
  std::string k(to_string(scope));
  k += '/';
  k += team;
  k += '/';
  k += name;
  return k;
}

std::string CapRef::describe() const {
  std::string s(to_string(scope));
  s += " cap '";
  if (scope == CapScope::user) s += team + "/";
  s += name;
  s += "' (";
  s += to_string(window);
  s += ')';
  return s;
}

int64_t lease_slice(int64_t available, int64_t want, int64_t need) noexcept {
  if (available <= 0 || available < need) return 0;
  return std::min(available, std::max(need, std::min(want, available / 4)));
}

Result<LeaseGrant> SqlLeaseStore::grant(const CapRef& cap, std::string_view holder,
                                        int64_t want_nanos, int64_t need_nanos, int64_t now_ms,
                                        int64_t ttl_ms) {
  if (auto r = check_cap(cap); !r) return r.error();
  if (auto r = check_holder(holder); !r) return r.error();
  if (want_nanos < 0 || need_nanos < 0 || ttl_ms <= 0)
    return misuse("a grant of " + cap.describe() + " needs want >= 0, need >= 0 and ttl > 0");
  const std::string what = "a lease grant of " + cap.describe();
  if (auto r = begin(what, cap.key()); !r) return r.error();
  return finish(what, grant_in_transaction(what, cap, holder, want_nanos, need_nanos, now_ms, ttl_ms));
}

Result<LeaseGrant> SqlLeaseStore::grant_in_transaction(const std::string& what, const CapRef& cap,
                                                       std::string_view holder, int64_t want_nanos,
                                                       int64_t need_nanos, int64_t now_ms,
                                                       int64_t ttl_ms) {
  const std::string_view scope = to_string(cap.scope);
  const std::string_view window = to_string(cap.window);
  auto fresh = run(what, kRegister, {scope, cap.team, cap.name}, 1);
  if (!fresh) return fresh.error();
  if (!fresh->empty()) {
    auto r = run(what, backfill_sql(cap.scope),
                 {scope, cap.team, cap.name, backfill_since(cap, now_ms)}, 0);
    if (!r) return r.error();
  }
  if (auto r = run(what, kCleanup,
                   {scope, cap.team, cap.name, now_ms, holder, window, cap.window_id}, 0);
      !r) {
    return r.error();
  }
  auto figures = read_figures(what, cap, now_ms, /*in_transaction=*/true);
  if (!figures) return figures.error();
  LeaseGrant g;
  g.granted_nanos = lease_slice(figures->available_nanos(), std::max(want_nanos, need_nanos),
                                need_nanos);
  g.settled_nanos = figures->settled_nanos;
  g.leased_nanos = figures->leased_nanos + g.granted_nanos;
  g.cap_nanos = cap.cap_nanos;
  g.expires_ms = now_ms + ttl_ms;
  auto lease = run(what, kUpsertLease,
                   {scope, cap.team, cap.name, window, cap.window_id, holder, g.granted_nanos,
                    g.expires_ms},
                   1);
  if (!lease) return lease.error();
  if (lease->size() != 1) return Error(ErrorCategory::internal, what + ": the lease upsert returned no row");
  g.holder_nanos = to_int((*lease)[0][0]);
  return g;
}

Result<CapFigures> SqlLeaseStore::read_figures(std::string_view what, const CapRef& cap,
                                               int64_t now_ms, bool in_transaction) {
  const std::initializer_list<Param> params = {
      to_string(cap.scope), cap.team, cap.name, cap.window_start_ms / kHourMs,
      cap.window_end_ms / kHourMs, to_string(cap.window), cap.window_id, now_ms};
  auto rows = in_transaction ? run(what, kFigures, params, 2) : run_alone(what, kFigures, params, 2);
  if (!rows) return rows.error();
  if (rows->size() != 1) return Error(ErrorCategory::internal, std::string(what) + ": no figures row");
  CapFigures f;
  f.settled_nanos = to_int((*rows)[0][0]);
  f.leased_nanos = to_int((*rows)[0][1]);
  f.cap_nanos = cap.cap_nanos;
  return f;
}

Result<CapFigures> SqlLeaseStore::figures(const CapRef& cap, int64_t now_ms) {
  if (auto r = check_cap(cap); !r) return r.error();
  return read_figures("reading the figures of " + cap.describe(), cap, now_ms,
                      /*in_transaction=*/false);
}

Result<void> SqlLeaseStore::give_back(const CapRef& cap, std::string_view holder, int64_t nanos) {
  if (auto r = check_cap(cap); !r) return r.error();
  if (auto r = check_holder(holder); !r) return r.error();
  if (nanos < 0) return misuse("giving back a negative amount of " + cap.describe());
  auto r = run_alone("giving back a lease of " + cap.describe(), kGiveBack,
               {to_string(cap.scope), cap.team, cap.name, to_string(cap.window), cap.window_id,
                holder, nanos},
               0);
  if (!r) return r.error();
  return {};
}

Result<std::vector<HeldLease>> SqlLeaseStore::renew(std::string_view holder, int64_t now_ms,
                                                    int64_t ttl_ms) {
  if (auto r = check_holder(holder); !r) return r.error();
  if (ttl_ms <= 0) return misuse("renewing leases needs ttl > 0");
  const std::string what = "renewing the leases of '" + std::string(holder) + "'";
  auto rows = run_alone(what, kRenew, {holder, now_ms + ttl_ms, now_ms}, 6);
  if (!rows) return rows.error();
  std::vector<HeldLease> held;
  for (const auto& row : *rows) {
    auto scope = scope_from(row[0]);
    auto window = spend_window_from(row[3]);
    if (!scope || !window)
      return Error(ErrorCategory::ledger, what + ": the store holds a lease of unknown cap '" +
                                              row[0] + "/" + row[3] +
                                              "'; was it written by a newer tollgate?");
    held.push_back(HeldLease{*scope, row[1], row[2], *window, to_int(row[4]), to_int(row[5])});
  }
  return held;
}

Result<void> SqlLeaseStore::release_all(std::string_view holder) {
  if (auto r = check_holder(holder); !r) return r.error();
  auto r = run_alone("releasing the leases of '" + std::string(holder) + "'", kReleaseAll,
                     {holder}, 0);
  if (!r) return r.error();
  return {};
}

Result<std::unique_ptr<LeaseStore>> open_lease_store(const std::string& where) {
  const bool postgres = where.starts_with("postgresql://") || where.starts_with("postgres://") ||
                        where.find('=') != std::string::npos;
  if (postgres) {
    auto store = PgLeaseStore::open(where);
    if (!store) return store.error();
    return std::unique_ptr<LeaseStore>(std::move(*store));
  }
  auto store = SqliteLeaseStore::open(where);
  if (!store) return store.error();
  return std::unique_ptr<LeaseStore>(std::move(*store));
}

}  // namespace tollgate::engine
