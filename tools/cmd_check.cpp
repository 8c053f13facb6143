// tollgate check PATH... — load each policy exactly as the engine would and
// report every problem as file:line: message.
#include <iostream>

#include "engine/routing/policy_set.hpp"
#include "tools/commands.hpp"

namespace tollgate::tools {

int cmd_check(const PathsArgs& args) {
  int bad = 0;
  for (const auto& path : args.paths) {
    if (path.ends_with("_test.lua")) continue;  // a policy test, run by `tollgate test`
    Options opts;
    opts.catalog_path = args.catalog;
    opts.policy_paths = {path};
    auto set = engine::build_policy_set(opts);
    if (set.ok()) {
      const auto& d = (*set)->decls;
      std::cout << path << ": ok (" << d.routes.size() << " routes, " << d.teams.size() << " teams, "
                << d.guards.size() << " guards)\n";
    } else {
      std::cout << set.error().message() << "\n";
      bad++;
    }
  }
  return bad ? 1 : 0;
}

}  // namespace tollgate::tools
