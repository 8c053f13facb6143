// tollgate — the command-line tool for policy authors and operators.
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/commands.hpp"

namespace {

constexpr const char* kUsage = R"(usage: tollgate <command> [options]

commands:
  demo [--requests N] [--policy P]     route a traffic mix against a built-in mock
                                       provider and print the bill per team
  check PATH...                        validate policy files (or directories)
  explain --policy P --request R.json  show the decision for a request and why
          [--catalog C] [--json]
  test PATH...                         run policy tests (*_test.lua)
  report --ledger DB [--since 7d] [--by team|user|route|provider|model|day]...
         [--format table|csv|json] [--accept 0.7]
                                       the bill from the ledger
  serve --policy P --keys KEYS.json [--listen 127.0.0.1:8080] [--ledger DB]
                                       an OpenAI-compatible gateway
  simulate --policy P --traffic T.jsonl [--baseline gpt-4o] [--format json]
                                       replay traffic offline: the bill vs a baseline

Run `tollgate <command> --help` for a command's options.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  tollgate::tools::Args args(argv + 2, argv + argc);
  if (cmd == "demo") return tollgate::tools::cmd_demo(args);
  if (cmd == "check") return tollgate::tools::cmd_check(args);
  if (cmd == "explain") return tollgate::tools::cmd_explain(args);
  if (cmd == "test") return tollgate::tools::cmd_test(args);
  if (cmd == "report") return tollgate::tools::cmd_report(args);
  if (cmd == "serve") return tollgate::tools::cmd_serve(args);
  if (cmd == "simulate") return tollgate::tools::cmd_simulate(args);
  std::fprintf(stderr, "tollgate: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
