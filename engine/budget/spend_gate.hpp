// Spend caps that hold under concurrency: reserve before dispatch, settle
// after.
//
// A request reserves its worst-case cost against every cap that applies to
// it (its team's, its user's, its route's, its provider's) before it is
// sent. A reservation is admitted only if, for each cap, settled spend +
// everything reserved + this worst case stays within the cap, so requests
// in flight together can never overshoot it. After the response the
// reservation settles to the real cost and gives the rest back; a failed or
// cancelled request gives it all back — Reservation does that in its
// destructor, so a forgotten one cannot leak.
//
// Windows: calendar hour, day and month in UTC, and a rolling 24 hours (see
// spend_window.hpp). A request is charged to the window it settles in.
// Declared teams always track day and month spend, capped or not, so
// policies and GET /v1/spend can show them.
//
// Counters live in memory; Ledger::rebuild_spend fills them from the ledger
// at start, so a restart does not reset a cap.
//
// Shared caps (enable_leases): a capped counter then admits reservations
// against the lease this instance holds on the cap in a shared store
// (engine/budget/lease_store.hpp), not against its own view of the spend,
// so every instance sharing the store holds one cap together. A lease is
// topped up from outside (LeaseKeeper, grant_lease); a reservation the lease
// cannot cover fails with a LeaseShortfall the caller may wait on. Time is always passed in
// (unix ms): the caller's clock is the gate's clock, which tests inject.
//
// Thread-safety: every member of SpendGate may be called from any thread.
// reserve() and settle() lock one small mutex per cap in turn, never two at
// once. A Reservation is used by one thread at a time, and must not outlive
// its gate.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/declarations.hpp"
#include "engine/budget/spend_window.hpp"
#include "tollgate/error.hpp"
#include "tollgate/money.hpp"

namespace tollgate::engine {

enum class CapScope : uint8_t { team, user, route, provider };
std::string_view to_string(CapScope scope) noexcept;

// Who a request charges. Empty fields match nothing.
struct SpendKeys {
  std::string_view team, user, route, provider;
};

// One cap's state at a moment.
struct SpendSnapshot {
  CapScope scope = CapScope::team;
  std::string team;      // the team (also for user scope)
  std::string name;      // the team, user, route or provider name
  SpendWindow window = SpendWindow::day;
  Money spent;           // settled in the current window
  Money reserved;        // held by requests in flight
  std::optional<Money> cap;  // none: tracked, not capped
  int64_t window_start_ms = 0, window_end_ms = 0;
  // cap - spent - reserved (negative when spend overran a worst case); none
  // without a cap.
  std::optional<Money> remaining() const;
};

// Fired once per cap and window when settled spend reaches the soft limit
// (the team's soft_limit fraction, 0.8 for route and provider caps). For a
// rolling window: again only after spend fell back below it.
struct SoftLimitEvent {
  SpendSnapshot state;
  double soft_limit = 0.8;  // the fraction that was crossed
};

class SpendGate;
struct SpendCounter;

// A capped counter a reservation found short of lease, and by how much.
struct LeaseShortfall {
  SpendCounter* counter = nullptr;
  int64_t nanos = 0;
};

// A leased cap as the keeper of leases sees it.
struct LeaseSlot {
  SpendCounter* counter = nullptr;
  CapScope scope = CapScope::team;
  std::string team, name;
  SpendWindow window = SpendWindow::day;
  int64_t cap_nanos = 0;
  int64_t lease_nanos = 0;     // held for the current window: reserved + free
  int64_t reserved_nanos = 0;  // held by requests in flight
  int64_t demand_nanos = 0;    // the largest reservation seen since the last look
};

class Reservation {
 public:
  static constexpr int kMaxCounters = 16;  // 4 scopes x 4 windows

  Reservation() = default;  // holds nothing
  Reservation(Reservation&& other) noexcept;
  Reservation& operator=(Reservation&& other) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  // Releases whatever is still held (a failed or cancelled request).
  ~Reservation() { release(); }

  // Charges `actual` to every cap at `now_ms` and releases the rest. The
  // actual cost may exceed the worst case (a provider that over-reports);
  // the money was spent, so it is charged in full. Then holds nothing.
  void settle(Money actual, int64_t now_ms);
  // Gives the whole worst case back without charging. Then holds nothing.
  void release() noexcept;

  bool active() const { return gate_ != nullptr; }
  Money amount() const { return amount_; }

 private:
  friend class SpendGate;
  SpendGate* gate_ = nullptr;
  Money amount_;
  int count_ = 0;
  std::array<SpendCounter*, kMaxCounters> counters_{};
};

class SpendGate {
 public:
  SpendGate();
  SpendGate(const SpendGate&) = delete;
  SpendGate& operator=(const SpendGate&) = delete;
  ~SpendGate();

  // Installs the caps a policy declares: teams (with their users), routes
  // and providers. Callable again on a policy reload: counters of caps that
  // stay keep their spend and reservations; new limits apply to the next
  // reserve. Fails with a config error naming `file:line` for an unknown
  // window name, a repeated window, or a cap that is not positive.
  Result<void> configure(const dsl::PolicyDecls& decls);

  // Reserves `worst_case` against every cap that applies, or fails with a
  // budget error naming the team, the cap's scope and window, the cap, the
  // spent and the reserved amounts. Nothing is held when it fails. With
  // leases, a cap whose lease is short fails it too; when `shortfall` is
  // given and a lease was the only obstacle, it names the counters and the
  // amounts to ask the store for (and the error says the cap is exhausted
  // should the caller not wait).
  Result<Reservation> reserve(const SpendKeys& keys, Money worst_case, int64_t now_ms,
                              std::vector<LeaseShortfall>* shortfall = nullptr);

  // Shared caps: from now on capped counters admit against leases. Call
  // before the first reserve. `ttl_ms` is how long a lease lives unrenewed.
  void enable_leases(int64_t ttl_ms);
  bool leases_enabled() const { return lease_ttl_ms_ > 0; }
  // The leased caps now, with their lease state, for the keeper.
  std::vector<LeaseSlot> lease_slots(int64_t now_ms);
  // One counter's slot (a shortfall's), as lease_slots gives it.
  LeaseSlot lease_slot(SpendCounter* counter, int64_t now_ms);
  // Adds `granted` to the counter's lease for the window current at
  // `now_ms`, never above `store_amount` (the store's figure for this
  // instance's lease, which its uncommitted settles keep at or above the
  // truth), and marks the lease good until `valid_until_ms`.
  void grant_lease(SpendCounter* counter, int64_t granted, int64_t store_amount, int64_t now_ms,
                   int64_t valid_until_ms);
  // Takes up to `nanos` of the counter's free lease (not what requests in
  // flight hold) to give back to the store; returns what it took.
  int64_t take_back_lease(SpendCounter* counter, int64_t nanos);
  // A renewal: the counter's lease is at most `store_amount` (0: it lapsed)
  // and good until `valid_until_ms`.
  void renew_lease(SpendCounter* counter, int64_t store_amount, int64_t valid_until_ms);
  // The store's view of a leased cap, for denial messages and snapshots:
  // settled by every instance, and held in leases by every instance.
  void note_fleet_figures(SpendCounter* counter, int64_t settled_nanos, int64_t leased_nanos);

  // Charges already-settled spend (the rebuild at start). Spend outside the
  // current window of a cap is ignored by that cap.
  void add_settled(const SpendKeys& keys, Money cost, int64_t time_ms);
  // The earliest time any configured window reaches back to from `now_ms`:
  // what a rebuild must read from.
  int64_t rebuild_since(int64_t now_ms) const;

  // One cap's state; none when that scope has no counter for the window.
  // For CapScope::user both keys.team and keys.user are used; for the other
  // scopes only the matching key.
  std::optional<SpendSnapshot> snapshot(CapScope scope, const SpendKeys& keys, SpendWindow window,
                                        int64_t now_ms) const;
  std::optional<SpendSnapshot> snapshot(std::string_view team, SpendWindow window,
                                        int64_t now_ms) const {
    return snapshot(CapScope::team, SpendKeys{team, {}, {}, {}}, window, now_ms);
  }
  // Every counter of the current configuration (GET /v1/spend).
  std::vector<SpendSnapshot> snapshots(int64_t now_ms) const;

  // Subscribes to soft-limit events (replacing any earlier subscriber). The
  // callback runs on the thread that settled the crossing request, after the
  // gate's locks are released; keep it short and do not call settle from it.
  void on_soft_limit(std::function<void(const SoftLimitEvent&)> callback);

  // The reservations every counter holds, summed (a request held against a
  // day and a month cap counts twice): zero exactly when nothing is in
  // flight. For leak checks and metrics.
  Money total_reserved() const;

  struct Table;

 private:
  friend class Reservation;
  void settle(Reservation& r, Money actual, int64_t now_ms);
  void release(Reservation& r) noexcept;
  SpendCounter* counter_for(CapScope scope, const std::string& team, const std::string& name,
                            SpendWindow window);

  std::atomic<const Table*> table_{nullptr};
  // Configure calls, the counter registry and retired tables. Counters and
  // tables are never freed before the gate: a reserve that loaded a table
  // just before a reload still points at live memory.
  mutable std::mutex config_mu_;
  std::vector<std::unique_ptr<SpendCounter>> counters_;
  std::map<std::string, SpendCounter*, std::less<>> index_;  // "scope/team/name/window"
  std::vector<std::unique_ptr<const Table>> tables_;

  std::mutex callback_mu_;
  std::function<void(const SoftLimitEvent&)> callback_;
  std::atomic<int64_t> lease_ttl_ms_{0};  // > 0: capped counters admit against leases
};

}  // namespace tollgate::engine
