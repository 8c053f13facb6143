// The hostile-policy catalogue: every file in tests/data/hostile/ is one
// attack on the sandbox, and its first line says what it tries and what
// must happen:
//
//   -- <what it tries> => load: <error text>      reload() refuses it
//   -- <what it tries> => request: <error text>   it loads; a request it
//                                                 handles fails with that error
//   -- <what it tries> => serves: <route>         contained by design: the
//                                                 request is answered by <route>
//
// Request-time attacks sit on a route that only requests tagged `attack`
// reach; the file's first route, "normal", answers the rest. Each file is
// applied to one real engine serving on the mock, in turn: after every
// refused reload and every hostile request the engine must still answer a
// normal request correctly, so no attack poisons the states or threads it
// ran on. A new file is a new case.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "request_support.hpp"

using namespace tollgate;
using namespace tollgate::testing;
namespace fs = std::filesystem;

namespace {

const char* kGoodPolicy = R"(route "good" { try = { "gpt-4o-mini" } }
)";

struct Attack {
  std::string name;      // file name, as errors cite it
  std::string text;      // the policy
  std::string tries;     // what it tries (the first line, before "=>")
  std::string kind;      // load, request or serves
  std::string expected;  // error text, or the route that answers
};

Attack read_attack(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  Attack a;
  a.name = path.filename().string();
  a.text.assign(std::istreambuf_iterator<char>(in), {});
  // Parsed by hand: <regex> trips GCC 12's -Wmaybe-uninitialized under the sanitizers.
  const std::string first = a.text.substr(0, a.text.find('\n'));
  const auto arrow = first.find(" => ");
  const auto colon = arrow == std::string::npos ? arrow : first.find(": ", arrow);
  if (first.rfind("-- ", 0) != 0 || colon == std::string::npos)
    FAIL(a.name << ": the first line must read '-- <what it tries> => load|request|serves: <outcome>'");
  a.tries = first.substr(3, arrow - 3);
  a.kind = first.substr(arrow + 4, colon - arrow - 4);
  a.expected = first.substr(colon + 2);
  if (a.kind != "load" && a.kind != "request" && a.kind != "serves")
    FAIL(a.name << ": unknown outcome '" << a.kind << "' (load, request or serves)");
  return a;
}

std::vector<Attack> catalogue() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(TOLLGATE_TEST_DATA) / "hostile"))
    if (e.path().extension() == ".lua") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Attack> out;
  for (const auto& f : files) out.push_back(read_attack(f));
  return out;
}

// The engine loads one directory; an attack replaces its only file, so
// errors cite the attack's own file name.
struct Target {
  MockedEngine m{kGoodPolicy, {}, /*with_ledger=*/false};
  fs::path dir = m.dir.path() / "active";

  Target() {
    adapters::MockBehavior echo;  // answers "Mock answer from <model> to: <prompt>"
    m.mock->set_default(echo);
    fs::create_directories(dir);
    install("good.lua", kGoodPolicy);
    Options opts;
    opts.policy_paths = {dir.string()};
    opts.base_url_overrides["*"] = m.mock->base_url();
    opts.threads = 2;
    m.restart(opts);
  }

  void install(const std::string& name, const std::string& text) {
    for (const auto& e : fs::directory_iterator(dir)) fs::remove(e.path());
    std::ofstream(dir / name, std::ios::binary) << text;
  }

  Result<void> apply(const std::string& name, const std::string& text) {
    install(name, text);
    return m.api().reload();
  }

  // A request must be answered by `route`, with the mock's echo of its prompt.
  void serves(const std::string& route) {
    const auto start = std::chrono::steady_clock::now();
    auto r = m.api().complete(chat("blue", "an ordinary question"));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    INFO("ordinary request took " << ms.count() << " ms");
    REQUIRE(r.ok());
    CHECK(r->route == route);
    CHECK(r->body["choices"][0]["message"]["content"] ==
          "Mock answer from gpt-4o-mini to: an ordinary question");
  }
};

Request attack_request() { return chat("blue", "hostile request", {{"attack", "yes"}}); }

// A clear policy error: category policy, the file and line first, then the text.
void check_policy_error(const Error& e, const Attack& a) {
  INFO("the error: " << e.what());
  CHECK(e.category() == ErrorCategory::policy);
  // "file:line: ", or "file: " for a memory error, which Lua cannot place.
  const std::string& m = e.message();
  bool cites = m.rfind(a.name + ":", 0) == 0;
  if (cites) {
    std::size_t i = a.name.size() + 1;
    while (i < m.size() && std::isdigit(static_cast<unsigned char>(m[i]))) ++i;
    cites = m.compare(i, 2, ": ") == 0 || (i == a.name.size() + 1 && m.compare(i, 1, " ") == 0);
  }
  CHECK(cites);
  CHECK(e.message().find(a.expected) != std::string::npos);
}

}  // namespace

TEST_CASE("hostile policies: every attack in the catalogue is refused or contained", "[sandbox][hostile]") {
  const auto attacks = catalogue();
  REQUIRE(attacks.size() >= 30);
  Target t;
  t.serves("good");
  for (const Attack& a : attacks) {
    INFO(a.name << ": " << a.tries << " => " << a.kind << ": " << a.expected);
    auto loaded = t.apply(a.name, a.text);
    if (a.kind == "load") {
      REQUIRE_FALSE(loaded.ok());
      check_policy_error(loaded.error(), a);
      t.serves("good");  // the running policy stayed
      continue;
    }
    if (!loaded.ok()) FAIL("the policy should load: " << loaded.error().what());
    t.serves("normal");
    // Twice: the state an attack ran in must give the same answer again.
    for (int round = 0; round < 2; ++round) {
      INFO("attack round " << round);
      auto r = t.m.api().complete(attack_request());
      if (a.kind == "request") {
        REQUIRE_FALSE(r.ok());
        check_policy_error(r.error(), a);
      } else {
        if (!r.ok()) FAIL("the attack request should be answered: " << r.error().what());
        CHECK(r->route == a.expected);
        CHECK(r->body["choices"][0]["message"]["content"] ==
              "Mock answer from gpt-4o-mini to: hostile request");
      }
      t.serves("normal");
    }
    REQUIRE(t.apply("good.lua", kGoodPolicy).ok());
    t.serves("good");
  }
}

TEST_CASE("hostile policies: nothing one request leaves in a policy reaches the next, over 1,000 requests",
          "[sandbox][hostile]") {
  // stash_across_requests.lua keeps each prompt in a file-level local, in a
  // table made at load and in a replaced _ENV, and grows a hoard by 64 KiB
  // a request (64 MB by the end, were it kept); any request that sees an
  // earlier one's data, another team's prompt included, goes to "steered".
  Target t;
  const Attack a = read_attack(fs::path(TOLLGATE_TEST_DATA) / "hostile" / "stash_across_requests.lua");
  REQUIRE(t.apply(a.name, a.text).ok());
  for (int i = 0; i < 1000; ++i) {
    const std::string team = i % 2 ? "red" : "blue";
    auto r = t.m.api().complete(chat(team, "team " + team + "'s prompt " + std::to_string(i), {{"attack", "yes"}}));
    INFO("request " << i << " from team " << team);
    if (!r.ok()) FAIL("the request should be answered: " << r.error().what());
    REQUIRE(r->route == "attack");
  }
  t.serves("normal");
}

TEST_CASE("hostile policies: attacks from several threads at once leave the engine serving",
          "[sandbox][hostile][concurrency]") {
  // Every request-time attack in one policy directory, each on its own route
  // file, hit from four threads (one Lua state each) while others ask normally.
  Target t;
  std::vector<Attack> chosen;
  for (const Attack& a : catalogue())
    if (a.kind == "request" && a.name.rfind("cpu_", 0) != 0) chosen.push_back(a);  // CPU ones are slow under TSan
  REQUIRE_FALSE(chosen.empty());
  std::atomic<int> contained{0}, answered{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    // One attack at a time per policy, so each request has a known outcome.
    REQUIRE(t.apply(chosen[i].name, chosen[i].text).ok());
    for (int th = 0; th < 4; ++th) {
      threads.emplace_back([&, th] {
        auto r = t.m.api().complete(th % 2 ? attack_request() : chat("blue", "an ordinary question"));
        if (th % 2 ? !r.ok() && r.error().category() == ErrorCategory::policy : r.ok() && r->route == "normal")
          ++(th % 2 ? contained : answered);
      });
    }
    for (auto& th : threads) th.join();
    threads.clear();
  }
  CHECK(contained == static_cast<int>(chosen.size()) * 2);
  CHECK(answered == static_cast<int>(chosen.size()) * 2);
  REQUIRE(t.apply("good.lua", kGoodPolicy).ok());
  t.serves("good");
}
