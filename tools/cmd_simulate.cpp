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

}  // namespace

int cmd_simulate(const SimulateArgs& args) {
  Options opts;
  opts.policy_paths = args.policies;
  opts.catalog_path = args.catalog;
  const std::string& traffic = args.traffic;
  auto policy = engine::build_policy_set(opts);
  if (!policy.ok()) return std::cerr << policy.error().what() << "\n", 1;
  auto sim = Simulator::create(*policy, args.baseline);
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
  if (args.format == "json") {
    std::cout << simulation_json((*sim)->result()).dump(2) << "\n";
  } else {
    print_simulation((*sim)->result(), std::cout);
  }
  return 0;
}

}  // namespace tollgate::tools
