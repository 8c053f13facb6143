// tollgate demo — the README's main job. Starts the mock provider in this
// process, sends a realistic traffic mix through a shipped policy over real
// HTTP, and prints where each feature's requests went, the bill per team,
// the cache's savings, the capped teams' denials and downgrades, and the
// saving against sending everything to one flagship model.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include <unistd.h>

#include "mock/mock_server.hpp"
#include "engine/engine_impl.hpp"
#include "engine/ledger/ledger.hpp"
#include "engine/wall_clock.hpp"
#include "tools/commands.hpp"
#include "tools/demo_traffic.hpp"

#ifndef TOLLGATE_DATA_DIR
#define TOLLGATE_DATA_DIR ""
#endif

namespace tollgate::tools {
namespace {

namespace fs = std::filesystem;

struct Tally {
  int64_t requests = 0, denied = 0, downgraded = 0, cache_hits = 0, cacheable = 0;
  Money spent, baseline, saved_by_cache;
  std::map<std::string, int64_t> by_model;  // "route -> model"
};

// Replies sized like the real thing, and latencies like the real APIs'
// fast paths, so the numbers and the run time look like a morning's
// traffic (divided by a lot).
void script_mock(adapters::MockServer& mock) {
  auto say = [&](const char* model, const char* reply, int latency_ms) {
    adapters::MockBehavior b;
    b.reply = reply;
    b.latency = std::chrono::milliseconds(latency_ms);
    mock.script(model, b);
  };
  say("qwen3-8b", "billing", 8);
  say("glm-4-9b", "billing", 8);
  say("deepseek-v4-flash",
      "- Customer was double-charged in March.\n- Refund requested for the duplicate.\n- Next step: confirm "
      "the refund and apologise.",
      25);
  say("deepseek-chat",
      "The loop never ends because `continue` skips the increment. Move `i += 1` before the check, or iterate "
      "with `for item in items:` and skip `None` values there. Here is the fixed version with a test.",
      40);
  say("gemini-2.5-flash",
      "Revenue grew in all regions but the north; support load rose after the pricing change; latency and "
      "security are on track; hiring lags in sales. Risks: two slipped renewals and monthly-plan churn.",
      60);
  adapters::MockBehavior generic;
  generic.reply = "Here is a short, friendly draft you can send to the team today.";
  generic.latency = std::chrono::milliseconds(20);
  mock.set_default(generic);
}

std::string find_policy(const std::string& given) {
  if (!given.empty()) return given;
  for (const std::string& p : {std::string("policies/company.lua"),
                               std::string(TOLLGATE_DATA_DIR) + "/policies/company.lua"})
    if (!p.empty() && fs::exists(p)) return p;
  return "policies/company.lua";
}

// What two teams spent earlier today, written to the ledger before the
// engine starts: the engine rebuilds its cap counters from the ledger, so
// the demo's traffic meets caps that are nearly used up, as at 4 pm.
struct Seed {
  const char* team;
  double usd;
};
constexpr Seed kMorning[] = {{"growth", 9.9995}, {"interns", 4.9995}};

Result<void> seed_ledger(const std::string& path) {
  auto ledger = engine::Ledger::open(path);
  if (!ledger.ok()) return ledger.error();
  const int64_t now = engine::unix_now_ms();
  int i = 0;
  for (const Seed& s : kMorning) {
    engine::LedgerRow row;
    row.request_id = "demo-morning-" + std::to_string(i++);
    row.time_ms = now;
    row.team = s.team;
    row.tags_json = "{}";
    row.task = "chat";
    row.route = "default";
    row.provider = "openai";
    row.model = "gpt-4o";
    row.cost = Money::from_usd(s.usd);
    if (auto r = (*ledger)->append(std::move(row)); !r.ok()) return r.error();
  }
  return (*ledger)->flush();
}

std::string pct(Money part, Money whole) {
  if (whole.nanos <= 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100.0 * static_cast<double>(part.nanos) / static_cast<double>(whole.nanos));
  return buf;
}

void progress(int done, int total) {
  // A terminal gets a bar redrawn in place; a log gets a line per quarter.
  static const bool tty = ::isatty(2);
  if (!tty) {
    if (done % std::max(1, total / 4) == 0 || done == total) std::fprintf(stderr, "  sent %d/%d\n", done, total);
    return;
  }
  const int width = 40, filled = total ? done * width / total : width;
  std::fprintf(stderr, "\r  sending  [%s%s] %d/%d", std::string(static_cast<size_t>(filled), '=').c_str(),
               std::string(static_cast<size_t>(width - filled), ' ').c_str(), done, total);
  if (done == total) std::fputc('\n', stderr);
}

}  // namespace

int cmd_demo(const DemoArgs& args) {
  const std::string policy = find_policy(args.policy);
  const std::string& baseline = args.baseline;
  const int n = args.requests, concurrency = args.concurrency;

  adapters::MockServerOptions mo;
  mo.threads = 2;
  auto mock = adapters::MockServer::start(mo);
  if (!mock) return std::cerr << "tollgate demo: cannot start the mock provider: " << mock.error() << "\n", 1;
  script_mock(**mock);

  const fs::path dir = fs::temp_directory_path() / ("tollgate-demo-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Options opts;
  opts.policy_paths = {policy};
  opts.ledger_path = (dir / "ledger.db").string();
  std::error_code ec;
  fs::remove(opts.ledger_path, ec);
  if (auto seeded = seed_ledger(opts.ledger_path); !seeded.ok())
    return std::cerr << "tollgate demo: " << seeded.error().what() << "\n", 1;
  opts.durability = Durability::async;  // a demo need not wait for fsync per request
  opts.base_url_overrides["*"] = (*mock)->base_url();
  auto created = Engine::create(opts);
  if (!created.ok()) return std::cerr << "tollgate demo: " << created.error().what() << "\n", 1;
  std::unique_ptr<Engine> engine = std::move(*created);
  auto* impl = static_cast<engine::EngineImpl*>(engine.get());
  const auto set = impl->policy();
  const engine::ModelInfo* flagship = set->catalog.find_model(baseline);
  if (!flagship || !flagship->priced())
    return std::cerr << "tollgate demo: baseline model '" << baseline << "' is not a priced catalog model\n", 2;

  std::vector<std::string> alerts;
  std::mutex mu;
  engine->on_budget_alert([&](const BudgetAlert& a) {
    std::lock_guard lock(mu);
    alerts.push_back(a.team + " passed " + std::to_string(static_cast<int>(a.threshold * 100)) + "% of its " +
                     a.window + " cap (" + a.cap.str() + ")");
  });

  std::printf("tollgate demo: %d requests through %s\n", n, policy.c_str());
  std::printf("  providers mocked at %s (real HTTP, real SSE framing, usage in every answer)\n",
              (*mock)->base_url().c_str());
  std::printf("  the ledger already holds this morning's spend:");
  for (const Seed& s : kMorning) std::printf(" %s %s", s.team, Money::from_usd(s.usd).str().c_str());
  std::printf(" (their daily caps: see the policy)\n\n");

  const auto traffic = demo_traffic(n);
  std::map<std::string, Tally> by_feature, by_team;
  std::map<std::string, std::string> denial_reason;
  std::condition_variable cv;
  int in_flight = 0, finished = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const auto& item : traffic) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < concurrency; });
      ++in_flight;
    }
    engine->async_complete(item.request, [&, feature = item.feature, team = item.request.team,
                                          cacheable = item.feature == "ticket triage" ||
                                                      item.feature == "ticket summaries"](Result<Response> r) {
      std::lock_guard lock(mu);
      for (Tally* t : {&by_feature[feature], &by_team[team]}) {
        t->requests++;
        if (cacheable) t->cacheable++;
        if (!r.ok()) {
          if (r.error().category() == ErrorCategory::budget) t->denied++;
          continue;
        }
        const Usage& u = r->usage;
        const Money flagship_cost = cost_of(u.input_tokens - u.cached_input_tokens, flagship->input, u.cached_input_tokens,
                                            flagship->cached_or_input(), u.output_tokens, flagship->output);
        t->spent += r->cost;
        t->baseline += flagship_cost;
        if (r->cache_hit) t->cache_hits++, t->saved_by_cache += r->saved;
        if (r->downgraded) t->downgraded++;
        t->by_model[r->route + " -> " + r->model]++;
      }
      if (!r.ok() && r.error().category() == ErrorCategory::budget) denial_reason[team] = r.error().message();
      --in_flight;
      ++finished;
      progress(finished, n);
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return finished == n; });
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  (void)engine->flush();

  std::printf("\nWhere each feature's requests went\n");
  std::printf("  %-20s %8s  %s\n", "feature", "requests", "route -> model (requests)");
  for (const auto& [feature, t] : by_feature) {
    std::string routes;
    for (const auto& [rm, count] : t.by_model) routes += (routes.empty() ? "" : ", ") + rm + " (" + std::to_string(count) + ")";
    if (t.denied) routes += (routes.empty() ? "" : ", ") + std::string("denied by cap (") + std::to_string(t.denied) + ")";
    std::printf("  %-20s %8lld  %s\n", feature.c_str(), static_cast<long long>(t.requests), routes.c_str());
  }

  std::printf("\nThe bill per team                  spent    all on %-12s saving\n", baseline.c_str());
  Money total_spent, total_baseline, total_cache_saved;
  int64_t hits = 0, cacheable = 0;
  for (const auto& [team, t] : by_team) {
    std::printf("  %-20s %5lld req  %12s  %12s  %6s\n", team.c_str(), static_cast<long long>(t.requests),
                t.spent.str().c_str(), t.baseline.str().c_str(), pct(t.baseline - t.spent, t.baseline).c_str());
    total_spent += t.spent;
    total_baseline += t.baseline;
    total_cache_saved += t.saved_by_cache;
    hits += t.cache_hits;
    cacheable += t.cacheable;
  }
  std::printf("  %-20s %5d req  %12s  %12s  %6s\n", "total", n, total_spent.str().c_str(),
              total_baseline.str().c_str(), pct(total_baseline - total_spent, total_baseline).c_str());

  std::printf("\nCache: %lld hits of %lld cacheable requests (%.0f%%), saving %s\n", static_cast<long long>(hits),
              static_cast<long long>(cacheable), cacheable ? 100.0 * static_cast<double>(hits) / static_cast<double>(cacheable) : 0.0,
              total_cache_saved.str().c_str());

  std::printf("\nSpend caps\n");
  for (const auto& [team, t] : by_team) {
    const auto requests = [](int64_t n) { return n == 1 ? "request" : "requests"; };
    if (t.downgraded)
      std::printf("  %-10s %lld %s downgraded to a cheaper route\n", team.c_str(), static_cast<long long>(t.downgraded),
                  requests(t.downgraded));
    if (t.denied)
      std::printf("  %-10s %lld %s denied: %s\n", team.c_str(), static_cast<long long>(t.denied), requests(t.denied),
                  denial_reason[team].c_str());
  }
  for (const auto& a : alerts) std::printf("  alert: %s\n", a.c_str());

  const double ratio = total_spent.nanos > 0 ? static_cast<double>(total_baseline.nanos) / static_cast<double>(total_spent.nanos) : 0;
  std::printf("\nAgainst sending everything to %s: %s instead of %s, %s less (%.0fx cheaper).\n", baseline.c_str(),
              total_spent.str().c_str(), total_baseline.str().c_str(), pct(total_baseline - total_spent, total_baseline).c_str(), ratio);
  std::printf("Ran in %.1f s. Every attempt is in the ledger: tollgate report --ledger %s --by team\n", seconds,
              opts.ledger_path.c_str());
  return 0;
}

}  // namespace tollgate::tools
