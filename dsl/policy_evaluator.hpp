// Calls a policy's user functions (`when`, `select`) per request.
//
// Each thread gets its own LuaSandbox with the program instantiated in it,
// created on first use and cached per thread (a few programs at most, so a
// reload does not leak states on long-lived threads). A state is never
// shared between threads or used by two evaluations at once.
//
// Each evaluation starts from the state as it was when the program loaded
// (LuaSandbox::freeze): nothing one call keeps reaches the next.
//
// In a function, `r` is the request view and `ctx` the context: both are
// valid only during the call; a view that outlived it would raise an error
// instead of reading a finished request.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dsl/host_context.hpp"
#include "dsl/policy_loader.hpp"
#include "tollgate/error.hpp"

namespace tollgate::dsl {

class PolicyEvaluator {
 public:
  explicit PolicyEvaluator(std::shared_ptr<const PolicyProgram> program);

  // A `when` function: true if the route or guard applies.
  Result<bool> predicate(int slot, const RequestFacts& request, const HostContext& host) const;

  // A `select` function: fills `models` with the candidate ids it returned.
  Result<void> select(int slot, const RequestFacts& request, const HostContext& host,
                      std::vector<std::string>& models) const;

  const PolicyProgram& program() const { return *program_; }

 private:
  std::shared_ptr<const PolicyProgram> program_;
};

}  // namespace tollgate::dsl
