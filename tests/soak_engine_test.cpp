// The fault soak: mixed traffic through a real engine against a mock that
// fails at random in every way it knows, while the policy reloads (and a
// broken one is refused) and two teams run into their caps. Afterwards the
// books must balance: every answered request is in the ledger exactly once,
// every failure has the status it should, spend is under every cap, nothing
// stays reserved, and (release builds) the heap has not grown.
//
// Bounded: TOLLGATE_SOAK_SECONDS (default 20) of traffic, or
// TOLLGATE_SOAK_REQUESTS requests, whichever comes first; TOLLGATE_SOAK_SEED
// replays the mock's fault mix; TOLLGATE_SOAK_RELOAD_MS paces the reloads
// (default 150). No assertion depends on timing: the main phase runs on past
// its time until it has seen one of everything the checks count on (each
// fault kind, a denial, a downgrade, a reload taken and one refused), so a
// slow, loaded runner takes longer instead of failing; a hard stop (the
// time budget plus TOLLGATE_SOAK_GRACE_SECONDS, default 300) bounds it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <malloc.h>

#include "request_support.hpp"

using namespace tollgate;
using namespace tollgate::testing;
using adapters::MockFault;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

// Short timeouts, so a `hang` costs an attempt a second, not two minutes.
const char* kProviders = R"(
provider "openai"    { first_byte_timeout = "1s", idle_timeout = "1s", total_timeout = "5s" }
provider "deepseek"  { first_byte_timeout = "1s", idle_timeout = "1s", total_timeout = "5s" }
provider "anthropic" { first_byte_timeout = "1s", idle_timeout = "1s", total_timeout = "5s" }
provider "qwen"      { first_byte_timeout = "1s", idle_timeout = "1s", total_timeout = "5s" }
team "alpha"   { monthly_usd = 1000 }
team "beta"    { monthly_usd = 1000 }
team "capped"  { daily_usd = 0.0001, on_exceed = "deny" }
team "thrifty" { daily_usd = 0.0001, on_exceed = "downgrade", downgrade = "economy" }
route "economy" { when = { tier = "economy" }, try = { "qwen3-8b" } }
route "faq"  { when = { task = "faq" }, cache = { ttl = "1h" }, try = { "gpt-4o-mini", "deepseek-v4-flash" } }
route "slow" { when = { task = "slow" }, try = { "claude-haiku-4-5" } }
)";

// Two valid policies that route the rest differently (one in Lua, reading
// ctx per request), and broken ones that reload() must refuse.
std::string policy_a() {
  return std::string(kProviders) +
         "route \"default\" { try = { \"gpt-4o-mini\", \"deepseek-v4-flash\", \"claude-haiku-4-5\" } }\n";
}
std::string policy_b() {
  return std::string(kProviders) + R"(
route "default" {
  select = function(r, ctx)
    local s = ctx:spend("day")
    if s and s.cap_usd and s.remaining_usd < 0.00005 then return { "qwen3-8b" } end
    if #r.last_user_text % 2 == 0 then return { "deepseek-v4-flash", "gpt-4o-mini" } end
    return { "claude-haiku-4-5", "gpt-4o-mini" }
  end,
}
)";
}
const char* kBrokenPolicies[] = {
    "route \"default\" { try = { \"gpt-9-imaginary\" } }\n",
    "route \"default\" { try = { \"gpt-4o-mini\" }\n",  // unclosed brace
    "local nothing\nnothing.field = 1\n",  // fails while it loads
};

enum class Kind { plain, stream, faq, faq_stream, cancel_stream, cancel_plain, capped, thrifty };
constexpr Kind kKinds[] = {Kind::plain, Kind::stream,  Kind::faq,    Kind::faq_stream,
                           Kind::cancel_stream, Kind::cancel_plain, Kind::capped, Kind::thrifty};
constexpr int kFaqPrompts = 4;

std::string request_id(int client, int64_t n) { return "soak-" + std::to_string(client) + "-" + std::to_string(n); }

// What the engine said about one request. Small and fixed-size, so the
// record the test keeps does not blur the heap comparison.
struct Outcome {
  int client = 0;
  int64_t n = 0;
  bool ok = false;
  bool cache_hit = false;
  bool downgraded = false;
  bool streamed = false;
  bool deltas_match = true;  // a completed stream's deltas spell its answer
  ErrorCategory category = ErrorCategory::internal;
  // Failed before any attempt because circuit breakers had opened on every
  // candidate (ErrorCategory::unavailable). Nothing was sent, so no ledger row.
  bool circuits_open = false;
  // Waited on an identical request in flight (the faq route's single
  // flight) and shares its upstream failure: the attempts, and their ledger
  // rows, are the other request's.
  bool shared_failure = false;
  std::string message;  // a failure's, for the report of a check that fails
};

std::string answer_text(const Response& r) {
  const auto& m = r.body["choices"][0]["message"];
  return m.contains("content") && m["content"].is_string() ? m["content"].get<std::string>() : "";
}

std::string delta_text(const nlohmann::json& chunk) {
  if (!chunk.contains("choices") || chunk["choices"].empty()) return "";
  const auto& d = chunk["choices"][0]["delta"];
  return d.contains("content") && d["content"].is_string() ? d["content"].get<std::string>() : "";
}

struct Soak {
  MockedEngine m;
  std::mutex mu;
  std::vector<Outcome> outcomes;                     // guarded by mu
  std::map<ErrorCategory, std::string> first_error;  // guarded by mu: one example each
  std::atomic<int64_t> sent{0};
  // The reload thread's, read after it is joined (Catch2 assertions are
  // not thread-safe, so it collects its surprises instead).
  std::atomic<int> reloads_ok{0}, reloads_refused{0};
  std::vector<std::string> reload_surprises;
  // What the run has seen so far, for covered().
  std::atomic<int64_t> denied{0}, downgraded{0};

  explicit Soak(Options opts) : m(policy_a(), opts) {
    adapters::MockBehavior b;
    b.reply = "The quick brown fox jumps over the lazy dog.";
    b.retry_after = std::chrono::seconds(0);  // retries need not wait a second
    b.fault_rate = 0.15;
    b.fault_seed = static_cast<uint64_t>(env_int("TOLLGATE_SOAK_SEED", 20261123));
    m.mock->set_default(b);
    adapters::MockBehavior slow = b;  // streams long enough to cancel midway
    slow.reply = "one two three four five six seven eight nine ten eleven twelve";
    slow.tokens_per_second = 100;
    m.mock->script("claude-haiku-4-5", slow);
  }

  void record(const Outcome& o) {
    if (!o.ok && o.category == ErrorCategory::budget) ++denied;
    if (o.ok && o.downgraded) ++downgraded;
    std::lock_guard lock(mu);
    outcomes.push_back(o);
  }

  // The fault kinds whose injection the checks require.
  static constexpr MockFault kRequiredFaults[] = {MockFault::rate_limit, MockFault::server_error,
                                                  MockFault::unavailable, MockFault::hang, MockFault::reset,
                                                  MockFault::truncate,   MockFault::malformed};

  // One of everything the checks count on has happened.
  bool covered() const {
    for (MockFault f : kRequiredFaults)
      if (m.mock->injected(f) == 0) return false;
    return denied > 0 && downgraded > 0 && reloads_ok > 0 && reloads_refused > 0;
  }

  void fill(Outcome& o, const Result<Response>& r) {
    o.ok = r.ok();
    if (r.ok()) {
      o.cache_hit = r->cache_hit;
      o.downgraded = r->downgraded;
    } else {
      o.category = r.error().category();
      const std::string& m = r.error().message();
      o.message = m;
      o.shared_failure = m.rfind("the identical request this one waited on failed upstream: ", 0) == 0;
      o.circuits_open = o.category == ErrorCategory::unavailable;
      std::lock_guard lock(mu);
      first_error.try_emplace(o.category, r.error().message());
    }
  }

  // Heap the test itself holds: the outcome records.
  int64_t held() {
    std::lock_guard lock(mu);
    return static_cast<int64_t>(outcomes.capacity() * sizeof(Outcome));
  }

  Request request_for(Kind kind, int client, int64_t n, std::mt19937& rng) {
    const std::string unique = "soak request " + std::to_string(client) + "-" + std::to_string(n);
    Request r;
    switch (kind) {
      case Kind::faq:
      case Kind::faq_stream:
        r = chat(client % 2 ? "alpha" : "beta",
                 "frequently asked question #" + std::to_string(rng() % kFaqPrompts), {{"task", "faq"}});
        break;
      case Kind::cancel_stream: r = chat("alpha", unique, {{"task", "slow"}}); break;
      case Kind::capped: r = chat("capped", unique); break;
      case Kind::thrifty: r = chat("thrifty", unique); break;
      default: r = chat(client % 2 ? "alpha" : "beta", unique); break;
    }
    r.max_tokens = 50;
    r.id = request_id(client, n);
    return r;
  }

  void one(Kind kind, int client, int64_t n, std::mt19937& rng) {
    Request req = request_for(kind, client, n, rng);
    Outcome o;
    o.client = client;
    o.n = n;
    Engine& engine = m.api();
    if (kind == Kind::stream || kind == Kind::faq_stream) {
      std::string deltas;
      auto r = engine.stream(req, [&](const nlohmann::json& chunk) { deltas += delta_text(chunk); });
      fill(o, r);
      o.streamed = true;
      if (r.ok()) o.deltas_match = deltas == answer_text(*r);
    } else if (kind == Kind::cancel_stream || kind == Kind::cancel_plain) {
      auto cancel = Cancellation::make();
      std::promise<Result<Response>> done;
      std::atomic<int> chunks{0};
      Engine::DoneFn on_done = [&](Result<Response> r) { done.set_value(std::move(r)); };
      if (kind == Kind::cancel_stream) {
        engine.async_stream(
            req, [&](const nlohmann::json&) { if (++chunks == 3) cancel->cancel(); }, on_done, cancel);
      } else {
        engine.async_complete(req, on_done, cancel);
        if (rng() % 2) std::this_thread::yield();  // cancel at varying points of the pipeline
        cancel->cancel();
      }
      fill(o, done.get_future().get());
      o.streamed = kind == Kind::cancel_stream;
    } else {
      fill(o, engine.complete(req));
    }
    record(o);
  }

  // Client threads send the mix until `until` or the request budget is
  // spent, and with `until_covered` on past `until` until covered() (never
  // past `hard_stop`); one more thread reloads the policy meanwhile.
  void run_phase(int clients, std::chrono::steady_clock::time_point until, int64_t max_requests,
                 bool until_covered = false,
                 std::chrono::steady_clock::time_point hard_stop = std::chrono::steady_clock::time_point::max()) {
    const std::chrono::milliseconds reload_every(env_int("TOLLGATE_SOAK_RELOAD_MS", 150));
    std::atomic<bool> clients_done{false};
    std::mutex reload_mu;
    std::condition_variable reload_cv;
    std::thread reloader([&] {
      std::unique_lock lock(reload_mu);
      for (int i = 0; !clients_done; ++i) {
        // Paces the reloads; not a synchronisation.
        reload_cv.wait_for(lock, reload_every, [&] { return clients_done.load(); });
        if (clients_done) break;
        const bool broken = i % 3 == 2;
        m.dir.write("policy.lua", broken ? kBrokenPolicies[(i / 3) % std::size(kBrokenPolicies)]
                                         : (i % 2 ? policy_b() : policy_a()));
        auto r = m.api().reload();
        if (r.ok() == broken) {
          reload_surprises.push_back("reload " + std::to_string(i) +
                                     (r.ok() ? " of a broken policy succeeded" : " failed: " + std::string(r.error().what())));
        }
        (r.ok() ? reloads_ok : reloads_refused)++;
      }
      m.dir.write("policy.lua", policy_a());
    });
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        std::mt19937 rng(static_cast<unsigned>(c * 7919 + sent.load()));
        for (;;) {
          const auto now = std::chrono::steady_clock::now();
          if (now >= hard_stop || (now >= until && (!until_covered || covered()))) break;
          const int64_t n = sent++;
          if (n >= max_requests) break;
          one(kKinds[rng() % std::size(kKinds)], c, n, rng);
        }
      });
    }
    for (auto& t : threads) t.join();
    {
      std::lock_guard lock(reload_mu);
      clients_done = true;
    }
    reload_cv.notify_all();
    reloader.join();
  }
};

// Rows of one request in the ledger, by status.
struct LedgerCounts {
  int64_t ok = 0, error = 0, cache_hit = 0, denied = 0;
};

std::map<std::string, LedgerCounts> ledger_by_request(const std::string& path) {
  std::map<std::string, LedgerCounts> out;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT request_id, status, count(*) FROM attempts GROUP BY 1, 2", -1, &st,
                             nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto& c = out[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))];
    const std::string status = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    const int64_t n = sqlite3_column_int64(st, 2);
    if (status == "ok") c.ok += n;
    else if (status == "error") c.error += n;
    else if (status == "cache_hit") c.cache_hit += n;
    else if (status == "denied") c.denied += n;
    else FAIL_CHECK("unknown ledger status " << status);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// Heap in use outside SQLite. SQLite's page cache grows with the ledger up
// to its configured size (engine/ledger/ledger.cpp sets 32 MiB): bounded, but far
// above what a leak of a few hundred bytes a request adds in a soak, so it
// is measured apart (sqlite3_memory_used) and left out.
int64_t heap_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd) - sqlite3_memory_used();
}

}  // namespace

TEST_CASE("random faults, reloads and caps through one engine, then the books balance", "[soak][concurrency]") {
  const int64_t seconds = env_int("TOLLGATE_SOAK_SECONDS", 20);
  const int64_t max_requests = env_int("TOLLGATE_SOAK_REQUESTS", 1'000'000);
  Options opts;
  opts.cache_bytes = 4 << 20;  // bounded, so the heap can be compared
  Soak soak(opts);
  constexpr int kClients = 6;

  const auto start = std::chrono::steady_clock::now();
  // Warm-up: a tenth of the run, so lazily built state (Lua states, pools,
  // SQLite's page cache) exists before the heap is measured.
  soak.run_phase(kClients, start + std::chrono::seconds(seconds) / 10, max_requests / 10 + 1);
  const int64_t heap_warm = heap_in_use() - soak.held();
  const auto until = start + std::chrono::seconds(seconds);
  soak.run_phase(kClients, until, max_requests, /*until_covered=*/true,
                 until + std::chrono::seconds(env_int("TOLLGATE_SOAK_GRACE_SECONDS", 300)));
  REQUIRE(soak.m.api().flush().ok());
  const int64_t heap_end = heap_in_use() - soak.held();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // The ledger, request by request.
  const auto ledger = ledger_by_request(soak.m.ledger_path);
  std::map<std::string, int> by_outcome;
  int64_t cache_hits = 0, downgrades = 0, denials = 0, stream_mismatches = 0;
  for (const Outcome& o : soak.outcomes) {
    const std::string id = request_id(o.client, o.n);
    auto it = ledger.find(id);
    const LedgerCounts c = it == ledger.end() ? LedgerCounts{} : it->second;
    INFO("request " << id << (o.ok ? " ok" : " failed: " + std::string(to_string(o.category)) + ": " + o.message));
    if (o.ok) {
      by_outcome[o.cache_hit ? "ok (cache hit)" : o.downgraded ? "ok (downgraded)" : "ok"]++;
      cache_hits += o.cache_hit;
      downgrades += o.downgraded;
      if (!o.deltas_match) ++stream_mismatches;
      // Answered: exactly one row says so, and no denial.
      CHECK(c.ok + c.cache_hit == 1);
      CHECK(c.cache_hit == (o.cache_hit ? 1 : 0));
      CHECK(c.denied == 0);
    } else {
      by_outcome["failed: " + std::string(to_string(o.category)) + (o.circuits_open ? " (circuits open)" : "")]++;
      CHECK(c.ok + c.cache_hit == 0);  // never both failed and charged as answered
      CHECK(c.denied <= 1);
      if (o.category == ErrorCategory::budget) {
        ++denials;
        CHECK(c.denied + c.error >= 1);
      } else {
        CHECK(c.denied == 0);
        if (o.shared_failure)
          CHECK(c.error == 0);  // no attempt of its own
        else if ((o.category == ErrorCategory::provider && !o.circuits_open) || o.category == ErrorCategory::timeout)
          CHECK(c.error >= 1);
      }
      // Only what the soak provokes; any other policy error, or an internal
      // one, is a bug.
      const bool expected = o.category == ErrorCategory::budget || o.category == ErrorCategory::provider ||
                            o.category == ErrorCategory::timeout || o.category == ErrorCategory::cancelled ||
                            o.category == ErrorCategory::bad_request || o.circuits_open;
      CHECK(expected);
    }
  }
  CHECK(stream_mismatches == 0);
  // Nothing in the ledger that was not sent.
  for (const auto& [id, c] : ledger) CHECK(id.rfind("soak-", 0) == 0);
  CHECK(static_cast<int64_t>(ledger.size()) <= static_cast<int64_t>(soak.outcomes.size()));
  CHECK(static_cast<int64_t>(soak.outcomes.size()) == std::min(soak.sent.load(), max_requests));

  // Spend: under every cap, nothing left reserved, and what the engine
  // counts is what the ledger holds.
  for (const SpendView& s : soak.m.api().spend_all()) {
    INFO(s.team << " " << s.window);
    CHECK(s.reserved.nanos == 0);
    if (s.cap) CHECK(s.spent <= *s.cap);
  }
  for (const char* team : {"alpha", "beta", "capped", "thrifty"}) {
    INFO(team);
    auto s = soak.m.api().spend(team, "day");
    REQUIRE(s.ok());
    // Rows are charged to the window they settled in (ts_ms): a run across
    // midnight compares today's part only.
    CHECK(s->spent.nanos == soak.m.ledger_int("SELECT coalesce(sum(cost_nanos), 0) FROM attempts WHERE team = '" +
                                              std::string(team) + "' AND ts_ms >= " +
                                              std::to_string(s->window_start_ms)));
  }
  CHECK(denials > 0);     // the capped team hit its cap
  CHECK(downgrades > 0);  // and the thrifty one was sent to its economy route
  CHECK(soak.reload_surprises.empty());
  for (const auto& s : soak.reload_surprises) FAIL_CHECK(s);
  CHECK(soak.reloads_refused > 0);
  CHECK(soak.reloads_ok > 0);

  // The engine still serves: a clean request right after the storm.
  adapters::MockBehavior calm;
  calm.reply = "calm";
  soak.m.mock->set_default(calm);
  auto after = soak.m.api().complete(chat("alpha", "after the soak"));
  REQUIRE(after.ok());
  CHECK(answer_text(*after) == "calm");

  std::printf("\n== soak summary (%.1f s, %d clients, seed %lld%s) ==\n", elapsed, kClients,
              static_cast<long long>(env_int("TOLLGATE_SOAK_SEED", 20261123)), kSanitized ? ", sanitized" : "");
  std::printf("requests sent: %zu\n", soak.outcomes.size());
  for (const auto& [what, n] : by_outcome) std::printf("  %-24s %d\n", what.c_str(), n);
  std::printf("mock calls: %lld; by fault injected:\n", static_cast<long long>(soak.m.mock->total_calls()));
  for (std::size_t k = 0; k < adapters::kMockFaultKinds; ++k) {
    const auto f = static_cast<MockFault>(k);
    std::printf("  %-24s %lld\n", std::string(adapters::to_string(f)).c_str(),
                static_cast<long long>(soak.m.mock->injected(f)));
  }
  std::printf("reloads: %d ok, %d refused\n", soak.reloads_ok.load(), soak.reloads_refused.load());
  std::printf("cap: %lld denials, %lld downgrades; cache hits: %lld\n", static_cast<long long>(denials),
              static_cast<long long>(downgrades), static_cast<long long>(cache_hits));
  for (const auto& [category, message] : soak.first_error)
    std::printf("  e.g. %s: %.160s\n", std::string(to_string(category)).c_str(),
                message.substr(0, message.find('\n')).c_str());
  if (kSanitized)
    std::printf("heap: not measured under a sanitizer's allocator (LSan checks for leaks at exit)\n");
  else
    std::printf("heap in use (SQLite and the test's own records aside): %.1f MiB after warm-up, %.1f MiB at "
                "the end; SQLite holds %.1f MiB\n", heap_warm / 1048576.0, heap_end / 1048576.0,
                sqlite3_memory_used() / 1048576.0);
  std::fflush(stdout);

  // Every fault kind the soak relies on was injected at least once.
  for (MockFault f : Soak::kRequiredFaults) {
    INFO(adapters::to_string(f));
    CHECK(soak.m.mock->injected(f) > 0);
  }
  if (!kSanitized) {
    // Flat: what grows with the request count is a leak. The bound is
    // generous (caches, pools and SQLite's page cache are bounded well below it).
    CHECK(heap_end - heap_warm < (16 << 20));
  }
}
