#include "engine/budget/spend_gate.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>

namespace tollgate::engine {

namespace {

constexpr int64_t kNoCap = std::numeric_limits<int64_t>::max();
constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
constexpr int kRollingHours = 24;

struct StrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StrMap = std::unordered_map<std::string, V, StrHash, std::equal_to<>>;

using Counters = std::vector<SpendCounter*>;

}  // namespace

// One cap (or tracked total) for one scope and window. Everything below the
// mutex is guarded by it.
struct SpendCounter {
  CapScope scope = CapScope::team;
  std::string team, name;
  SpendWindow window = SpendWindow::day;

  std::mutex mu;
  int64_t limit = kNoCap;
  int64_t soft = kNoCap;        // nanos at which the soft event fires
  double soft_fraction = 0.8;
  int64_t id = kNever;          // the window (rolling: the hour) the figures are for
  int64_t spent = 0;            // settled in the window (rolling: sum of hours)
  std::array<int64_t, kRollingHours> hours{};  // rolling only: settled per hour, by hour % 24
  int64_t reserved = 0;
  int64_t soft_fired = kNever;  // window id whose soft event fired (rolling: any id = fired)

  // Shared caps (SpendGate::enable_leases): the lease this instance holds
  // on the cap for window `lease_window` (reserved + free; a settle spends
  // it), good until `lease_until_ms`; the largest reservation wanted since
  // the keeper last looked; and the store's figures as last read (-1: none).
  int64_t lease = 0;
  int64_t lease_window = kNever;
  int64_t lease_until_ms = 0;
  int64_t demand = 0;
  int64_t fleet_settled = -1, fleet_leased = -1;

  bool rolling() const { return window == SpendWindow::rolling_24h; }

  // A rolling cap keeps one lease across its hours; a calendar cap's lease
  // is its window's, and a new window starts with none.
  void roll_lease(int64_t window_id) {
    const int64_t w = rolling() ? 0 : window_id;
    if (w == lease_window) return;
    lease = 0;
    lease_window = w;
    fleet_settled = fleet_leased = -1;
  }

  static size_t slot(int64_t hour) {
    return static_cast<size_t>(((hour % kRollingHours) + kRollingHours) % kRollingHours);
  }

  // Moves the figures forward to window `to`, dropping what fell out.
  void advance(int64_t to) {
    if (to <= id) return;
    if (!rolling()) {
      spent = 0;
    } else if (id == kNever || to - id >= kRollingHours) {
      hours.fill(0);
      spent = 0;
    } else {
      for (int64_t h = id + 1; h <= to; ++h) {
        spent -= hours[slot(h)];
        hours[slot(h)] = 0;
      }
    }
    id = to;
  }

  // Adds settled spend made in window `at`; spend older than the current
  // window does not count.
  void charge(int64_t at, int64_t nanos) {
    advance(at);
    if (!rolling()) {
      if (at == id) spent += nanos;
    } else if (at > id - kRollingHours) {
      hours[slot(at)] += nanos;
      spent += nanos;
    }
  }

  // True once per window when spend reaches the soft limit. A rolling window
  // re-arms when spend falls back under it.
  bool soft_crossed() {
    if (soft == kNoCap) return false;
    if (spent < soft) {
      if (rolling()) soft_fired = kNever;
      return false;
    }
    if (rolling() ? soft_fired != kNever : soft_fired == id) return false;
    soft_fired = id;
    return true;
  }

  SpendSnapshot snapshot() const {
    SpendSnapshot s;
    s.scope = scope;
    s.team = team;
    s.name = name;
    s.window = window;
    // A shared cap shows what every instance settled, as the store said.
    s.spent = Money::from_nanos(std::max(spent, fleet_settled));
    s.reserved = Money::from_nanos(reserved);
    if (limit != kNoCap) s.cap = Money::from_nanos(limit);
    s.window_start_ms = window_start_ms(window, id);
    s.window_end_ms = window_end_ms(window, id);
    return s;
  }
};

struct SpendGate::Table {
  struct Team {
    Counters counters;
    StrMap<Counters> users;
  };
  StrMap<Team> teams;
  StrMap<Counters> routes, providers;
  // Windows any counter uses, for rebuild_since.
  bool has[4] = {false, false, false, false};
};

namespace {

// Calls fn(Counters&) for every counter list of the configuration: each
// team's, each of its users', each route's and each provider's.
template <typename F>
void for_each_counter_list(const SpendGate::Table& table, F&& fn) {
  for (const auto& [name, team] : table.teams) {
    fn(team.counters);
    for (const auto& [user, cs] : team.users) fn(cs);
  }
  for (const auto& [name, cs] : table.routes) fn(cs);
  for (const auto& [name, cs] : table.providers) fn(cs);
}

}  // namespace

std::string_view to_string(CapScope scope) noexcept {
  switch (scope) {
    case CapScope::team: return "team";
    case CapScope::user: return "user";
    case CapScope::route: return "route";
    case CapScope::provider: return "provider";
  }
  return "team";
}

std::optional<Money> SpendSnapshot::remaining() const {
  if (!cap) return std::nullopt;
  return *cap - spent - reserved;
}

// ---- Reservation ----------------------------------------------------------

Reservation::Reservation(Reservation&& other) noexcept
    : gate_(std::exchange(other.gate_, nullptr)),
      amount_(other.amount_),
      count_(std::exchange(other.count_, 0)),
      counters_(other.counters_) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    release();
    gate_ = std::exchange(other.gate_, nullptr);
    amount_ = other.amount_;
    count_ = std::exchange(other.count_, 0);
    counters_ = other.counters_;
  }
  return *this;
}

void Reservation::settle(Money actual, int64_t now_ms) {
  if (gate_) gate_->settle(*this, actual, now_ms);
}

void Reservation::release() noexcept {
  if (gate_) gate_->release(*this);
}

// ---- SpendGate ------------------------------------------------------------

SpendGate::SpendGate() = default;
SpendGate::~SpendGate() = default;

SpendCounter* SpendGate::counter_for(CapScope scope, const std::string& team,
                                     const std::string& name, SpendWindow window) {
  std::string key;
  key.append(to_string(scope)).append(1, '\x1f').append(team).append(1, '\x1f');
  key.append(name).append(1, '\x1f').append(to_string(window));
  if (auto it = index_.find(key); it != index_.end()) return it->second;
  auto c = std::make_unique<SpendCounter>();
  c->scope = scope;
  c->team = team;
  c->name = name;
  c->window = window;
  SpendCounter* raw = c.get();
  counters_.push_back(std::move(c));
  index_.emplace(std::move(key), raw);
  return raw;
}

namespace {

// Checks one scope's caps; fills `windows` with (window, limit) pairs.
Result<void> parse_caps(const std::vector<dsl::CapDecl>& caps, std::string_view what,
                        const dsl::SourceLoc& loc,
                        std::vector<std::pair<SpendWindow, int64_t>>& windows) {
  windows.clear();
  for (const dsl::CapDecl& cap : caps) {
    const auto w = spend_window_from(cap.window);
    const std::string where = loc.str() + ": " + std::string(what);
    if (!w) {
      return Error(ErrorCategory::config, where + ": unknown cap window '" + cap.window +
                                              "'; use \"hour\", \"day\", \"month\" or "
                                              "\"rolling_24h\"");
    }
    if (cap.limit_nanos <= 0) {
      return Error(ErrorCategory::config,
                   where + ": the " + cap.window + " cap must be a positive amount of USD");
    }
    for (auto& [seen, _] : windows) {
      if (seen == *w) {
        return Error(ErrorCategory::config,
                     where + ": two " + cap.window + " caps; keep one");
      }
    }
    windows.emplace_back(*w, cap.limit_nanos);
  }
  return {};
}

}  // namespace

Result<void> SpendGate::configure(const dsl::PolicyDecls& decls) {
  std::lock_guard lock(config_mu_);
  auto table = std::make_unique<Table>();
  std::vector<std::pair<SpendWindow, int64_t>> windows;
  // Counters are created and limits set only once the whole policy checks
  // out, so a rejected reload leaves the running caps untouched.
  struct Pending {
    SpendCounter* counter;
    int64_t limit;
    double soft;
  };
  std::vector<Pending> pending;
  std::vector<std::pair<SpendCounter*, Counters*>> placement;

  auto add = [&](Counters& into, CapScope scope, const std::string& team, const std::string& name,
                 double soft) {
    for (auto [w, limit] : windows) {
      SpendCounter* c = counter_for(scope, team, name, w);
      into.push_back(c);
      pending.push_back({c, limit, soft});
      table->has[static_cast<int>(w)] = true;
    }
  };

  for (const dsl::TeamDecl& team : decls.teams) {
    if (team.soft_limit < 0 || team.soft_limit > 1) {
      return Error(ErrorCategory::config,
                   team.loc.str() + ": team '" + team.name + "': soft_limit " +
                       std::to_string(team.soft_limit) +
                       " must be a fraction of the cap in [0, 1] (0 turns the alert off)");
    }
    if (auto r = parse_caps(team.caps, "team '" + team.name + "'", team.loc, windows); !r) return r;
    // Day and month are always tracked so spend is visible without a cap.
    for (SpendWindow w : {SpendWindow::day, SpendWindow::month}) {
      if (std::none_of(windows.begin(), windows.end(), [&](auto& p) { return p.first == w; }))
        windows.emplace_back(w, kNoCap);
    }
    if (table->teams.count(team.name)) {
      return Error(ErrorCategory::config,
                   team.loc.str() + ": team '" + team.name + "' is declared twice; merge the two");
    }
    Table::Team& entry = table->teams[team.name];
    add(entry.counters, CapScope::team, team.name, team.name, team.soft_limit);
    for (const auto& [user, caps] : team.user_caps) {
      if (auto r = parse_caps(caps, "user '" + user + "' of team '" + team.name + "'", team.loc,
                              windows);
          !r)
        return r;
      add(entry.users[user], CapScope::user, team.name, user, team.soft_limit);
    }
  }
  for (const dsl::RouteDecl& route : decls.routes) {
    if (route.caps.empty()) continue;
    if (auto r = parse_caps(route.caps, "route '" + route.name + "'", route.loc, windows); !r)
      return r;
    if (table->routes.count(route.name)) {
      return Error(ErrorCategory::config,
                   route.loc.str() + ": route '" + route.name + "' is declared twice");
    }
    add(table->routes[route.name], CapScope::route, std::string(), route.name, 0.8);
  }
  for (const dsl::ProviderDecl& provider : decls.providers) {
    if (provider.caps.empty()) continue;
    if (auto r = parse_caps(provider.caps, "provider '" + provider.name + "'", provider.loc,
                            windows);
        !r)
      return r;
    if (table->providers.count(provider.name)) {
      return Error(ErrorCategory::config,
                   provider.loc.str() + ": provider '" + provider.name + "' is declared twice");
    }
    add(table->providers[provider.name], CapScope::provider, std::string(), provider.name, 0.8);
  }

  for (const Pending& p : pending) {
    std::lock_guard counter_lock(p.counter->mu);
    p.counter->limit = p.limit;
    p.counter->soft_fraction = p.soft;
    p.counter->soft = (p.limit == kNoCap || p.soft <= 0)
                          ? kNoCap
                          : static_cast<int64_t>(static_cast<double>(p.limit) * p.soft);
  }
  table_.store(table.get(), std::memory_order_release);
  tables_.push_back(std::move(table));
  return {};
}

namespace {

std::string denial(std::string_view team, const SpendSnapshot& s, int64_t amount, std::string_view spent_what,
                   std::string_view reserved_what, Money reserved) {
  std::string who = s.scope == CapScope::team ? "team '" + s.team + "'"
                                              : std::string(to_string(s.scope)) + " '" + s.name + "'";
  return "team '" + std::string(team) + "' denied: " + who + " is at its " + std::string(to_string(s.window)) +
         " cap of " + s.cap->str() + " (" + std::string(spent_what) + " " + s.spent.str() + ", " +
         std::string(reserved_what) + " " + reserved.str() + ", this request needs up to " +
         Money::from_nanos(amount).str() + "); the window resets at " + utc_minute(s.window_end_ms) +
         ". Raise the cap in the policy, lower max_tokens, or wait";
}

}  // namespace

Result<Reservation> SpendGate::reserve(const SpendKeys& keys, Money worst_case, int64_t now_ms,
                                       std::vector<LeaseShortfall>* shortfall) {
  Reservation r;
  r.gate_ = this;
  r.amount_ = Money::from_nanos(std::max<int64_t>(0, worst_case.nanos));
  const Table* table = table_.load(std::memory_order_acquire);
  if (!table) return Result<Reservation>(std::move(r));

  auto collect = [&r](const Counters& cs) {
    for (SpendCounter* c : cs) {
      if (r.count_ < Reservation::kMaxCounters) r.counters_[static_cast<size_t>(r.count_++)] = c;
    }
  };
  if (auto t = table->teams.find(keys.team); t != table->teams.end()) {
    collect(t->second.counters);
    if (!t->second.users.empty() && !keys.user.empty()) {
      if (auto u = t->second.users.find(keys.user); u != t->second.users.end()) collect(u->second);
    }
  }
  if (!table->routes.empty() && !keys.route.empty()) {
    if (auto it = table->routes.find(keys.route); it != table->routes.end()) collect(it->second);
  }
  if (!table->providers.empty() && !keys.provider.empty()) {
    if (auto it = table->providers.find(keys.provider); it != table->providers.end())
      collect(it->second);
  }

  // Window ids, computed once per window kind (the month needs a calendar).
  int64_t ids[4] = {kNever, kNever, kNever, kNever};
  const int64_t amount = r.amount_.nanos;
  const bool leasing = leases_enabled();
  // Counters admitted so far are counters_[0, admitted); a lease-short one
  // is moved past them, so a failed request releases exactly what it took.
  int admitted = 0;
  std::optional<Error> short_of_lease;
  for (int i = 0; i < r.count_; ++i) {
    SpendCounter& c = *r.counters_[static_cast<size_t>(i)];
    int64_t& id = ids[static_cast<int>(c.window)];
    if (id == kNever) id = window_id(c.window, now_ms);
    std::unique_lock lock(c.mu);
    c.advance(id);
    if (leasing && c.limit != kNoCap) {
      // A shared cap: the lease this instance holds is what it may spend.
      c.roll_lease(id);
      c.demand = std::max(c.demand, amount);
      const int64_t free = now_ms < c.lease_until_ms ? c.lease - c.reserved : 0;
      if (amount > free) {
        if (shortfall) shortfall->push_back(LeaseShortfall{&c, std::max<int64_t>(1, amount - free)});
        if (!short_of_lease) {
          SpendSnapshot s = c.snapshot();
          const bool fleet = c.fleet_leased >= 0;
          if (fleet) s.spent = Money::from_nanos(c.fleet_settled);
          short_of_lease = Error(
              ErrorCategory::budget,
              denial(keys.team, s, amount, fleet ? "settled by every instance sharing it" : "spent",
                     fleet ? "held by instances for requests in flight" : "reserved by requests in flight",
                     fleet ? Money::from_nanos(c.fleet_leased) : s.reserved));
        }
        continue;  // not taken: the others are still checked, for the shortfall list
      }
    } else if (c.limit != kNoCap && amount > c.limit - c.spent - c.reserved) {
      const SpendSnapshot s = c.snapshot();
      lock.unlock();
      // Give back what the earlier caps of this request took.
      r.count_ = admitted;
      r.release();
      if (shortfall) shortfall->clear();  // a cap of its own refuses it: no lease would help
      return Error(ErrorCategory::budget,
                   denial(keys.team, s, amount, "spent", "reserved by requests in flight", s.reserved));
    }
    c.reserved += amount;
    std::swap(r.counters_[static_cast<size_t>(admitted++)], r.counters_[static_cast<size_t>(i)]);
  }
  if (short_of_lease) {
    r.count_ = admitted;
    r.release();
    return *std::move(short_of_lease);
  }
  return Result<Reservation>(std::move(r));
}

void SpendGate::enable_leases(int64_t ttl_ms) { lease_ttl_ms_.store(std::max<int64_t>(1, ttl_ms)); }

std::vector<LeaseSlot> SpendGate::lease_slots(int64_t now_ms) {
  std::vector<LeaseSlot> out;
  const Table* table = table_.load(std::memory_order_acquire);
  if (!table || !leases_enabled()) return out;
  auto add = [&](const Counters& cs) {
    for (SpendCounter* c : cs) {
      LeaseSlot slot = lease_slot(c, now_ms);
      if (slot.counter) out.push_back(std::move(slot));
    }
  };
  for_each_counter_list(*table, add);
  return out;
}

LeaseSlot SpendGate::lease_slot(SpendCounter* c, int64_t now_ms) {
  std::lock_guard lock(c->mu);
  if (c->limit == kNoCap) return {};
  const int64_t id = window_id(c->window, now_ms);
  c->advance(id);
  c->roll_lease(id);
  LeaseSlot slot{c, c->scope, c->team, c->name, c->window, c->limit,
                 now_ms < c->lease_until_ms ? c->lease : 0, c->reserved, c->demand};
  c->demand = 0;
  return slot;
}

void SpendGate::grant_lease(SpendCounter* counter, int64_t granted, int64_t store_amount, int64_t now_ms,
                            int64_t valid_until_ms) {
  std::lock_guard lock(counter->mu);
  counter->roll_lease(window_id(counter->window, now_ms));
  counter->lease = std::min(counter->lease + granted, store_amount);
  counter->lease_until_ms = std::max(counter->lease_until_ms, valid_until_ms);
}

int64_t SpendGate::take_back_lease(SpendCounter* counter, int64_t nanos) {
  std::lock_guard lock(counter->mu);
  const int64_t taken = std::clamp<int64_t>(counter->lease - counter->reserved, 0, std::max<int64_t>(0, nanos));
  counter->lease -= taken;
  return taken;
}

void SpendGate::renew_lease(SpendCounter* counter, int64_t store_amount, int64_t valid_until_ms) {
  std::lock_guard lock(counter->mu);
  counter->lease = std::min(counter->lease, store_amount);
  counter->lease_until_ms = std::max(counter->lease_until_ms, valid_until_ms);
}

void SpendGate::note_fleet_figures(SpendCounter* counter, int64_t settled_nanos, int64_t leased_nanos) {
  std::lock_guard lock(counter->mu);
  counter->fleet_settled = settled_nanos;
  counter->fleet_leased = leased_nanos;
}

void SpendGate::settle(Reservation& r, Money actual, int64_t now_ms) {
  // Note crossings under the counters' locks, fire them after. Events are
  // built only when one fired: this is the hot path.
  std::array<SpendCounter*, Reservation::kMaxCounters> crossed{};
  int fired = 0;
  int64_t ids[4] = {kNever, kNever, kNever, kNever};
  for (int i = 0; i < r.count_; ++i) {
    SpendCounter& c = *r.counters_[static_cast<size_t>(i)];
    int64_t& id = ids[static_cast<int>(c.window)];
    if (id == kNever) id = window_id(c.window, now_ms);
    std::lock_guard lock(c.mu);
    c.reserved -= r.amount_.nanos;
    // A clock behind the counter's window charges the current one.
    c.charge(std::max(id, c.id), std::max<int64_t>(0, actual.nanos));
    // The money leaves this instance's lease now; in the store it does when
    // the request's ledger row commits (the row's trigger moves it).
    if (c.lease_window != kNever) c.lease -= std::max<int64_t>(0, actual.nanos);
    if (c.soft_crossed()) crossed[static_cast<size_t>(fired++)] = &c;
  }
  r.gate_ = nullptr;
  r.count_ = 0;
  if (fired == 0) return;
  std::function<void(const SoftLimitEvent&)> callback;
  {
    std::lock_guard lock(callback_mu_);
    callback = callback_;
  }
  if (!callback) return;
  for (int i = 0; i < fired; ++i) {
    SpendCounter& c = *crossed[static_cast<size_t>(i)];
    SoftLimitEvent event;
    {
      // Figures as of now: at least the crossing, plus what settled since.
      std::lock_guard lock(c.mu);
      event = {c.snapshot(), c.soft_fraction};
    }
    callback(event);
  }
}

void SpendGate::release(Reservation& r) noexcept {
  for (int i = 0; i < r.count_; ++i) {
    SpendCounter& c = *r.counters_[static_cast<size_t>(i)];
    std::lock_guard lock(c.mu);
    c.reserved -= r.amount_.nanos;
  }
  r.gate_ = nullptr;
  r.count_ = 0;
}

void SpendGate::add_settled(const SpendKeys& keys, Money cost, int64_t time_ms) {
  const Table* table = table_.load(std::memory_order_acquire);
  if (!table) return;
  int64_t ids[4] = {kNever, kNever, kNever, kNever};
  auto charge = [&](const Counters& cs) {
    for (SpendCounter* c : cs) {
      int64_t& id = ids[static_cast<int>(c->window)];
      if (id == kNever) id = window_id(c->window, time_ms);
      std::lock_guard lock(c->mu);
      c->charge(id, cost.nanos);
      // Spend already past the soft limit before a restart was alerted on
      // then (or is no news now): mark it fired, do not fire again.
      (void)c->soft_crossed();
    }
  };
  if (auto t = table->teams.find(keys.team); t != table->teams.end()) {
    charge(t->second.counters);
    if (auto u = t->second.users.find(keys.user); u != t->second.users.end()) charge(u->second);
  }
  if (auto it = table->routes.find(keys.route); it != table->routes.end()) charge(it->second);
  if (auto it = table->providers.find(keys.provider); it != table->providers.end())
    charge(it->second);
}

int64_t SpendGate::rebuild_since(int64_t now_ms) const {
  const Table* table = table_.load(std::memory_order_acquire);
  int64_t since = now_ms;
  if (!table) return since;
  for (SpendWindow w : {SpendWindow::hour, SpendWindow::day, SpendWindow::month,
                        SpendWindow::rolling_24h}) {
    if (table->has[static_cast<int>(w)])
      since = std::min(since, window_start_ms(w, window_id(w, now_ms)));
  }
  return since;
}

std::optional<SpendSnapshot> SpendGate::snapshot(CapScope scope, const SpendKeys& keys,
                                                 SpendWindow window, int64_t now_ms) const {
  const Table* table = table_.load(std::memory_order_acquire);
  if (!table) return std::nullopt;
  const Counters* cs = nullptr;
  switch (scope) {
    case CapScope::team:
    case CapScope::user: {
      auto t = table->teams.find(keys.team);
      if (t == table->teams.end()) return std::nullopt;
      if (scope == CapScope::team) {
        cs = &t->second.counters;
      } else if (auto u = t->second.users.find(keys.user); u != t->second.users.end()) {
        cs = &u->second;
      }
      break;
    }
    case CapScope::route:
      if (auto it = table->routes.find(keys.route); it != table->routes.end()) cs = &it->second;
      break;
    case CapScope::provider:
      if (auto it = table->providers.find(keys.provider); it != table->providers.end())
        cs = &it->second;
      break;
  }
  if (!cs) return std::nullopt;
  for (SpendCounter* c : *cs) {
    if (c->window != window) continue;
    std::lock_guard lock(c->mu);
    c->advance(window_id(window, now_ms));
    return c->snapshot();
  }
  return std::nullopt;
}

std::vector<SpendSnapshot> SpendGate::snapshots(int64_t now_ms) const {
  std::vector<SpendSnapshot> out;
  const Table* table = table_.load(std::memory_order_acquire);
  if (!table) return out;
  auto add = [&](const Counters& cs) {
    for (SpendCounter* c : cs) {
      std::lock_guard lock(c->mu);
      c->advance(window_id(c->window, now_ms));
      out.push_back(c->snapshot());
    }
  };
  for_each_counter_list(*table, add);
  return out;
}

void SpendGate::on_soft_limit(std::function<void(const SoftLimitEvent&)> callback) {
  std::lock_guard lock(callback_mu_);
  callback_ = std::move(callback);
}

Money SpendGate::total_reserved() const {
  std::lock_guard lock(config_mu_);
  int64_t total = 0;
  for (const auto& c : counters_) {
    std::lock_guard counter_lock(c->mu);
    total += c->reserved;
  }
  return Money::from_nanos(total);
}

}  // namespace tollgate::engine
