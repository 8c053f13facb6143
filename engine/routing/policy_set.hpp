// A policy set: the policy's declarations resolved against the catalog,
// ready for the router. Built once per load or reload, then immutable and
// shared by every thread; decisions keep it alive through Decision::keep_alive.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dsl/declarations.hpp"
#include "dsl/policy_evaluator.hpp"
#include "engine/routing/catalog.hpp"
#include "tollgate/options.hpp"

namespace tollgate::engine {

struct CompiledRoute {
  const dsl::RouteDecl* decl = nullptr;
  std::vector<const ModelInfo*> try_models;  // resolved `try` list
};

struct PolicySet {
  dsl::PolicyDecls decls;
  Catalog catalog;  // the base catalog with the policy's providers and models applied
  std::unique_ptr<dsl::PolicyEvaluator> evaluator;
  std::vector<CompiledRoute> routes;  // in declaration order
  std::vector<dsl::Labels> labels;    // effective labels, by index in catalog.models()

  const dsl::TeamDecl* find_team(std::string_view name) const;
  const CompiledRoute* find_route(std::string_view name) const;
  const dsl::Labels& labels_of(const ModelInfo& m) const {
    return labels[static_cast<size_t>(&m - catalog.models().data())];
  }

 private:
  friend Result<std::shared_ptr<const PolicySet>> build_policy_set(const Options&);
  friend Result<std::shared_ptr<const PolicySet>> build_policy_set(Catalog, dsl::LoadedPolicy);
  std::map<std::string, size_t, std::less<>> team_index_, route_index_;
};

// Loads the catalog and the policy files named in `options`, and resolves
// them. Errors: `config` for unreadable files or catalogs, `policy` with
// "file:line:" for anything wrong in a policy.
Result<std::shared_ptr<const PolicySet>> build_policy_set(const Options& options);
Result<std::shared_ptr<const PolicySet>> build_policy_set(Catalog base, dsl::LoadedPolicy loaded);

}  // namespace tollgate::engine
