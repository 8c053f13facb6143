// Loading policies: exact `file:line: message` errors for every mistake an
// author is likely to make, and the declarations compiled right.
#include "engine_support.hpp"

#include "dsl/policy_loader.hpp"

using namespace tollgate;
using namespace tollgate::testing;

TEST_CASE("load errors name the file, the line and the fix", "[loader]") {
  CHECK(load_error("route \"a\" {\n  when = { task = \"x\" },\n  tyr = { \"gpt-4o\" },\n}\n").message() ==
        "policy.lua:1: route 'a': unknown field `tyr` (known fields: when, try, select, cache, max_usd, "
        "min_quality, on_error, require, hourly_usd, daily_usd, monthly_usd, rolling_24h_usd)");
  CHECK(load_error("\n\nroute \"a\" { try = \"gpt-4o\", max_usd = \"cheap\" }\n").message() ==
        "policy.lua:3: route 'a': `max_usd` must be a number, not a string");
  CHECK(load_error("route \"a\" { when = { task = \"x\" } }\n").message() ==
        "policy.lua:1: route 'a': has no candidates: give it `try = { \"model\", ... }` or `select = function(r, ctx)`");
  CHECK(load_error("route { try = { \"gpt-4o\" } }\n").message() ==
        "policy.lua:1: route needs a name: route \"name\" { ... }");
  CHECK(load_error("route \"a\\r\\nx-admin: 1\" { try = { \"gpt-4o\" } }\n").message() ==
        "policy.lua:1: a route name may not hold a control character (a line break, tab or NUL)");
  CHECK(load_error("model \"m\\0x\" { provider = \"openai\", input = 1, output = 1 }\n").message() ==
        "policy.lua:1: a model name may not hold a control character (a line break, tab or NUL)");
  CHECK(load_error("route \"a\" \"b\"\n").message() == "policy.lua:1: route 'a' needs a table: route \"a\" { ... }");
  CHECK(load_error("team \"t\" { daily_usd = 5, on_exceed = \"downgrade\" }\nroute \"a\" { try = { \"gpt-4o\" } }\n")
            .message() == "policy.lua:1: team 't': on_exceed = \"downgrade\" needs `downgrade = \"<route name>\"`");
  CHECK(load_error("team \"t\" { on_exceed = \"downgrade\", downgrade = \"cheap\" }\nroute \"a\" { try = { \"gpt-4o\" } }\n")
            .message() == "policy.lua:1: team 't': downgrade route 'cheap' is not declared");
  CHECK(load_error("route \"a\" { try = { \"gpt-4o\" } }\nroute \"a\" { try = { \"gpt-4o\" } }\n").message() ==
        "policy.lua:2: route 'a' is declared twice (first at policy.lua:1)");
  CHECK(load_error("route \"a\" { try = { \"deepseek-r1\" } }\n").message() ==
        "policy.lua:1: route 'a': try[1]: model 'deepseek-r1' has no price in the catalog, so it cannot be "
        "costed; give it one: model \"deepseek-r1\" { input = <usd/M>, output = <usd/M> }");
  CHECK(load_error("route \"a\" { try = { \"ling-flash-2.0\" } }\n").message() ==
        "policy.lua:1: route 'a': try[1]: model 'ling-flash-2.0' is served by provider 'inclusionai', which has "
        "no base_url; declare provider \"inclusionai\" { base_url = \"https://...\" }");
  CHECK(load_error("provider \"x\" { api_key = \"sk-123\" }\nroute \"a\" { try = { \"gpt-4o\" } }\n").message() ==
        "policy.lua:1: provider 'x': API keys do not belong in policy files; name an environment variable with `key_env`");
  CHECK(load_error("provider \"x\" { base_url = \"http://h/v1\", headers = { [\"x-org\"] = \"a\\r\\nx-admin: 1\" } }\n"
                   "route \"a\" { try = { \"gpt-4o\" } }\n").message() ==
        "policy.lua:1: provider 'x': the value of header 'x-org' holds a line break or another control character "
        "(a key read with its trailing newline?)");
  CHECK(load_error("provider \"x\" { base_url = \"http://h/v1\", headers = { [\"Content-Length\"] = \"1\" } }\n"
                   "route \"a\" { try = { \"gpt-4o\" } }\n").message() ==
        "policy.lua:1: provider 'x': header 'Content-Length' cannot be configured: tollgate sets it from the body");
  CHECK(load_error("provider \"x\" { base_url = \"http://h/v 1\" }\nroute \"a\" { try = { \"gpt-4o\" } }\n").message() ==
        "policy.lua:1: provider 'x': `base_url` may not hold spaces or control characters");
  CHECK(load_error("model \"m\" { provider = \"nobody\" }\nroute \"a\" { try = { \"gpt-4o\" } }\n").message() ==
        "policy.lua:1: model 'm' names provider 'nobody', which no catalog or policy declares");
  CHECK(load_error("route \"a\" { try = { \"gpt-4o\" }, cache = { ttl = \"soon\" } }\n").message() ==
        "policy.lua:1: route 'a' cache: `ttl` must be a duration such as \"500ms\", \"30s\", \"10m\", \"1h\" or \"7d\"");
  CHECK(load_error("route \"a\" { try = { \"gpt-4o\" }, min_quality = 1.5 }\n").message() ==
        "policy.lua:1: route 'a': `min_quality` must be between 0 and 1");
  CHECK(load_error("-- nothing here\n").message() ==
        "the policy declares no route; add at least route \"default\" { try = { ... } }");
  CHECK(load_error("route \"a\" { try = { \"gpt-4o\" } \n").message() ==
        "policy.lua:2: '}' expected (to close '{' at line 1) near <eof>");
}

TEST_CASE("declarations compile to the structures the router uses", "[loader]") {
  TestEngine e(R"(
provider "local" { base_url = "http://127.0.0.1:8000/v1", api = "openai", key_env = "LOCAL_KEY",
                   headers = { ["x-org"] = "acme" }, labels = { "pii_ok", region = "eu" },
                   connect_timeout = "2s", total_timeout = 60, monthly_usd = 100 }
model "llama-local" { provider = "local", upstream = "meta-llama/Llama-3.3-70B", input = 0, output = 0,
                      context_window = 131072, quality = { code = 0.7 } }
team "support" { daily_usd = 50, monthly_usd = 900, soft_limit = 0.75,
                 users = { ["bot"] = { daily_usd = 1.5 } }, require = { "pii_ok" } }
guard "eu" { when = { region = "eu" }, require = { region = "eu" } }
settings { on_ledger_error = "allow" }
route "code" { when = { task = { "code", "review" }, stream = true, max_input_tokens = 5000 },
               try = { "llama-local", "gpt-4o-mini" }, cache = { ttl = "10m", scope = "shared" },
               on_error = "next", daily_usd = 20 }
)");
  const auto set = e.engine->policy();
  const auto& d = set->decls;
  REQUIRE(d.providers.size() == 1);
  CHECK(d.providers[0].connect_timeout_ms == 2000);
  CHECK(d.providers[0].total_timeout_ms == 60000);
  CHECK(d.providers[0].caps.at(0).window == "month");
  CHECK(d.providers[0].caps.at(0).limit_nanos == 100'000'000'000);
  const auto* m = set->catalog.find_model("llama-local");
  REQUIRE(m);
  CHECK(m->upstream == "meta-llama/Llama-3.3-70B");
  CHECK(set->labels_of(*m).at("region") == "eu");
  CHECK(set->catalog.find_provider("local")->headers.at("x-org") == "acme");
  const auto* team = set->find_team("support");
  REQUIRE(team);
  CHECK(team->caps.size() == 2);
  CHECK(team->soft_limit == 0.75);
  CHECK(team->user_caps.at("bot").at(0).limit_nanos == 1'500'000'000);
  CHECK(d.settings.on_ledger_error == "allow");
  const auto& route = d.routes.at(0);
  CHECK(route.when.clauses.size() == 2);
  CHECK(*route.when.max_input_tokens == 5000);
  CHECK(route.cache.shared);
  CHECK(route.cache.ttl_ms == 600'000);
  CHECK(route.on_error_next);
  CHECK(route.caps.at(0).limit_nanos == 20'000'000'000);

  Request r = chat("support", "review this", {{"task", "review"}});
  r.stream = true;
  auto dec = e->decide(r);
  REQUIRE(dec.ok());
  CHECK(dec->route == "code");
  CHECK(dec->cache.scope == CacheScope::shared);
  CHECK(models_of(*dec) == std::vector<std::string>{"llama-local"});  // team requires pii_ok
  r.stream = false;
  CHECK_FALSE(e->decide(r).ok());  // stream = true is part of the match
}

TEST_CASE("a directory of policies loads in name order, skipping tests", "[loader]") {
  TempDir dir;
  dir.write("10-teams.lua", "team \"a\" { daily_usd = 1 }\n");
  dir.write("20-routes.lua", "route \"r\" { try = { \"gpt-4o\" } }\n");
  dir.write("20-routes_test.lua", "this is not lua\n");
  dir.write("notes.txt", "ignored");
  auto sources = dsl::read_policy_sources({dir.path().string()});
  REQUIRE(sources.ok());
  REQUIRE(sources->size() == 2);
  CHECK(dsl::display_name((*sources)[0].path) == "10-teams.lua");
  Options opts;
  opts.policy_paths = {dir.path().string()};
  CHECK(Engine::create(opts).ok());
  opts.policy_paths = {dir.file("missing.lua")};
  CHECK(Engine::create(opts).error().message() == dir.file("missing.lua") + ": cannot read the policy file");
}
