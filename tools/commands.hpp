// The `tollgate` subcommands. tools/main.cpp parses the command line (CLI11:
// every flag, its help and its defaults; a usage error exits 2) into one of
// these structs, and the subcommand's function runs it and returns the
// process exit code: 0 success, 1 the thing checked is wrong (a failing
// policy or test), 2 a bad input (an unreadable file, an unknown model).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/ledger/report.hpp"

namespace tollgate::tools {

struct DemoArgs {
  int requests = 600;
  int concurrency = 16;
  std::string policy;  // empty: policies/company.lua, here or installed
  std::string baseline = "gpt-4o";
};

// check and test: policy (or policy test) files and directories.
struct PathsArgs {
  std::string catalog;
  std::vector<std::string> paths;
};

struct ExplainArgs {
  std::vector<std::string> policies;
  std::string request;
  std::string catalog;
  bool json = false;
};

struct ReportArgs {
  engine::ReportOptions options;  // since_ms comes from `since`
  std::string since = "7d";
};

struct ServeArgs {
  std::vector<std::string> policies;
  std::string keys;
  std::string listen = "127.0.0.1:8080";  // checked by split_host_port
  std::string catalog;
  std::string ledger;
  std::vector<std::string> upstreams;  // NAME=URL, checked by split_upstream
  std::string durability = "async";    // or "sync"
  bool shared_caps = false;            // caps leased from the ledger, shared by every gateway on it
  int64_t lease_ttl_ms = 10'000;
  unsigned threads = 2;
  unsigned engine_threads = 0;  // 0: the engine runs on the I/O threads
  std::size_t max_connections = 1024;
  long busy_poll_us = 0;
  long grace_ms = 10'000;
  std::string log = "stderr";
  bool log_prompts = false;
};

struct SimulateArgs {
  std::vector<std::string> policies;
  std::string traffic;
  std::string baseline = "gpt-4o";
  std::string catalog;
  std::string format = "table";  // or "json"
};

int cmd_demo(const DemoArgs& args);
int cmd_check(const PathsArgs& args);
int cmd_explain(const ExplainArgs& args);
int cmd_test(const PathsArgs& args);
int cmd_report(const ReportArgs& args);
int cmd_serve(const ServeArgs& args);
int cmd_simulate(const SimulateArgs& args);

// serve's --listen HOST:PORT, and --upstream NAME=URL (NAME may be '*'):
// nullopt when malformed. The parser rejects those; serve splits with them.
std::optional<std::pair<std::string, uint16_t>> split_host_port(const std::string& text);
std::optional<std::pair<std::string, std::string>> split_upstream(const std::string& text);

}  // namespace tollgate::tools
