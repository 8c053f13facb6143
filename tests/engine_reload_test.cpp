// Hot reload: a new policy set is loaded and validated on the side and
// swapped atomically; a broken one leaves the old running.
#include <atomic>
#include <thread>

#include "engine_support.hpp"

using namespace tollgate;
using namespace tollgate::testing;

namespace {

// Two valid policies that route the same request differently, both with a
// Lua predicate so each thread's Lua state must follow the reloads.
const char* kPolicyA = R"(
route "a" { when = function(r) return r.team ~= "" end, try = { "gpt-4o-mini", "deepseek-v4-flash" } }
)";
const char* kPolicyB = R"(
route "b" { when = function(r) return #r.text > 0 end, try = { "qwen3-32b" } }
)";
const char* kBroken = R"(
route "c" { try = { "no-such-model" } }
)";

}  // namespace

TEST_CASE("a broken reload returns its error and keeps the old policy", "[reload]") {
  TestEngine e(kPolicyA);
  e.dir.write("policy.lua", kBroken);
  auto r = e->reload();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().category() == ErrorCategory::policy);
  CHECK(r.error().message().rfind("policy.lua:2: route 'c': try[1]: unknown model 'no-such-model'", 0) == 0);
  CHECK(e->decide(chat("t", "hi"))->route == "a");
  e.dir.write("policy.lua", "route \"x\" { try = { \"gpt-4o\" } \n");  // syntax error
  CHECK(e->reload().error().message().find("policy.lua:2:") == 0);
  CHECK(e->decide(chat("t", "hi"))->route == "a");
}

TEST_CASE("8 threads decide while another reloads 100 times", "[reload][concurrency]") {
  TestEngine e(kPolicyA);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> decisions{0}, inconsistent{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Decision d;
      const Request r = chat("team-" + std::to_string(t), "hello");
      while (!stop.load(std::memory_order_relaxed)) {
        if (!e->decide_into(r, d).ok()) {
          failures++;
          continue;
        }
        // Every decision comes whole from one policy set or the other.
        const bool a = d.route == "a" && d.candidates.size() == 2 && d.candidates[0].model == "gpt-4o-mini";
        const bool b = d.route == "b" && d.candidates.size() == 1 && d.candidates[0].model == "qwen3-32b";
        if (!a && !b) inconsistent++;
        decisions++;
      }
    });
  }
  int good_reloads = 0, refused = 0;
  for (int i = 0; i < 100; ++i) {
    e.dir.write("policy.lua", i % 10 == 9 ? kBroken : (i % 2 ? kPolicyB : kPolicyA));
    if (e->reload().ok()) good_reloads++;
    else refused++;
  }
  stop = true;
  for (auto& th : threads) th.join();
  std::printf("reload under load: %lld decisions, %d reloads, %d refused\n",
              static_cast<long long>(decisions.load()), good_reloads, refused);
  CHECK(good_reloads == 90);
  CHECK(refused == 10);
  CHECK(failures == 0);
  CHECK(inconsistent == 0);
  CHECK(decisions > 0);
}
