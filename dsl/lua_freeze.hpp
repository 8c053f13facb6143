// Freezing what a policy made when it loaded, so that no evaluation can
// leave anything behind for the next (see LuaSandbox::freeze).
//
// Every table policy code can still reach after load (from its environment
// and its functions, through upvalues, keys, values and metatables) is
// frozen in place: its contents move to a hidden table, and it gets a
// metatable that reads from there and refuses writes. The table keeps its
// identity, so every reference the policy holds sees the frozen one.
// Reassigning a file-level local (an upvalue, _ENV included) cannot be
// refused, so the sandbox puts every upvalue back after each evaluation. A
// coroutine or a string.gmatch iterator made at load keeps state that no
// freezing covers: a policy whose functions can reach one does not load.
//
// Call these inside LuaSandbox's protected calls: errors are Lua errors.
#pragma once

struct lua_State;

namespace tollgate::dsl {

// Replaces next, rawget, rawlen and setmetatable in the environment table
// at `env` by versions that see through frozen tables; setmetatable also
// refuses __gc finalizers. Its standard version must be in `env` already.
void install_freeze_aware_base(lua_State* L, int env);

// Freezes everything reachable from the table at `env` and from the values
// of the table at `roots`, except what the table at `sealed` holds as keys
// (the sandbox's own read-only tables and library functions). The
// environment's writes are refused as globals. Pushes the list of upvalues
// to restore after each evaluation and returns how many it holds.
int freeze_reachable(lua_State* L, int env, int roots, int sealed);

// A lua_CFunction taking (list, count) from freeze_reachable: puts every
// listed upvalue back to the value it had when the policy froze. It moves
// existing values only, so it cannot fail.
int restore_upvalues(lua_State* L);

}  // namespace tollgate::dsl
