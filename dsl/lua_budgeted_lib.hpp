// Library functions whose work happens in C loops, out of sight of the
// sandbox's instruction hook (it counts VM instructions only). Lua's own
// versions can run for hours on a few kilobytes: a backtracking pattern
// (string.find(("a"):rep(20000), ".-.-.-.-b")), a long plain needle in a
// long haystack, string.rep("", math.maxinteger), table.move over 2^50
// empty slots. These replacements behave exactly as Lua 5.4's (the pattern
// matcher is Lua's own algorithm) but charge their steps to the running
// evaluation's instruction budget, so they stop with the same error.
#pragma once

#include <cstdint>

struct lua_State;

namespace tollgate::dsl {

// Replaces string.find, match, gmatch, gsub and rep, and table.move, in the
// library tables of L (before the sandbox wraps them in read-only proxies;
// strings' methods reach the same table).
void install_budgeted_library(lua_State* L);

// Charges `steps` to the evaluation running on L; past its budget, raises
// the budget error ("file:line: instruction budget exceeded ...") at the
// Lua function that called the C function on top of the stack.
// Defined in lua_sandbox.cpp, which owns the accounting.
void charge_instructions(lua_State* L, int64_t steps);

}  // namespace tollgate::dsl
