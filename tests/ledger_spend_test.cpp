// Spend caps: reservations, settlement, windows, soft limits, rebuild, and
// the two properties the issue promises — no overshoot under concurrency and
// no leaked reservation.
#include <catch2/catch.hpp>

#include <atomic>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "engine/ledger/ledger.hpp"
#include "engine/budget/spend_gate.hpp"
#include "ledger_test_util.hpp"

using namespace tollgate;
using namespace tollgate::engine;
using tollgate::testing::make_row;
using tollgate::testing::RawDb;
using tollgate::testing::TempDir;

namespace {

// 2026-05-31T23:00:00Z: an hour before both a day and a month boundary.
constexpr int64_t kMay31_23h = 1'780'268'400'000;

Money usd(double d) { return Money::from_usd(d); }

dsl::TeamDecl team(std::string name, std::vector<dsl::CapDecl> caps, double soft = 0.8) {
  dsl::TeamDecl t;
  t.name = std::move(name);
  t.caps = std::move(caps);
  t.soft_limit = soft;
  t.loc = {"teams.lua", 3};
  return t;
}

dsl::CapDecl cap(std::string window, double dollars) {
  return {std::move(window), usd(dollars).nanos};
}

dsl::PolicyDecls teams_only(std::vector<dsl::TeamDecl> teams) {
  dsl::PolicyDecls decls;
  decls.teams = std::move(teams);
  return decls;
}

SpendGate& configured(SpendGate& gate, dsl::PolicyDecls decls) {
  auto r = gate.configure(decls);
  if (!r.ok()) FAIL(r.error().message());
  return gate;
}

const SpendKeys kSupport{"support", "ann", "classify", "deepseek"};

}  // namespace

TEST_CASE("UTC windows have the right ids and boundaries") {
  CHECK(utc_minute(kMay31_23h) == "2026-05-31T23:00Z");
  const int64_t may = window_id(SpendWindow::month, kMay31_23h);
  const int64_t june = window_id(SpendWindow::month, kMay31_23h + kHourMs);
  CHECK(june == may + 1);
  CHECK(window_start_ms(SpendWindow::month, june) == kMay31_23h + kHourMs);
  CHECK(utc_minute(window_start_ms(SpendWindow::month, may)) == "2026-05-01T00:00Z");
  CHECK(utc_minute(window_end_ms(SpendWindow::month, window_id(SpendWindow::month, 0))) ==
        "1970-02-01T00:00Z");
  CHECK(utc_minute(window_start_ms(SpendWindow::month, window_id(SpendWindow::month, -1))) ==
        "1969-12-01T00:00Z");
  CHECK(window_id(SpendWindow::day, kMay31_23h + kHourMs) ==
        window_id(SpendWindow::day, kMay31_23h) + 1);
  CHECK(utc_minute(window_start_ms(SpendWindow::rolling_24h,
                                   window_id(SpendWindow::rolling_24h, kMay31_23h + 1))) ==
        "2026-05-31T00:00Z");
  CHECK(spend_window_from("rolling_24h") == SpendWindow::rolling_24h);
  CHECK_FALSE(spend_window_from("week").has_value());
}

TEST_CASE("a reservation holds the worst case, settles to the real cost, releases the rest") {
  SpendGate gate;
  configured(gate, teams_only({team("support", {cap("day", 1.0)})}));
  auto r = gate.reserve(kSupport, usd(0.30), kMay31_23h);
  REQUIRE(r.ok());
  auto s = gate.snapshot("support", SpendWindow::day, kMay31_23h);
  REQUIRE(s);
  CHECK(s->reserved == usd(0.30));
  CHECK(s->spent == Money{});
  CHECK(s->cap == usd(1.0));
  r->settle(usd(0.10), kMay31_23h);
  CHECK_FALSE(r->active());
  s = gate.snapshot("support", SpendWindow::day, kMay31_23h);
  CHECK(s->reserved == Money{});
  CHECK(s->spent == usd(0.10));
  CHECK(s->remaining() == usd(0.90));
  // Month is tracked without a cap.
  auto month = gate.snapshot("support", SpendWindow::month, kMay31_23h);
  REQUIRE(month);
  CHECK_FALSE(month->cap.has_value());
  CHECK(month->spent == usd(0.10));
  CHECK(gate.total_reserved() == Money{});
}

TEST_CASE("a request over the cap is denied with team, window, cap, spent and reserved") {
  SpendGate gate;
  configured(gate, teams_only({team("support", {cap("day", 1.0), cap("month", 10.0)})}));
  auto spent = gate.reserve(kSupport, usd(0.5), kMay31_23h);
  REQUIRE(spent.ok());
  spent->settle(usd(0.5), kMay31_23h);
  auto held = gate.reserve(kSupport, usd(0.25), kMay31_23h);
  REQUIRE(held.ok());

  auto denied = gate.reserve(kSupport, usd(0.30), kMay31_23h);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().category() == ErrorCategory::budget);
  CHECK(denied.error().message() ==
        "team 'support' denied: team 'support' is at its day cap of $1.000000 (spent $0.500000, "
        "reserved by requests in flight $0.250000, this request needs up to $0.300000); the "
        "window resets at 2026-06-01T00:00Z. Raise the cap in the policy, lower max_tokens, or "
        "wait");
  // The month cap, checked after the day cap, holds nothing for the denied
  // request.
  CHECK(gate.snapshot("support", SpendWindow::month, kMay31_23h)->reserved == usd(0.25));
  // Exactly up to the cap is admitted.
  CHECK(gate.reserve(kSupport, usd(0.25), kMay31_23h).ok());
}

TEST_CASE("dropping a reservation releases it, moving one does not") {
  SpendGate gate;
  configured(gate, teams_only({team("support", {cap("day", 1.0)})}));
  {
    auto r = gate.reserve(kSupport, usd(0.4), kMay31_23h);
    REQUIRE(r.ok());
    // Held against the day cap and the tracked month: counted once per counter.
    Reservation moved = std::move(*r);
    CHECK(gate.total_reserved() == usd(0.8));
    Reservation again;
    again = std::move(moved);
    CHECK(gate.total_reserved() == usd(0.8));
  }
  CHECK(gate.total_reserved() == Money{});
  CHECK(gate.snapshot("support", SpendWindow::day, kMay31_23h)->spent == Money{});
}

TEST_CASE("user, route and provider caps apply alongside the team's") {
  dsl::PolicyDecls decls;
  decls.teams = {team("support", {cap("month", 100.0)})};
  decls.teams[0].user_caps["ann"] = {cap("day", 0.5)};
  dsl::RouteDecl route;
  route.name = "classify";
  route.caps = {cap("hour", 2.0)};
  decls.routes = {route};
  dsl::ProviderDecl provider;
  provider.name = "deepseek";
  provider.caps = {cap("month", 3.0)};
  decls.providers = {provider};
  SpendGate gate;
  configured(gate, decls);

  auto user = gate.reserve(kSupport, usd(0.6), kMay31_23h);
  REQUIRE_FALSE(user.ok());
  CHECK_THAT(user.error().message(), Catch::Contains("user 'ann' is at its day cap of $0.500000"));
  // Bob has no cap of his own.
  auto bob = gate.reserve({"support", "bob", "classify", "deepseek"}, usd(1.9), kMay31_23h);
  REQUIRE(bob.ok());
  auto route_full = gate.reserve({"support", "bob", "classify", "openai"}, usd(0.2), kMay31_23h);
  REQUIRE_FALSE(route_full.ok());
  CHECK_THAT(route_full.error().message(),
             Catch::Contains("route 'classify' is at its hour cap of $2.000000"));
  bob->settle(usd(1.9), kMay31_23h);
  auto provider_full = gate.reserve({"support", "bob", "summarize", "deepseek"}, usd(1.2),
                                    kMay31_23h);
  REQUIRE_FALSE(provider_full.ok());
  CHECK_THAT(provider_full.error().message(),
             Catch::Contains("provider 'deepseek' is at its month cap of $3.000000 (spent "
                             "$1.900000"));
  // Another team and provider pass untouched.
  CHECK(gate.reserve({"research", "x", "summarize", "openai"}, usd(50), kMay31_23h).ok());
  auto prov = gate.snapshot(CapScope::provider, SpendKeys{"", "", "", "deepseek"}, SpendWindow::month,
                            kMay31_23h);
  REQUIRE(prov);
  CHECK(prov->spent == usd(1.9));
  CHECK(gate.total_reserved() == Money{});
}

TEST_CASE("windows roll over at UTC boundaries") {
  dsl::PolicyDecls decls;
  decls.teams = {team("support", {cap("hour", 1.0), cap("day", 2.0), cap("month", 3.0),
                                  cap("rolling_24h", 2.5)})};
  SpendGate gate;
  configured(gate, decls);
  auto charge = [&](double dollars, int64_t at) {
    auto r = gate.reserve(kSupport, usd(dollars), at);
    REQUIRE(r.ok());
    r->settle(usd(dollars), at);
  };
  const int64_t may31_2300 = kMay31_23h;
  charge(0.9, may31_2300);
  CHECK_FALSE(gate.reserve(kSupport, usd(0.2), may31_2300 + kHourMs - 1).ok());  // hour full
  // A new hour, a new day and a new month, all at once.
  const int64_t june1 = may31_2300 + kHourMs;
  for (SpendWindow w : {SpendWindow::hour, SpendWindow::day, SpendWindow::month}) {
    auto s = gate.snapshot("support", w, june1);
    REQUIRE(s);
    CHECK(s->spent == Money{});
    CHECK(s->window_start_ms == june1);
  }
  // The rolling window still remembers the last 24 hours.
  CHECK(gate.snapshot("support", SpendWindow::rolling_24h, june1)->spent == usd(0.9));
  charge(0.9, june1);
  charge(0.6, june1 + kHourMs);
  auto rolling = gate.reserve(kSupport, usd(0.3), june1 + kHourMs);
  REQUIRE_FALSE(rolling.ok());
  CHECK_THAT(rolling.error().message(), Catch::Contains("rolling_24h cap of $2.500000"));
  // 24 hours after the first charge, it ages out of the rolling window.
  const int64_t day_later = may31_2300 + 24 * kHourMs;
  CHECK(gate.snapshot("support", SpendWindow::rolling_24h, day_later)->spent == usd(1.5));
  CHECK(gate.reserve(kSupport, usd(0.3), day_later).ok());
}

TEST_CASE("a reservation made before a boundary is charged to the window it settles in") {
  SpendGate gate;
  configured(gate, teams_only({team("support", {cap("day", 1.0)})}));
  const int64_t june1 = kMay31_23h + kHourMs;
  auto r = gate.reserve(kSupport, usd(0.5), june1 - 1);
  REQUIRE(r.ok());
  r->settle(usd(0.4), june1);
  CHECK(gate.snapshot("support", SpendWindow::day, june1)->spent == usd(0.4));
  CHECK(gate.snapshot("support", SpendWindow::month, june1)->spent == usd(0.4));
  CHECK(gate.total_reserved() == Money{});
}

TEST_CASE("the soft limit fires once per team and window") {
  SpendGate gate;
  configured(gate, teams_only({team("support", {cap("day", 1.0)}, 0.8)}));
  std::vector<SoftLimitEvent> events;
  gate.on_soft_limit([&](const SoftLimitEvent& e) { events.push_back(e); });
  auto charge = [&](double dollars, int64_t at) {
    auto r = gate.reserve(kSupport, usd(dollars), at);
    REQUIRE(r.ok());
    r->settle(usd(dollars), at);
  };
  charge(0.5, kMay31_23h);
  CHECK(events.empty());
  charge(0.3, kMay31_23h);  // reaches 80 %
  REQUIRE(events.size() == 1);
  CHECK(events[0].state.team == "support");
  CHECK(events[0].state.window == SpendWindow::day);
  CHECK(events[0].state.spent == usd(0.8));
  CHECK(events[0].state.cap == usd(1.0));
  CHECK(events[0].soft_limit == 0.8);
  charge(0.1, kMay31_23h);
  CHECK(events.size() == 1);
  charge(0.85, kMay31_23h + kHourMs);  // the next day
  CHECK(events.size() == 2);
}

TEST_CASE("no reservation leaks after 10,000 mixed successes, failures and cancellations", "[concurrency]") {
  SpendGate gate;
  configured(gate, teams_only({team("support", {cap("day", 1e6), cap("rolling_24h", 1e6)})}));
  constexpr int kThreads = 4, kPerThread = 2500;
  std::atomic<int64_t> settled{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<Reservation> in_flight;  // cancelled later, from this thread
      for (int i = 0; i < kPerThread; ++i) {
        auto r = gate.reserve(kSupport, Money::from_nanos(1000 + i), kMay31_23h);
        if (!r.ok()) {  // Catch2 assertions are not thread-safe: count, check after
          ++refused;
          continue;
        }
        switch (rng() % 4) {
          case 0: {  // success
            const Money actual = Money::from_nanos(500 + i);
            r->settle(actual, kMay31_23h);
            settled += actual.nanos;
            break;
          }
          case 1: r->release(); break;                          // provider failure
          case 2: break;                                        // destroyed unsettled: an exception path
          default: in_flight.push_back(std::move(*r)); break;  // cancelled later
        }
        if (in_flight.size() > 16) in_flight.erase(in_flight.begin());
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(refused == 0);
  CHECK(gate.total_reserved() == Money{});
  CHECK(gate.snapshot("support", SpendWindow::day, kMay31_23h)->spent.nanos == settled.load());
  CHECK(gate.snapshot("support", SpendWindow::rolling_24h, kMay31_23h)->spent.nanos ==
        settled.load());
}

TEST_CASE("64 threads never push committed spend past the cap", "[concurrency]") {
  TempDir dir;
  const auto path = dir.file("l.db");
  LedgerOptions options;
  options.durability = Durability::async;
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());

  constexpr int kThreads = 64, kRequests = 20'000;
  const Money worst = Money::from_nanos(10'000);
  const Money actual = Money::from_nanos(7'000);
  const Money limit = Money::from_nanos(actual.nanos * kRequests / 2);  // admits about half
  SpendGate gate;
  configured(gate, teams_only({team("support", {cap("day", limit.usd())})}));

  std::atomic<int> next{0}, admitted{0}, denied{0}, ledger_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < kRequests; i = next++) {
        auto r = gate.reserve(kSupport, worst, kMay31_23h);
        if (!r.ok()) {
          ++denied;
          continue;
        }
        ++admitted;
        r->settle(actual, kMay31_23h);
        if (!(*ledger)->append(make_row("c" + std::to_string(i), kMay31_23h, actual)).ok())
          ++ledger_errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE((*ledger)->flush().ok());
  CHECK(ledger_errors == 0);
  CHECK(admitted + denied == kRequests);
  const int64_t committed = RawDb(path).integer("SELECT sum(cost_nanos) FROM attempts");
  CHECK(committed == admitted * actual.nanos);
  CHECK(committed <= limit.nanos);
  CHECK(gate.snapshot("support", SpendWindow::day, kMay31_23h)->spent.nanos == committed);
  CHECK(gate.total_reserved() == Money{});
  // Reserving the worst case while requests are in flight costs admissions:
  // how many is worth knowing, not asserting.
  std::cout << "spend cap under 64 threads: admitted " << admitted << " of " << kRequests
            << " requests; ideal " << limit.nanos / actual.nanos << " (cap / actual cost)\n";
}

TEST_CASE("a restart rebuilds the windows from the ledger") {
  TempDir dir;
  const auto path = dir.file("l.db");
  dsl::PolicyDecls decls;
  decls.teams = {team("support", {cap("day", 1.0), cap("rolling_24h", 5.0)})};
  dsl::ProviderDecl provider;
  provider.name = "deepseek";
  provider.caps = {cap("month", 10.0)};
  decls.providers = {provider};
  {
    auto ledger = Ledger::open(path);
    REQUIRE(ledger.ok());
    // Yesterday (counts for the rolling window and the month), today, and
    // last month (counts for nothing).
    REQUIRE((*ledger)->append(make_row("y", kMay31_23h - 2 * kHourMs, usd(0.25))).ok());
    REQUIRE((*ledger)->append(make_row("t", kMay31_23h + kHourMs + 1, usd(0.5))).ok());
    REQUIRE((*ledger)->append(make_row("old", kMay31_23h - 40 * kDayMs, usd(9))).ok());
    LedgerRow hit = make_row("hit", kMay31_23h + kHourMs + 2, Money{});
    hit.status = AttemptStatus::cache_hit;
    hit.saved = usd(3);
    REQUIRE((*ledger)->append(hit).ok());
  }
  auto ledger = Ledger::open(path);
  REQUIRE(ledger.ok());
  SpendGate gate;
  configured(gate, decls);
  const int64_t now = kMay31_23h + 2 * kHourMs;  // June 1st, 01:00
  REQUIRE((*ledger)->rebuild_spend(gate, now).ok());
  CHECK(gate.snapshot("support", SpendWindow::day, now)->spent == usd(0.5));
  CHECK(gate.snapshot("support", SpendWindow::month, now)->spent == usd(0.5));
  CHECK(gate.snapshot("support", SpendWindow::rolling_24h, now)->spent == usd(0.75));
  CHECK(gate.snapshot(CapScope::provider, SpendKeys{"", "", "", "deepseek"}, SpendWindow::month, now)
            ->spent == usd(0.5));
  auto over = gate.reserve(kSupport, usd(0.6), now);
  REQUIRE_FALSE(over.ok());
  CHECK_THAT(over.error().message(), Catch::Contains("spent $0.500000"));
}

TEST_CASE("two processes on one ledger file: each one's caps count the other's spend once") {
  TempDir dir;
  const auto path = dir.file("shared.db");
  const int64_t now = kMay31_23h;
  // What the writers charge is declared first, so it outlives them.
  SpendGate gate_a, gate_b;
  std::atomic<int> foreign_rows_a{0}, foreign_rows_b{0};
  // Two Ledger objects on one file are two processes to SQLite: two
  // connections, two writer threads, one write lock.
  auto a = Ledger::open(path);
  auto b = Ledger::open(path);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // Spend already in the file is the rebuild's, not the follower's.
  REQUIRE((*a)->append(make_row("before", now, usd(0.25))).ok());
  configured(gate_a, teams_only({team("support", {cap("day", 100.0)})}));
  configured(gate_b, teams_only({team("support", {cap("day", 100.0)})}));
  auto last_a = (*a)->rebuild_spend(gate_a, now);
  auto last_b = (*b)->rebuild_spend(gate_b, now);
  REQUIRE(last_a.ok());
  REQUIRE(last_b.ok());
  CHECK(*last_a == 1);
  auto follow = [](SpendGate& gate, std::atomic<int>& rows) {
    return [&gate, &rows](const SpendKeys& keys, Money cost, int64_t time_ms) {
      ++rows;
      gate.add_settled(keys, cost, time_ms);
    };
  };
  (*a)->follow_foreign_spend(*last_a, follow(gate_a, foreign_rows_a));
  (*b)->follow_foreign_spend(*last_b, follow(gate_b, foreign_rows_b));

  // Both write at once: every batch of each reads the other's rows inside
  // its own write transaction; idle, each reads them within 250 ms. A
  // process's own rows are charged by its engine at settle, never here.
  constexpr int kRows = 200;
  std::thread writer_a([&] {
    for (int i = 0; i < kRows; ++i) (*a)->append_async(make_row("a" + std::to_string(i), now, usd(0.001)), [](Result<void>) {});
  });
  std::thread writer_b([&] {
    for (int i = 0; i < kRows; ++i) {
      LedgerRow r = make_row("b" + std::to_string(i), now, i % 2 ? usd(0.002) : Money{});
      if (!r.cost.nanos) r.status = AttemptStatus::cache_hit;  // free: not spend
      (*b)->append_async(std::move(r), [](Result<void>) {});
    }
  });
  writer_a.join();
  writer_b.join();
  REQUIRE((*a)->flush().ok());
  REQUIRE((*b)->flush().ok());
  const Money spent_by_a = Money::from_nanos(kRows * usd(0.001).nanos);
  const Money spent_by_b = Money::from_nanos(kRows / 2 * usd(0.002).nanos);
  auto spent = [&](SpendGate& gate) { return gate.snapshot("support", SpendWindow::day, now)->spent; };
  REQUIRE(tollgate::testing::eventually([&] {
    return spent(gate_a) == usd(0.25) + spent_by_b && spent(gate_b) == usd(0.25) + spent_by_a;
  }));
  CHECK(foreign_rows_a == kRows / 2);  // B's costed rows only
  CHECK(foreign_rows_b == kRows);
  // One more row each way, read idle, and nothing counted twice.
  REQUIRE((*a)->append(make_row("a-last", now, usd(0.5))).ok());
  REQUIRE((*b)->append(make_row("b-last", now, usd(0.75))).ok());
  REQUIRE(tollgate::testing::eventually([&] { return foreign_rows_a == kRows / 2 + 1 && foreign_rows_b == kRows + 1; }));
  CHECK(spent(gate_a) == usd(0.25) + spent_by_b + usd(0.75));
  CHECK(spent(gate_b) == usd(0.25) + spent_by_a + usd(0.5));
}

TEST_CASE("a reload keeps spend, a bad policy is refused and changes nothing") {
  SpendGate gate;
  configured(gate, teams_only({team("support", {cap("day", 1.0)})}));
  auto r = gate.reserve(kSupport, usd(0.6), kMay31_23h);
  REQUIRE(r.ok());
  r->settle(usd(0.6), kMay31_23h);

  auto bad = gate.configure(teams_only({team("support", {cap("week", 1.0)})}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category() == ErrorCategory::config);
  CHECK(bad.error().message() ==
        "teams.lua:3: team 'support': unknown cap window 'week'; use \"hour\", \"day\", \"month\" "
        "or \"rolling_24h\"");
  CHECK_FALSE(gate.configure(teams_only({team("support", {cap("day", 1.0), cap("day", 2.0)})})).ok());
  CHECK_FALSE(gate.configure(teams_only({team("support", {cap("day", 0)})})).ok());
  CHECK_FALSE(gate.reserve(kSupport, usd(0.5), kMay31_23h).ok());  // still the $1 cap

  configured(gate, teams_only({team("support", {cap("day", 2.0)})}));
  CHECK(gate.snapshot("support", SpendWindow::day, kMay31_23h)->spent == usd(0.6));
  CHECK(gate.reserve(kSupport, usd(0.5), kMay31_23h).ok());
}
