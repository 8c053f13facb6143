// Loading policies: run each file once in a sandbox, collect its
// declarations, compile them to PolicyDecls, and validate them.
//
// A PolicyProgram is the immutable source of a loaded policy set. Each worker
// thread instantiates it into its own LuaSandbox (see PolicyEvaluator): the
// same files run in the same order, so the user functions land in the same
// slots the loader numbered.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dsl/declarations.hpp"
#include "dsl/lua_sandbox.hpp"
#include "tollgate/error.hpp"

namespace tollgate::dsl {

struct PolicySource {
  std::string path;  // where it was read from
  std::string text;
};

struct PolicyProgram {
  std::vector<PolicySource> sources;
  SandboxLimits limits;
  int function_count = 0;
  uint64_t id = 0;  // unique per load, for per-thread state caches
};

struct LoadedPolicy {
  PolicyDecls decls;
  std::shared_ptr<const PolicyProgram> program;
};

// Reads policy files; a directory contributes its *.lua files except
// *_test.lua, in name order. Errors are category `config`.
Result<std::vector<PolicySource>> read_policy_sources(const std::vector<std::string>& paths);

// Loads and validates a policy set. Errors are category `policy` and read
// "file.lua:LINE: what is wrong".
Result<LoadedPolicy> load_policy(std::vector<PolicySource> sources, SandboxLimits limits);

// Runs a program's files in `sandbox` and stores its user functions in the
// sandbox's registry by slot (see push_function). Fills `decls` if given.
// Freezes the sandbox afterwards (LuaSandbox::freeze), the user functions
// and what they reach included.
Result<void> instantiate_policy(LuaSandbox& sandbox, const PolicyProgram& program,
                                PolicyDecls* decls);

// Pushes the user function in `slot` of an instantiated sandbox.
void push_function(lua_State* L, int slot);

// The display name of a policy file in messages: its base name.
std::string display_name(const std::string& path);

}  // namespace tollgate::dsl
