#include "engine/routing/policy_set.hpp"

#include <algorithm>

namespace tollgate::engine {
namespace {

// Closest catalog id by edit distance, for "did you mean" hints.
std::string closest_model(const Catalog& cat, std::string_view wanted) {
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& m : cat.models()) {
    const size_t d = distance(m.id, wanted);
    if (d < best_d) best_d = d, best = m.id;
  }
  return best_d <= std::max<size_t>(3, wanted.size() / 3) ? best : std::string();
}

Error policy_error(const dsl::SourceLoc& loc, const std::string& msg) {
  return Error(ErrorCategory::policy, loc.str() + ": " + msg);
}

}  // namespace

const dsl::TeamDecl* PolicySet::find_team(std::string_view name) const {
  auto it = team_index_.find(name);
  return it == team_index_.end() ? nullptr : &decls.teams[it->second];
}

const CompiledRoute* PolicySet::find_route(std::string_view name) const {
  auto it = route_index_.find(name);
  return it == route_index_.end() ? nullptr : &routes[it->second];
}

Result<std::shared_ptr<const PolicySet>> build_policy_set(Catalog base, dsl::LoadedPolicy loaded) {
  auto set = std::make_shared<PolicySet>();
  set->decls = std::move(loaded.decls);
  set->catalog = std::move(base);
  if (auto r = set->catalog.apply(set->decls.providers, set->decls.models); !r.ok()) return r.error();
  set->evaluator = std::make_unique<dsl::PolicyEvaluator>(std::move(loaded.program));

  for (const auto& m : set->catalog.models()) set->labels.push_back(set->catalog.labels_of(m));

  for (size_t i = 0; i < set->decls.teams.size(); ++i) set->team_index_[set->decls.teams[i].name] = i;
  for (size_t i = 0; i < set->decls.routes.size(); ++i) {
    const dsl::RouteDecl& decl = set->decls.routes[i];
    set->route_index_[decl.name] = i;
    CompiledRoute route;
    route.decl = &decl;
    for (size_t k = 0; k < decl.try_models.size(); ++k) {
      const std::string& id = decl.try_models[k];
      const ModelInfo* m = set->catalog.find_model(id);
      const std::string where = "route '" + decl.name + "': try[" + std::to_string(k + 1) + "]: ";
      if (!m) {
        const std::string hint = closest_model(set->catalog, id);
        return policy_error(decl.loc, where + "unknown model '" + id + "'" +
                                          (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                                          "; declare it with model \"" + id + "\" { provider = ..., input = ..., output = ... }");
      }
      if (!m->priced())
        return policy_error(decl.loc, where + "model '" + id +
                                          "' has no price in the catalog, so it cannot be costed; "
                                          "give it one: model \"" + id + "\" { input = <usd/M>, output = <usd/M> }");
      const ProviderInfo* p = set->catalog.find_provider(m->provider);
      if (!p || p->base_url.empty())
        return policy_error(decl.loc, where + "model '" + id + "' is served by provider '" + m->provider +
                                          "', which has no base_url; declare provider \"" + m->provider +
                                          "\" { base_url = \"https://...\" }");
      route.try_models.push_back(m);
    }
    set->routes.push_back(std::move(route));
  }
  return std::shared_ptr<const PolicySet>(std::move(set));
}

Result<std::shared_ptr<const PolicySet>> build_policy_set(const Options& options) {
  auto catalog = options.catalog_path.empty() ? Catalog::builtin() : Catalog::from_file(options.catalog_path);
  if (!catalog.ok()) return catalog.error();
  auto sources = dsl::read_policy_sources(options.policy_paths);
  if (!sources.ok()) return sources.error();
  dsl::SandboxLimits limits{options.policy_limits.instruction_budget, options.policy_limits.memory_limit_bytes};
  auto loaded = dsl::load_policy(std::move(*sources), limits);
  if (!loaded.ok()) return loaded.error();
  return build_policy_set(std::move(*catalog), std::move(*loaded));
}

}  // namespace tollgate::engine
