// tollgate — the Engine: one per service, shared by all its threads.
//
//   auto engine = tollgate::Engine::create(options).value();
//   tollgate::Request req{.team = "support", .tags = {{"task", "classify"}}};
//   req.body["messages"] = {{{"role", "user"}, {"content", "Is this spam?"}}};
//   auto decision = engine->decide(req);
//
// Thread-safety: every method may be called from any thread at once.
// reload() swaps the policy set atomically; calls in flight finish on the
// set they started with.
#pragma once

#include <memory>

#include "tollgate/error.hpp"
#include "tollgate/options.hpp"
#include "tollgate/request.hpp"
#include "tollgate/result.hpp"

namespace tollgate {

class Engine {
 public:
  // Loads the catalog and every policy, validating them completely. A broken
  // policy is an Error of category `policy` whose message begins
  // "file:line:"; a broken catalog, category `config`.
  static Result<std::unique_ptr<Engine>> create(Options options);

  virtual ~Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Which route and candidates the policy picks for this request, and why.
  // No network, no spend: safe to call for "what would happen" questions.
  virtual Result<Decision> decide(const Request& request) const = 0;

  // As decide(), filling `out` in place so a caller that reuses one Decision
  // pays no allocation on declarative routes.
  virtual Result<void> decide_into(const Request& request, Decision& out) const = 0;

  // Re-reads the policy paths (and catalog) and swaps them in atomically. On
  // any error the running policy set stays and the error is returned.
  virtual Result<void> reload() = 0;

 protected:
  Engine() = default;
};

}  // namespace tollgate
