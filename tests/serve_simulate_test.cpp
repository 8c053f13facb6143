// `tollgate simulate`: traffic lines, the replay through a policy and its
// spend caps, and the counterfactual bill against a baseline model.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/routing/policy_set.hpp"
#include "engine/budget/spend_cost.hpp"
#include "tools/simulate_report.hpp"
#include "tools/simulate_run.hpp"
#include "tools/simulate_traffic.hpp"

using namespace tollgate;
using namespace tollgate::tools;

namespace {

std::shared_ptr<const engine::PolicySet> policy(const std::string& name) {
  Options o;
  o.policy_paths = {std::string(TOLLGATE_SOURCE_DIR) + "/policies/" + name};
  auto p = engine::build_policy_set(o);
  REQUIRE(p.ok());
  return *p;
}

TrafficLine line(const std::string& text) {
  auto l = parse_traffic_line(text, "t:1");
  INFO(text);
  REQUIRE(l.ok());
  return std::move(*l);
}

Money cost_on(const engine::PolicySet& p, const char* model, int64_t in, int64_t out) {
  const auto* m = p.catalog.find_model(model);
  REQUIRE(m);
  return engine::usage_cost(*m, in, 0, out).cost;
}

}  // namespace

TEST_CASE("simulate traffic lines: fields, timestamps, assumptions, errors") {
  auto l = line(R"({"ts": "2026-05-14T09:12:03.250Z", "team": "support", "user": "bot", "tags": {"task": "code"},
                    "input_tokens": 800, "max_tokens": 300})");
  CHECK(l.request.team == "support");
  CHECK(l.request.user == "bot");
  CHECK(l.request.tags.at("task") == "code");
  CHECK(l.request.input_tokens == 800);
  CHECK(l.ts_ms == 1778749923250);
  CHECK(l.output_tokens == 300);  // max_tokens stands in for the missing output
  CHECK(l.output_assumed);
  CHECK(line(R"({"team": "a", "input_tokens": 1})").output_tokens == kDefaultOutputTokens);
  CHECK(line(R"({"team": "a", "input_tokens": 1, "ts": 1700000000000})").ts_ms == 1700000000000);
  CHECK(line(R"({"team": "a", "messages": [{"role": "user", "content": "hi"}]})").request.body["messages"].size() == 1);

  CHECK(parse_traffic_line(R"({"input_tokens": 1})", "f:3").error().message() == "f:3: \"team\" is required (a string)");
  CHECK_FALSE(parse_traffic_line(R"({"team": "a"})", "f").ok());
  CHECK_FALSE(parse_traffic_line(R"({"team": "a", "input_tokens": -1})", "f").ok());
  CHECK_FALSE(parse_traffic_line(R"({"team": "a", "input_tokens": 1, "ts": "yesterday"})", "f").ok());
  CHECK_FALSE(parse_traffic_line(R"({"team": "a", "input_tokens": 1, "ts": "2026-05-14T09:12:03+02:00"})", "f").ok());
  CHECK_FALSE(parse_traffic_line("not json", "f").ok());
}

TEST_CASE("simulate traffic times: a day the calendar lacks is refused, not rolled into the next month") {
  CHECK(parse_utc_time("2028-02-29T23:59:59.500Z") == 1'835'481'599'500);
  CHECK(parse_utc_time("2028-02-29T23:59:60Z") == 1'835'481'600'000);  // a leap second: March 1st
  CHECK(parse_utc_time("1969-12-31T23:59:59.999+00:00") == -1);
  CHECK_FALSE(parse_utc_time("2026-02-31T09:00:00Z").has_value());  // was March 3rd
  CHECK_FALSE(parse_utc_time("2027-02-29T09:00:00Z").has_value());
  CHECK_FALSE(parse_utc_time("2026-04-31T09:00:00Z").has_value());
  CHECK_FALSE(parse_utc_time("2026-13-01T09:00:00Z").has_value());
  CHECK(parse_traffic_line(R"({"team": "a", "input_tokens": 1, "ts": "2026-02-31T09:00:00Z"})", "f:4").error().message() ==
        "f:4: \"ts\": \"2026-02-31T09:00:00Z\" is not a UTC time on the calendar, like 2026-05-14T09:12:03Z");
  // Microseconds given as milliseconds land past the calendar's last year.
  CHECK(parse_traffic_line(R"({"team": "a", "input_tokens": 1, "ts": 1778749923250000})", "f:5").error().message() ==
        "f:5: \"ts\": 1778749923250000 unix milliseconds is outside the calendar's years -32767 to 32767");
  CHECK(line(R"({"team": "a", "input_tokens": 1, "ts": -1})").ts_ms == -1);
}

TEST_CASE("simulate: each line costs its routed model, against the baseline model") {
  const auto p = policy("team_caps.lua");
  auto sim = Simulator::create(p, "gpt-4o");
  REQUIRE(sim.ok());
  (*sim)->replay(line(R"({"ts": "2026-05-14T09:00:00Z", "team": "support", "input_tokens": 10000, "output_tokens": 500, "max_tokens": 600})"));
  (*sim)->replay(line(R"({"ts": "2026-05-14T09:01:00Z", "team": "research", "tags": {"tier": "premium"},
                          "input_tokens": 2000, "output_tokens": 100, "max_tokens": 200})"));
  const auto& r = (*sim)->result();
  CHECK(r.lines == 2);
  CHECK(r.by_route.at("default").cost == cost_on(*p, "gpt-4o-mini", 10000, 500));
  CHECK(r.by_route.at("premium").cost == cost_on(*p, "gpt-4o", 2000, 100));
  CHECK(r.total.baseline == cost_on(*p, "gpt-4o", 10000, 500) + cost_on(*p, "gpt-4o", 2000, 100));
  CHECK(r.by_team.at("research").cost == r.by_team.at("research").baseline);  // premium already is the baseline
  CHECK(r.by_model.at("gpt-4o-mini").served == 1);
  CHECK(r.cap_hits.empty());

  CHECK_FALSE(Simulator::create(p, "no-such-model").ok());
}

TEST_CASE("simulate: a cap fills at the lines' times, refuses, and resets with its window") {
  const auto p = policy("team_caps.lua");
  auto sim = Simulator::create(p, "gpt-4o");
  REQUIRE(sim.ok());
  // intern-bot's cap is $0.50 a day; each of these reserves ~$0.016.
  const std::string big = R"("team": "interns", "user": "intern-bot", "input_tokens": 100000, "output_tokens": 500, "max_tokens": 1000})";
  for (int i = 0; i < 60; ++i) (*sim)->replay(line(R"({"ts": "2026-05-14T01:00:00Z", )" + big));
  const auto& r = (*sim)->result();
  const Bill& bot = r.by_team.at("interns");
  CHECK(bot.served > 20);
  CHECK(bot.served < 60);
  CHECK(bot.denied + bot.downgraded > 0);
  CHECK(bot.cost <= Money::from_usd(0.5));
  REQUIRE(r.cap_hits.size() == 1);
  const CapHit& hit = r.cap_hits.front();
  CHECK(hit.scope == "user");
  CHECK(hit.name == "intern-bot");
  CHECK(hit.window == "day");
  CHECK(hit.cap == Money::from_usd(0.5));
  CHECK(hit.denied + hit.downgraded == bot.denied + bot.downgraded);

  const int64_t served_before = bot.served;
  (*sim)->replay(line(R"({"ts": "2026-05-15T00:00:01Z", )" + big));  // a new UTC day
  CHECK(r.by_team.at("interns").served == served_before + 1);
}

TEST_CASE("simulate: the shipped sample traffic replays under the shipped policies") {
  for (const char* name : {"team_caps.lua", "by_task.lua"}) {
    INFO(name);
    auto sim = Simulator::create(policy(name), "gpt-4o");
    REQUIRE(sim.ok());
    std::ifstream in(std::string(TOLLGATE_SOURCE_DIR) + "/examples/traffic/sample.jsonl");
    REQUIRE(in);
    std::string text;
    int n = 0;
    while (std::getline(in, text)) (*sim)->replay(line(text)), ++n;
    const auto& r = (*sim)->result();
    CHECK(n > 2000);
    CHECK(r.lines == n);
    CHECK(r.total.errors == 0);
    CHECK(r.by_team.size() == 3);
    CHECK(r.total.cost < r.total.baseline);
    const auto j = simulation_json(r);
    CHECK(j["lines"] == n);
    CHECK(j["teams"].size() == 3);
    double share = 0;
    for (const auto& route : j["routes"]) share += route["share_of_requests"].get<double>();
    CHECK(share == Approx(1.0));
    if (std::string(name) == "team_caps.lua") CHECK_FALSE(r.cap_hits.empty());
  }
}
