// Library functions that could run policy code with the instruction hook
// switched off, made safe.
//
// Lua calls hooks with hooks disabled, and an error raised by the hook (the
// sandbox's budget error) leaves them disabled until a protected call that
// catches it restores them. Two kinds of code run before that can happen:
// xpcall's message handler, which Lua calls while raising the error, and
// the __close handlers of a coroutine the error killed, which
// coroutine.close and coroutine.wrap run afterwards in that coroutine. A
// loop in either would run beyond any budget. These versions refuse to run
// policy code once the evaluation is stopped (coroutine.resume too, so no
// other coroutine starts either); otherwise they behave exactly as Lua
// 5.4's own.
#pragma once

struct lua_State;

namespace tollgate::dsl {

// Replaces xpcall, coroutine.resume, coroutine.wrap and coroutine.close in
// L's standard library tables (before the sandbox copies and wraps them).
void install_stop_guards(lua_State* L);

// Whether the evaluation running on L has been stopped by its instruction
// budget or memory limit. Defined in lua_sandbox.cpp, which owns the
// accounting.
bool evaluation_stopped(lua_State* L);

}  // namespace tollgate::dsl
