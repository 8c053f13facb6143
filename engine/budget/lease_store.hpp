// Budget leases: the store side of spend caps shared by many processes.
//
// SpendGate holds a cap inside one process. To hold it across processes
// and machines, a cap's headroom lives in a shared store (the SQLite ledger
// file for processes on one machine, PostgreSQL for many), and an instance
// (a *holder*) takes a lease: a slice of the cap's remaining headroom, which
// it admits reservations against locally. The store keeps, for every cap
// and window, at every committed moment:
//
//     settled + Σ leases of live holders ≤ cap
//
// - A grant is one transaction that never hands out more than
//   cap − settled − leased (to anyone, this holder included).
// - Settling is the database's own work: a trigger on the ledger's
//   `attempts` table adds a row's cost to the settled spend of every cap the
//   row matches and, for a row carrying its writer's holder id, takes the
//   same cost off that holder's leases, in the row's own transaction. A row
//   therefore moves money from a lease to settled and leaves the sum alone
//   (unless it costs more than its writer still held: spend beyond a
//   worst case is charged in full, as in SpendGate, and then the sum grows).
// - A lease has an expiry: a holder that dies without returning its leases
//   loses them after the TTL, and the next grant of the cap hands their
//   headroom to the others. A live holder renews well before that, and a
//   clean stop returns everything once its rows are committed.
//
// Settled spend is kept per UTC hour for the caps some holder registered
// (the first grant registers a cap and backfills it from the ledger's rows
// since the start of the longest window), so every window — a calendar
// hour, day or month, or the rolling 24 hours — is a sum of hours.
//
// Thread-safety: a LeaseStore owns one connection and is used by one thread
// at a time; give each thread (or process) its own.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/budget/spend_gate.hpp"
#include "engine/budget/spend_window.hpp"
#include "tollgate/error.hpp"

namespace tollgate::engine {

// One cap in one window, as SpendGate names it.
struct CapRef {
  CapScope scope = CapScope::team;
  std::string team;  // the team (team and user caps); empty for route and provider caps
  std::string name;  // the team, user, route or provider name
  SpendWindow window = SpendWindow::day;
  // Which window a lease belongs to: the calendar window's id (window_id()),
  // 0 for rolling_24h, whose leases carry over from hour to hour.
  int64_t window_id = 0;
  // The settled spend that counts against the cap: the UTC hours in
  // [window_start_ms, window_end_ms). Whole hours.
  int64_t window_start_ms = 0, window_end_ms = 0;
  int64_t cap_nanos = 0;

  // The cap's current window at `now_ms`. For a team cap pass the team as
  // both team and name; route and provider caps take an empty team.
  static CapRef at(CapScope scope, std::string team, std::string name, SpendWindow window,
                   int64_t cap_nanos, int64_t now_ms);
  // "team/support/support": the cap's identity, which grants of the cap
  // serialize on.
  std::string key() const;
  // "team cap 'support' (day)": for messages.
  std::string describe() const;
};

struct LeaseGrant {
  int64_t granted_nanos = 0;  // added to the holder's lease by this grant (0: refused)
  int64_t holder_nanos = 0;   // the holder's lease for this cap and window afterwards
  int64_t settled_nanos = 0;  // settled in the window
  int64_t leased_nanos = 0;   // held by all live holders afterwards, this one included
  int64_t cap_nanos = 0;
  int64_t expires_ms = 0;     // when the holder's leases lapse unless renewed
};

struct CapFigures {
  int64_t settled_nanos = 0;  // settled in the window
  int64_t leased_nanos = 0;   // held by all live holders
  int64_t cap_nanos = 0;
  int64_t available_nanos() const { return cap_nanos - settled_nanos - leased_nanos; }
};

// One lease a holder still has (renew's answer).
struct HeldLease {
  CapScope scope = CapScope::team;
  std::string team, name;
  SpendWindow window = SpendWindow::day;
  int64_t window_id = 0;
  int64_t amount_nanos = 0;
};

// How much a grant hands out when `available` is free: nothing when that is
// less than the `need` (the reservation waiting for it); otherwise the
// `want`, cut to a quarter of what is free but never below the need, so
// slices shrink as the cap fills and the last of it can still be spent.
int64_t lease_slice(int64_t available, int64_t want, int64_t need) noexcept;

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;

  // Grants `holder` up to `want_nanos` more of `cap` (at least `need_nanos`,
  // or nothing: see lease_slice), in one transaction that also registers a
  // new cap (backfilling its settled spend from the ledger), drops expired
  // leases of the cap and the holder's leases of the cap's earlier windows,
  // and sets the holder's expiry to now + ttl. A refusal (granted 0) is a
  // value, not an error; errors are the store's (category ledger).
  virtual Result<LeaseGrant> grant(const CapRef& cap, std::string_view holder, int64_t want_nanos,
                                   int64_t need_nanos, int64_t now_ms, int64_t ttl_ms) = 0;
  // Returns up to `nanos` of the holder's lease (a lease never goes below 0).
  virtual Result<void> give_back(const CapRef& cap, std::string_view holder, int64_t nanos) = 0;
  // Extends every live lease of the holder to now + ttl and lists them with
  // their amounts (which the holder's committed rows have reduced). A lease
  // that already lapsed is not revived and is missing from the list: its
  // headroom may be someone else's now.
  virtual Result<std::vector<HeldLease>> renew(std::string_view holder, int64_t now_ms,
                                               int64_t ttl_ms) = 0;
  // Drops every lease of the holder (a clean stop, after its rows are
  // committed: rows committed later still settle, but no longer against a
  // lease).
  virtual Result<void> release_all(std::string_view holder) = 0;
  // The cap's settled spend and live leases now, read in one snapshot.
  virtual Result<CapFigures> figures(const CapRef& cap, int64_t now_ms) = 0;
};

// Opens the lease store `where` names: a PostgreSQL connection string
// (postgresql://... or libpq's key=value pairs) or a SQLite ledger file.
Result<std::unique_ptr<LeaseStore>> open_lease_store(const std::string& where);

// The protocol written once over SQL both stores speak; each store supplies
// its connection, its transaction and its statement runner. SQL is written
// with PostgreSQL's $1, $2 parameters.
class SqlLeaseStore : public LeaseStore {
 public:
  Result<LeaseGrant> grant(const CapRef& cap, std::string_view holder, int64_t want_nanos,
                           int64_t need_nanos, int64_t now_ms, int64_t ttl_ms) override;
  Result<void> give_back(const CapRef& cap, std::string_view holder, int64_t nanos) override;
  Result<std::vector<HeldLease>> renew(std::string_view holder, int64_t now_ms,
                                       int64_t ttl_ms) override;
  Result<void> release_all(std::string_view holder) override;
  Result<CapFigures> figures(const CapRef& cap, int64_t now_ms) override;

 protected:
  using Param = std::variant<std::monostate, int64_t, std::string_view>;
  using SqlRows = std::vector<std::vector<std::string>>;  // values as text

  // Runs one statement, returning the first `columns` columns of its rows.
  virtual Result<SqlRows> run(std::string_view what, std::string_view sql,
                              std::initializer_list<Param> params, int columns) = 0;
  // Runs one statement in a transaction of its own. By default the
  // statement alone (atomic by itself); a store whose connection can break
  // wraps it so that a restarted server is retried safely.
  virtual Result<SqlRows> run_alone(std::string_view what, std::string_view sql,
                                    std::initializer_list<Param> params, int columns) {
    return run(what, sql, params, columns);
  }
  // Opens a write transaction in which no other grant of the cap `key` runs.
  virtual Result<void> begin(std::string_view what, const std::string& key) = 0;
  virtual Result<void> commit(std::string_view what) = 0;
  virtual void rollback() noexcept = 0;

  // Ends the open transaction: commits what the body did, or rolls it back
  // when the body or the commit failed.
  template <typename T>
  Result<T> finish(std::string_view what, Result<T> body) {
    if (!body) {
      rollback();
      return body;
    }
    if (auto r = commit(what); !r) {
      rollback();
      return r.error();
    }
    return body;
  }

 private:
  Result<LeaseGrant> grant_in_transaction(const std::string& what, const CapRef& cap,
                                          std::string_view holder, int64_t want_nanos,
                                          int64_t need_nanos, int64_t now_ms, int64_t ttl_ms);
  Result<CapFigures> read_figures(std::string_view what, const CapRef& cap, int64_t now_ms,
                                  bool in_transaction);
};

}  // namespace tollgate::engine
