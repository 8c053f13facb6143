// tollgate — the command-line tool for policy authors and operators.
//
// Every subcommand's flags, defaults and help are declared here with CLI11
// (the one file of the command that includes it: its header is slow to
// compile); tools/cmd_*.cpp run the subcommands. Flags take `--name value`
// or `--name=value`; a usage error prints what is wrong and exits 2.
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "tools/commands.hpp"

namespace tollgate::tools {
namespace {

// One value per occurrence, any number of occurrences: `--policy a --policy b`
// (without it CLI11 lets `--policy a b` take both, and a positional after it).
// No "=[]" default in the help.
CLI::Option* repeatable(CLI::Option* option) { return option->allow_extra_args(false)->default_str(""); }

void add_policies(CLI::App& cmd, std::vector<std::string>& policies) {
  repeatable(cmd.add_option("--policy", policies, "a policy file, or a directory of them; repeat for more"))
      ->type_name("P")
      ->required();
}

void add_catalog(CLI::App& cmd, std::string& catalog) {
  cmd.add_option("--catalog", catalog, "the model catalog (prices, context windows; default: the built-in one)")
      ->type_name("C");
}

// 1 or more: CLI::PositiveNumber's error would print DBL_MAX in full.
const CLI::Validator kAtLeastOne = CLI::Range(1, std::numeric_limits<int>::max()).description("");

// A validator from a function that names what is wrong, or "" when the value is right.
CLI::Validator wants(std::string what, std::function<bool(const std::string&)> ok) {
  return CLI::Validator(
      [what, ok = std::move(ok)](std::string& value) { return ok(value) ? std::string() : "wants " + what; }, "");
}

CLI::App* add_demo(CLI::App& app, DemoArgs& a) {
  CLI::App* cmd = app.add_subcommand("demo", "route a traffic mix against a built-in mock provider and print the bill per team");
  cmd->footer("Routes a traffic mix through a shipped policy against a built-in mock provider and prints the bill.");
  cmd->add_option("--requests", a.requests, "requests to send (at least 1)")
      ->type_name("N")
      ->check(kAtLeastOne);
  cmd->add_option("--policy", a.policy, "the policy (default: policies/company.lua, here or installed)")->type_name("P");
  cmd->add_option("--baseline", a.baseline, "the model the bill is compared with")->type_name("MODEL");
  cmd->add_option("--concurrency", a.concurrency, "requests in flight at once (at least 1)")
      ->type_name("C")
      ->check(kAtLeastOne);
  return cmd;
}

// check and test: [--catalog C] PATH...
CLI::App* add_paths_command(CLI::App& app, PathsArgs& a, const std::string& name, const std::string& description,
                            const std::string& paths, const std::string& footer) {
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->footer(footer);
  add_catalog(*cmd, a.catalog);
  cmd->add_option("PATH", a.paths, paths)->type_name("")->default_str("")->required();
  return cmd;
}

CLI::App* add_check(CLI::App& app, PathsArgs& a) {
  return add_paths_command(app, a, "check", "validate policy files (or directories)",
                           "policy files, or directories of them",
                           "Validates each PATH as the engine loads it: a file alone, or a directory's\n"
                           "*.lua files together as one policy set. *_test.lua files are skipped.");
}

CLI::App* add_explain(CLI::App& app, ExplainArgs& a) {
  CLI::App* cmd = app.add_subcommand("explain", "show the decision for a request and why");
  cmd->footer("R.json: {\"team\": \"support\", \"tags\": {\"task\": \"classify\"}, \"messages\": [...],\n"
              "         \"max_tokens\": 200}  (an OpenAI chat body plus team/user/tags)");
  add_policies(*cmd, a.policies);
  cmd->add_option("--request", a.request, "the request to decide (below)")->type_name("R.json")->required();
  add_catalog(*cmd, a.catalog);
  cmd->add_flag("--json", a.json, "print the decision as JSON");
  return cmd;
}

CLI::App* add_test(CLI::App& app, PathsArgs& a) {
  return add_paths_command(app, a, "test", "run policy tests (*_test.lua)", "*_test.lua files, or directories of them",
                           "Runs *_test.lua files (a directory: all of them). Exit 0 when all pass.");
}

CLI::App* add_report(CLI::App& app, ReportArgs& a) {
  CLI::App* cmd = app.add_subcommand("report", "the bill from the ledger");
  cmd->footer("Per group: requests, tokens, spend, cache savings, error rate, latency and the\n"
              "cost per accepted outcome, as a table, CSV or JSON.");
  cmd->add_option("--ledger", a.options.ledger_path, "the ledger (tollgate serve --ledger, Options::ledger_path)")
      ->type_name("DB")
      ->required();
  cmd->add_option("--since", a.since, "the attempts since a span before now, or since a UTC date")
      ->type_name("7d|12h|30m|2026-05-01");
  repeatable(cmd->add_option("--by", a.options.group_by,
                             "group by these, in order; repeat or list: --by team,provider"))
      ->type_name("team|user|route|provider|model|day")
      ->delimiter(',');
  static const std::map<std::string, engine::ReportFormat> kFormats = {
      {"table", engine::ReportFormat::table}, {"csv", engine::ReportFormat::csv}, {"json", engine::ReportFormat::json}};
  cmd->add_option_function<std::string>(
         "--format", [&a](const std::string& name) { a.options.format = kFormats.at(name); }, "table, csv or json")
      ->type_name("table|csv|json")
      ->check(CLI::IsMember(kFormats).description(""))
      ->default_str("table");
  cmd->add_option("--accept", a.options.accept, "a request scored at or above this (0 to 1) is an accepted outcome")
      ->type_name("SCORE")
      ->check(wants("a score from 0 to 1", [](const std::string& v) {
        char* end = nullptr;
        const double score = std::strtod(v.c_str(), &end);
        return end != v.c_str() && *end == '\0' && score >= 0 && score <= 1;
      }));
  return cmd;
}

CLI::App* add_serve(CLI::App& app, ServeArgs& a) {
  CLI::App* cmd = app.add_subcommand("serve", "an OpenAI-compatible gateway");
  cmd->footer("KEYS.json: {\"keys\": [{\"key\": \"...\", \"team\": \"support\", \"user\": \"bot\"}]}\n"
              "SIGTERM / SIGINT stop gracefully (--grace-ms); SIGHUP reloads the policy and the keys.");
  add_policies(*cmd, a.policies);
  cmd->add_option("--keys", a.keys, "API keys and their teams (below): requests are billed to the team of their key")
      ->type_name("KEYS.json")
      ->required();
  cmd->add_option("--listen", a.listen, "the address to listen on")
      ->type_name("HOST:PORT")
      ->check(wants("HOST:PORT, e.g. 127.0.0.1:8080", [](const std::string& v) { return split_host_port(v).has_value(); }));
  add_catalog(*cmd, a.catalog);
  cmd->add_option("--ledger", a.ledger, "the SQLite ledger; spend caps are rebuilt from it at start")->type_name("DB");
  repeatable(cmd->add_option("--upstream", a.upstreams,
                             "send provider NAME's requests to URL ('*' for every provider),\n"
                             "e.g. --upstream '*=http://127.0.0.1:8089/v1'"))
      ->type_name("NAME=URL")
      ->check(wants("NAME=URL", [](const std::string& v) { return split_upstream(v).has_value(); }));
  cmd->add_option("--durability", a.durability,
                  "async commits ledger rows within milliseconds; sync answers\n"
                  "only after the row is on disk")
      ->type_name("async|sync")
      ->check(CLI::IsMember({"async", "sync"}).description(""));
  cmd->add_flag("--shared-caps", a.shared_caps,
                "hold every cap together with the other gateways on the same --ledger:\n"
                "each cap's headroom is leased from the ledger (docs/ledger.md)");
  cmd->add_option("--lease-ttl-ms", a.lease_ttl_ms,
                  "with --shared-caps: how soon a killed gateway's unspent lease\n"
                  "returns to the others")
      ->check(CLI::Range(int64_t{1000}, int64_t{3'600'000}));
  cmd->add_option("--threads", a.threads,
                  "I/O threads (1 to 256); the engine runs on them too, so a request\n"
                  "stays on the thread it arrived on; with 1, no strands are\n"
                  "needed, the cheapest per request")
      ->type_name("N")
      ->check(CLI::Range(1, 256).description(""));
  cmd->add_option("--engine-threads", a.engine_threads, "give the engine N threads of its own instead (1 to 256)")
      ->type_name("N")
      ->check(CLI::Range(1, 256).description(""))
      ->default_str("");
  cmd->add_option("--max-connections", a.max_connections, "client connections open at once (1 to 1000000)")
      ->type_name("N")
      ->check(CLI::Range(1, 1'000'000).description(""));
  cmd->add_option("--busy-poll-us", a.busy_poll_us,
                  "an idle I/O thread polls N microseconds before it sleeps:\n"
                  "lower latency on a VM, at up to a CPU per I/O thread while\n"
                  "traffic flows (0, the default, is off; at most 1000000)")
      ->type_name("N")
      ->check(CLI::Range(0, 1'000'000).description(""));
  cmd->add_option("--grace-ms", a.grace_ms, "how long SIGTERM waits for requests in flight (at most 3600000)")
      ->type_name("N")
      ->check(CLI::Range(0, 3'600'000).description(""));
  cmd->add_option("--log", a.log, "where the log goes: one JSON line per request")->type_name("stderr|stdout|off|FILE");
  cmd->add_flag("--log-prompts", a.log_prompts, "put each request's messages in its log line");
  return cmd;
}

CLI::App* add_simulate(CLI::App& app, SimulateArgs& a) {
  CLI::App* cmd = app.add_subcommand("simulate", "replay traffic offline: the bill vs a baseline");
  cmd->footer(
      "T.jsonl: one request a line:\n"
      "  {\"ts\": \"2026-05-14T09:12:03Z\", \"team\": \"support\", \"user\": \"bot\",\n"
      "   \"tags\": {\"task\": \"classify\"}, \"input_tokens\": 820, \"output_tokens\": 40, \"max_tokens\": 200}\n"
      "  (\"messages\": [...] instead of input_tokens; without output_tokens, max_tokens\n"
      "   or else 256 output tokens are assumed). Example: examples/traffic/sample.jsonl\n"
      "Modelled: routing, spend caps (deny / downgrade) at the lines' timestamps,\n"
      "catalog prices. Not modelled: provider failures and fallbacks, caching.");
  add_policies(*cmd, a.policies);
  cmd->add_option("--traffic", a.traffic, "the requests to replay (below)")->type_name("T.jsonl")->required();
  cmd->add_option("--baseline", a.baseline, "the model the bill is compared with")->type_name("MODEL");
  add_catalog(*cmd, a.catalog);
  cmd->add_option("--format", a.format, "table or json")
      ->type_name("table|json")
      ->check(CLI::IsMember({"table", "json"}).description(""));
  return cmd;
}

// "tollgate serve: --keys is required" and where the flags are listed.
std::string failure_message(const CLI::App* app, const CLI::Error& e) {
  std::string name = app->get_name();
  for (const CLI::App* sub : app->get_subcommands()) name += " " + sub->get_name();
  return name + ": " + e.what() + "\nRun '" + name + " --help' for the options.\n";
}

}  // namespace
}  // namespace tollgate::tools

int main(int argc, char** argv) {
  using namespace tollgate::tools;
  CLI::App app("tollgate: route LLM requests by policy, and see what they cost.", "tollgate");
  app.footer("Run `tollgate <command> --help` for a command's options.");
  // At most one; none is caught below. (Requiring one would report an
  // unknown command as "a subcommand is required"; this way it is "not expected: NAME".)
  app.require_subcommand(0, 1);
  app.failure_message(failure_message);
  app.option_defaults()->always_capture_default();  // defaults in --help come from the structs
  app.get_formatter()->column_width(40);

  DemoArgs demo;
  PathsArgs check, test;
  ExplainArgs explain;
  ReportArgs report;
  ServeArgs serve;
  SimulateArgs simulate;
  const std::pair<CLI::App*, std::function<int()>> commands[] = {
      {add_demo(app, demo), [&] { return cmd_demo(demo); }},
      {add_check(app, check), [&] { return cmd_check(check); }},
      {add_explain(app, explain), [&] { return cmd_explain(explain); }},
      {add_test(app, test), [&] { return cmd_test(test); }},
      {add_report(app, report), [&] { return cmd_report(report); }},
      {add_serve(app, serve), [&] { return cmd_serve(serve); }},
      {add_simulate(app, simulate), [&] { return cmd_simulate(simulate); }},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; any usage error 2, as the command always has.
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (const auto& [cmd, run] : commands)
    if (*cmd) return run();
  std::cerr << app.help();  // no command given
  return 2;
}
