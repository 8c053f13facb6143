// tollgate simulate --policy P --traffic T.jsonl — what a traffic log would
// have cost under a policy, against sending everything to one model. No
// network: tools/simulate_run.hpp says what is and is not modelled.
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "engine/routing/policy_set.hpp"
#include "tools/commands.hpp"
#include "tools/simulate_report.hpp"
#include "tools/simulate_run.hpp"
#include "tools/simulate_traffic.hpp"

namespace tollgate::tools {
namespace {

constexpr std::size_t kMaxLineBytes = 4u << 20;

constexpr const char* kUsage =
    "usage: tollgate simulate --policy P [--policy P2 ...] --traffic T.jsonl\n"
    "                         [--baseline gpt-4o] [--catalog C] [--format table|json]\n"
    "T.jsonl: one request a line:\n"
    "  {\"ts\": \"2026-05-14T09:12:03Z\", \"team\": \"support\", \"user\": \"bot\",\n"
    "   \"tags\": {\"task\": \"classify\"}, \"input_tokens\": 820, \"output_tokens\": 40, \"max_tokens\": 200}\n"
    "  (\"messages\": [...] instead of input_tokens; without output_tokens, max_tokens\n"
    "   or else 256 output tokens are assumed). Example: examples/traffic/sample.jsonl\n"
    "Modelled: routing, spend caps (deny / downgrade) at the lines' timestamps,\n"
    "catalog prices. Not modelled: provider failures and fallbacks, caching.\n";

}  // namespace

int cmd_simulate(const Args& in) {
  Args args = in;
  if (take_switch(args, "--help")) return std::cout << kUsage, 0;
  Options opts;
  std::string path, traffic, baseline = "gpt-4o", format = "table";
  while (take_flag(args, "--policy", path)) opts.policy_paths.push_back(path);
  take_flag(args, "--catalog", opts.catalog_path);
  take_flag(args, "--baseline", baseline);
  take_flag(args, "--format", format);
  if (!take_flag(args, "--traffic", traffic) || opts.policy_paths.empty() || !args.empty() ||
      (format != "table" && format != "json")) {
    std::cerr << kUsage;
    return 2;
  }
  auto policy = engine::build_policy_set(opts);
  if (!policy.ok()) return std::cerr << policy.error().what() << "\n", 1;
  auto sim = Simulator::create(*policy, baseline);
  if (!sim.ok()) return std::cerr << sim.error().what() << "\n", 2;

  std::ifstream file(traffic, std::ios::binary);
  if (!file) return std::cerr << traffic << ": cannot read the traffic file\n", 2;
  std::string text;
  for (int64_t n = 1; std::getline(file, text); ++n) {
    const std::string where = traffic + ":" + std::to_string(n);
    if (text.size() > kMaxLineBytes) return std::cerr << where << ": line longer than 4 MiB\n", 2;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto line = parse_traffic_line(text, where);
    if (!line.ok()) return std::cerr << line.error().message() << "\n", 2;
    (*sim)->replay(*line);
  }
  if (format == "json") {
    std::cout << simulation_json((*sim)->result()).dump(2) << "\n";
  } else {
    print_simulation((*sim)->result(), std::cout);
  }
  return 0;
}

}  // namespace tollgate::tools
