// Engine::decide: routes, candidates, filters and their trace.
#include "engine_support.hpp"

using namespace tollgate;
using namespace tollgate::testing;
using Models = std::vector<std::string>;

namespace {

const char* kPolicy = R"(
provider "openai" { labels = { pii_ok = true, region = "us" } }
provider "mistral" { labels = { pii_ok = true, region = "eu" } }
model "qwen3-8b" { quality = { default = 0.6, classify = 0.9 } }
model "gpt-4o-mini" { quality = 0.82 }

team "eu-legal" { require = { region = "eu" } }

guard "pii" { when = { pii = "true" }, require = { "pii_ok" } }

route "classify" {
  when = { task = "classify" },
  try  = { "qwen3-8b", "gpt-4o-mini" },
  cache = { ttl = "2h" },
}
route "vip" {
  when = { team = { "exec", "board" } },
  try  = { "gpt-4o" },
}
route "quality" {
  when = { task = "write" },
  try  = { "qwen3-8b", "gpt-4o-mini", "gpt-4o" },
  min_quality = 0.8,
  max_usd = 0.05,
}
route "default" {
  try = { "deepseek-v4-flash", "mistral-small-latest", "gpt-4o-mini" },
}
)";

}  // namespace

TEST_CASE("a declarative route matches and lists its candidates in order", "[decide]") {
  TestEngine e(kPolicy);
  auto d = e->decide(chat("support", "is this spam?", {{"task", "classify"}}));
  REQUIRE(d.ok());
  CHECK(d->route == "classify");
  CHECK(models_of(*d) == Models{"qwen3-8b", "gpt-4o-mini"});
  CHECK(d->candidates[0].provider == "qwen");
  CHECK(d->cache.enabled);
  CHECK(d->cache.ttl_ms == 2 * 3600 * 1000);
  CHECK(d->cache.scope == CacheScope::team);
  // Worst case uses the model's max output when max_tokens is unset
  // (qwen3-8b: unknown, so the 8,192 assumption, capped by its window).
  CHECK(d->candidates[0].max_output == 8192);
  CHECK(d->candidates[1].max_output == 16384);
  CHECK(d->candidates[1].est_cost > d->candidates[1].est_cost_cached_input);
}

TEST_CASE("the trace names every route and candidate with its reason", "[decide]") {
  TestEngine e(kPolicy);
  auto d = e->decide(chat("exec", "hello"));
  REQUIRE(d.ok());
  CHECK(d->route == "vip");
  REQUIRE(d->trace.size() == 3);
  CHECK(d->trace[0].route == "classify");
  CHECK(d->trace[0].reason == TraceReason::route_not_matched);
  CHECK(d->trace[1].reason == TraceReason::route_matched);
  CHECK(d->trace[2].reason == TraceReason::candidate_selected);
  CHECK(d->trace[2].model == "gpt-4o");
  const std::string text = d->explain();
  CHECK(text.find("route 'classify'") != std::string::npos);
  CHECK(text.find("did not match") != std::string::npos);
  const auto j = d->to_json();
  CHECK(j["route"] == "vip");
  CHECK(j["trace"][2]["reason"] == "selected");
}

TEST_CASE("labels: a guard and a team requirement hold on every route and fallback", "[decide][labels]") {
  TestEngine e(kPolicy);
  auto d = e->decide(chat("support", "my address is ...", {{"pii", "true"}}));
  REQUIRE(d.ok());
  CHECK(d->route == "default");
  CHECK(models_of(*d) == Models{"mistral-small-latest", "gpt-4o-mini"});
  CHECK(d->trace[4].reason == TraceReason::candidate_label);
  CHECK(d->trace[4].label == "pii_ok");

  // eu-legal may only use region=eu providers, whatever the route.
  auto eu = e->decide(chat("eu-legal", "review this clause"));
  REQUIRE(eu.ok());
  CHECK(models_of(*eu) == Models{"mistral-small-latest"});

  // A route with no allowed candidate falls through; if none has one, the
  // request fails rather than going to a forbidden provider.
  auto none = e->decide(chat("eu-legal", "label it", {{"task", "classify"}}));
  REQUIRE(none.ok());
  CHECK(none->route == "default");
}

TEST_CASE("a downgrade (forced route) still honours label requirements", "[decide][labels]") {
  TestEngine e(kPolicy);
  auto set = e.engine->policy();
  Decision d;
  Request r = chat("support", "card 4242 ...", {{"pii", "true"}});
  REQUIRE(engine::decide(set, *e.signals, r, d, {set->find_route("classify")}).ok());
  CHECK(d.route == "classify");
  CHECK(d.trace[0].reason == TraceReason::route_forced);
  CHECK(models_of(d) == Models{"gpt-4o-mini"});  // qwen lacks pii_ok
}

TEST_CASE("context window, max output, max_usd, min_quality and health filter candidates", "[decide]") {
  TestEngine e(kPolicy);
  SECTION("context window and max output") {
    Request r = chat("support", "summarize", {{"task", "write"}});
    r.input_tokens = 31000;
    r.max_tokens = 2000;
    auto d = e->decide(r);
    REQUIRE(d.ok());
    // qwen3-8b's 32k window cannot hold 33k tokens; gpt-4o's worst case
    // ($0.0975) is over the route's max_usd of $0.05.
    CHECK(models_of(*d) == Models{"gpt-4o-mini"});
    bool saw_usd = false;
    for (const auto& t : d->trace)
      if (t.model == "gpt-4o" && t.reason == TraceReason::candidate_max_usd) saw_usd = true;
    CHECK(saw_usd);

    r.tags = {};
    r.input_tokens = 130000;
    auto big = e->decide(r);
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().category() == ErrorCategory::policy);
    CHECK(big.error().message().find("needs 132000 tokens, context window is 128000") != std::string::npos);
    CHECK(big.error().message().find("needs 132000 tokens, context window is 131072") != std::string::npos);
  }
  SECTION("min_quality uses priors, then measurements with enough samples") {
    Request r = chat("support", "draft a reply", {{"task", "write"}});
    r.max_tokens = 500;
    auto d = e->decide(r);
    REQUIRE(d.ok());
    CHECK(models_of(*d) == Models{"gpt-4o-mini", "gpt-4o"});
    e.signals->set_quality("gpt-4o-mini", "write", {0.5, 100, 0, 0, 0});
    d = e->decide(r);
    REQUIRE(d.ok());
    CHECK(models_of(*d) == Models{"gpt-4o"});
    e.signals->set_quality("qwen3-8b", "write", {0.95, 5, 0, 0, 0});  // too few scores
    CHECK(models_of(*e->decide(r)) == Models{"gpt-4o"});
  }
  SECTION("an unhealthy model is skipped") {
    e.signals->set_healthy("deepseek-v4-flash", false);
    auto d = e->decide(chat("support", "hi"));
    REQUIRE(d.ok());
    CHECK(d->candidates[0].model == "mistral-small-latest");
    CHECK(d->trace[4].reason == TraceReason::candidate_unhealthy);
  }
}

TEST_CASE("malformed requests are bad_request errors", "[decide]") {
  TestEngine e(kPolicy);
  Request no_team = chat("", "hi");
  CHECK(e->decide(no_team).error().message() == "the request has no team; set Request::team");
  Request no_messages;
  no_messages.team = "a";
  CHECK(e->decide(no_messages).error().category() == ErrorCategory::bad_request);
  Request bad_body = chat("a", "x");
  bad_body.body = nlohmann::json::array();
  CHECK(e->decide(bad_body).error().message() == "the request body must be a JSON object");
  Request negative = chat("a", "x");
  negative.max_tokens = -5;
  CHECK(e->decide(negative).error().category() == ErrorCategory::bad_request);
  // max_tokens from the body, as OpenAI clients send it.
  Request from_body = chat("a", "x");
  from_body.body["max_tokens"] = 123;
  CHECK(e->decide(from_body)->candidates[0].max_output == 123);
}

TEST_CASE("output limits the caps cannot trust are bad requests", "[decide]") {
  TestEngine e(kPolicy);
  auto problem = [&](const char* key, nlohmann::json value) {
    Request r = chat("a", "x");
    r.body[key] = std::move(value);
    auto d = e->decide(r);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().category() == ErrorCategory::bad_request);
    return d.error().message();
  };
  // A string or a fraction would reserve for no limit and be billed for one.
  CHECK(problem("max_tokens", "abc") == "max_tokens must be a positive whole number of tokens, not \"abc\"");
  CHECK(problem("max_completion_tokens", 1.5) ==
        "max_completion_tokens must be a positive whole number of tokens, not 1.5");
  CHECK(problem("max_tokens", 0) == "max_tokens must be a positive whole number of tokens, not 0");
  CHECK(problem("n", 0) == "n (the number of answers) must be a whole number from 1 to 128, not 0");
  CHECK(problem("n", "2") == "n (the number of answers) must be a whole number from 1 to 128, not \"2\"");
  CHECK(problem("n", 129).find("from 1 to 128") != std::string::npos);
  Request nulls = chat("a", "x");
  nulls.body["max_tokens"] = nullptr;
  nulls.body["n"] = nullptr;
  CHECK(e->decide(nulls).ok());
}

TEST_CASE("a request for n answers reserves n outputs", "[decide]") {
  TestEngine e(kPolicy);
  Request one = chat("a", "x");
  one.body["max_tokens"] = 100;
  Request three = one;
  three.body["n"] = 3;
  auto d1 = e->decide(one);
  auto d3 = e->decide(three);
  REQUIRE(d1.ok());
  REQUIRE(d3.ok());
  CHECK(d3->candidates[0].max_output == 300);
  // The input is billed once, the output three times: the same worst case
  // as one answer of 300 tokens.
  Request long_one = chat("a", "x");
  long_one.body["max_tokens"] = 300;
  auto d300 = e->decide(long_one);
  REQUIRE(d300.ok());
  CHECK(d3->candidates[0].est_cost.nanos == d300->candidates[0].est_cost.nanos);
  CHECK(d3->candidates[0].est_cost.nanos > d1->candidates[0].est_cost.nanos);
  CHECK(d3->candidates[0].est_cost.nanos < 3 * d1->candidates[0].est_cost.nanos);
}

TEST_CASE("a body nested past the depth bound is refused instead of overflowing the stack", "[decide]") {
  TestEngine e(kPolicy);
  // 100,000 levels: the recursive walkers (dump, token estimate, cache key)
  // would overflow the stack long before the end.
  Request deep = chat("a", "x");
  nlohmann::json nest = "bottom";
  for (int i = 0; i < 100'000; ++i) nest = nlohmann::json::array({std::move(nest)});
  deep.body["metadata"] = std::move(nest);
  auto d = e->decide(deep);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().category() == ErrorCategory::bad_request);
  CHECK(d.error().message() == "the request body is nested more than 128 levels deep");
  // At the bound it is an ordinary request.
  Request fine = chat("a", "x");
  nlohmann::json shallow = "bottom";
  for (int i = 0; i < 120; ++i) shallow = nlohmann::json::array({std::move(shallow)});
  fine.body["metadata"] = std::move(shallow);
  CHECK(e->decide(fine).ok());
}

TEST_CASE("stream_options of the wrong shape is a bad request, not an exception later", "[decide]") {
  TestEngine e(kPolicy);
  Request odd = chat("a", "x");
  odd.stream = true;
  odd.body["stream_options"] = {{"include_usage", 3}};
  auto d = e->decide(odd);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().category() == ErrorCategory::bad_request);
  CHECK(d.error().message() == "'stream_options.include_usage' must be true or false");
  odd.body["stream_options"] = "yes";
  CHECK(e->decide(odd).error().message() == "'stream_options' must be an object");
  odd.body["stream_options"] = {{"include_usage", true}};
  CHECK(e->decide(odd).ok());
  odd.body["stream_options"] = nullptr;
  CHECK(e->decide(odd).ok());
}

TEST_CASE("decide_into reuses the decision and its capacity", "[decide]") {
  TestEngine e(kPolicy);
  Decision d;
  const Request r = chat("support", "is this spam?", {{"task", "classify"}});
  REQUIRE(e->decide_into(r, d).ok());
  const auto* cands = d.candidates.data();
  const auto* trace = d.trace.data();
  REQUIRE(e->decide_into(r, d).ok());
  CHECK(d.candidates.data() == cands);
  CHECK(d.trace.data() == trace);
  CHECK(models_of(d) == Models{"qwen3-8b", "gpt-4o-mini"});
}

TEST_CASE("a decision outlives a reload of the policy that made it", "[decide][reload]") {
  TestEngine e(kPolicy);
  auto d = e->decide(chat("exec", "hi"));
  REQUIRE(d.ok());
  e.dir.write("policy.lua", R"(route "only" { try = { "gpt-4o-mini" } })");
  REQUIRE(e->reload().ok());
  CHECK(d->route == "vip");  // string_views still valid: the old set is kept alive
  CHECK(d->candidates[0].model == "gpt-4o");
  CHECK(e->decide(chat("exec", "hi"))->route == "only");
}

TEST_CASE("a policy's own error text is quoted apart from tollgate's summary of the failure", "[decide]") {
  // A policy can raise anything it has seen, a request's text included;
  // summary() is what a front end may show to someone other than its author.
  TestEngine failing(R"(
route "fails" {
  when = function(r, ctx) error("saw: " .. r.last_user_text) end,
  try = { "gpt-4o-mini" },
}
)");
  auto d = failing->decide(chat("support", "another team's secret"));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().category() == ErrorCategory::policy);
  CHECK_THAT(d.error().message(), Catch::Matchers::Contains("saw: another team's secret"));
  const std::string summary(d.error().summary());
  CHECK_THAT(summary, Catch::Matchers::EndsWith("route 'fails' when"));
  CHECK_THAT(summary, !Catch::Matchers::Contains("secret"));
  CHECK(d.error().message().starts_with(summary));

  // With on_error = "next" the error lands in the trace of a request no
  // route takes: the whole trace is quoted.
  TestEngine skipping(R"(
route "fails" {
  when = function(r, ctx) error("saw: " .. r.last_user_text) end,
  on_error = "next",
  try = { "gpt-4o-mini" },
}
)");
  auto n = skipping->decide(chat("support", "another team's secret"));
  REQUIRE_FALSE(n.ok());
  CHECK_THAT(n.error().message(), Catch::Matchers::Contains("saw: another team's secret"));
  const std::string no_route(n.error().summary());
  CHECK_THAT(no_route, Catch::Matchers::StartsWith("no route has a usable candidate for team 'support'"));
  CHECK_THAT(no_route, !Catch::Matchers::Contains("secret"));
  CHECK(n.error().message().starts_with(no_route + ":\n"));

  // An error that quotes nothing: its summary is all of it.
  const Error plain(ErrorCategory::policy, "p.lua:3: unknown model");
  CHECK(plain.summary() == plain.message());
}
