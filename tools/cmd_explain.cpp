// tollgate explain --policy P --request R.json — the decision for one
// request, and the reason for every route and candidate considered.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tollgate/engine.hpp"
#include "tools/commands.hpp"
#include "tools/request_file.hpp"

namespace tollgate::tools {

int cmd_explain(const ExplainArgs& args) {
  Options opts;
  opts.policy_paths = args.policies;
  opts.catalog_path = args.catalog;
  auto request = read_request_file(args.request);
  if (!request.ok()) return std::cerr << request.error().message() << "\n", 2;
  auto engine = Engine::create(opts);
  if (!engine.ok()) return std::cerr << engine.error().what() << "\n", 1;
  auto decision = (*engine)->decide(*request);
  if (args.json) {
    nlohmann::json out = decision.ok() ? decision->to_json()
                                       : nlohmann::json{{"error", {{"category", std::string(to_string(decision.error().category()))},
                                                                   {"message", decision.error().message()}}}};
    std::cout << out.dump(2) << "\n";
    return decision.ok() ? 0 : 1;
  }
  if (!decision.ok()) return std::cout << decision.error().what() << "\n", 1;
  const Decision& d = *decision;
  std::cout << "request: team '" << request->team << "'";
  for (const auto& [k, v] : request->tags) std::cout << ", " << k << "=" << v;
  std::cout << ", ~" << d.input_tokens << " input tokens\n";
  std::cout << "route:   " << d.route << "\n";
  std::cout << "try, in order:\n";
  int i = 1;
  for (const auto& c : d.candidates)
    std::cout << "  " << i++ << ". " << c.model << " (" << c.provider << ")  worst case " << c.est_cost.str()
              << ", with cached input " << c.est_cost_cached_input.str() << "\n";
  std::cout << "cache:   " << (d.cache.enabled ? "on, ttl " + std::to_string(d.cache.ttl_ms / 1000) + "s, " +
                                                       (d.cache.scope == CacheScope::shared ? "shared" : "per team")
                                                 : std::string("off"))
            << "\n";
  std::cout << "why:\n" << d.explain();
  return 0;
}

}  // namespace tollgate::tools
