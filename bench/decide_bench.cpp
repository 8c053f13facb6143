// decide(): the routing decision's cost, with heap allocations counted.
//   build/bench/decide_bench --benchmark_min_time=1
// Targets (issue #2): declarative <= 0.5 us, with a Lua predicate <= 2 us,
// no heap allocation per decision on the declarative path.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>

#include <benchmark/benchmark.h>

#include "tollgate/engine.hpp"

// Counting allocator: every operator new in the process goes through here.
// GCC 12 flags free() in a replaced operator delete as mismatched with new;
// replacing both together is exactly what the standard allows.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<int64_t> g_allocs{0};
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

std::unique_ptr<tollgate::Engine> engine_for(const std::string& name, const std::string& policy) {
  const auto path = std::filesystem::temp_directory_path() / ("tollgate-bench-" + name + ".lua");
  std::ofstream(path) << policy;
  tollgate::Options o;
  o.policy_paths = {path.string()};
  auto e = tollgate::Engine::create(o);
  if (!e.ok()) {
    std::fprintf(stderr, "%s\n", e.error().what());
    std::exit(1);
  }
  return std::move(*e);
}

tollgate::Request request(const std::string& task) {
  tollgate::Request r;
  r.team = "support";
  r.tags = {{"task", task}, {"tier", "free"}};
  r.body["messages"] = {{{"role", "system"}, {"content", "You label support tickets."}},
                        {{"role", "user"}, {"content", "My card was charged twice for the same order, please help."}}};
  r.max_tokens = 50;
  return r;
}

void run(benchmark::State& state, tollgate::Engine& engine, const tollgate::Request& req) {
  tollgate::Decision d;
  if (!engine.decide_into(req, d).ok()) state.SkipWithError("decide failed");
  const int64_t before = g_allocs.load();
  for (auto _ : state) {
    auto r = engine.decide_into(req, d);
    benchmark::DoNotOptimize(r);
  }
  state.counters["allocs/decision"] =
      static_cast<double>(g_allocs.load() - before) / static_cast<double>(state.iterations());
}

const char* kDeclarative = R"(
route "code"     { when = { task = "code" },     try = { "deepseek-chat", "gpt-4.1-mini" } }
route "classify" { when = { task = "classify", tier = { "free", "pro" } },
                   try = { "qwen3-8b", "glm-4-9b", "gpt-4o-mini" }, max_usd = 0.01 }
route "default"  { try = { "deepseek-v4-flash", "gpt-4o-mini", "gpt-4o" } }
)";

const char* kLuaPredicate = R"(
route "classify" { when = function(r) return r.tags.task == "classify" and r.input_tokens < 4000 end,
                   try = { "qwen3-8b", "glm-4-9b", "gpt-4o-mini" } }
route "default"  { try = { "deepseek-v4-flash", "gpt-4o-mini", "gpt-4o" } }
)";

std::string fifty_routes() {
  std::string p;
  for (int i = 0; i < 49; ++i)
    p += "route \"r" + std::to_string(i) + "\" { when = { task = \"task" + std::to_string(i) +
         "\" }, try = { \"gpt-4o-mini\", \"deepseek-v4-flash\" } }\n";
  return p + "route \"default\" { try = { \"qwen3-8b\", \"gpt-4o-mini\" } }\n";
}

void BM_DecideDeclarative(benchmark::State& s) {
  static auto e = engine_for("declarative", kDeclarative);
  run(s, *e, request("classify"));
}
void BM_DecideLuaPredicate(benchmark::State& s) {
  static auto e = engine_for("lua", kLuaPredicate);
  run(s, *e, request("classify"));
}
void BM_Decide50RoutesLastMatches(benchmark::State& s) {
  static auto e = engine_for("fifty", fifty_routes());
  run(s, *e, request("unlisted"));
}

}  // namespace

BENCHMARK(BM_DecideDeclarative);
BENCHMARK(BM_DecideLuaPredicate);
BENCHMARK(BM_Decide50RoutesLastMatches);
BENCHMARK_MAIN();
