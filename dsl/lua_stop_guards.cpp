#include "dsl/lua_stop_guards.hpp"

#include <lua.hpp>

#include "dsl/lua_budgeted_lib.hpp"

namespace tollgate::dsl {
namespace {

// Raises the error that stopped the evaluation.
void raise_stop(lua_State* L) { charge_instructions(L, 0); }

int return_all(lua_State* L, int, lua_KContext) { return lua_gettop(L); }

// The message handler xpcall gets: the policy's own, unless the error is the
// one that stopped the evaluation, which it keeps as it is.
int guarded_handler(lua_State* L) {
  if (evaluation_stopped(L)) return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int guarded_xpcall(lua_State* L) {
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, guarded_handler, 1);
  lua_replace(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));  // Lua's xpcall
  lua_insert(L, 1);
  // With a continuation: the protected function may yield, as with Lua's.
  lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, return_all);
  return lua_gettop(L);
}

// Runs the pending __close handlers of `co`, a dead or suspended coroutine,
// as lua_resetthread does; once the evaluation is stopped, raises instead.
int close_coroutine(lua_State* L, lua_State* co) {
  if (evaluation_stopped(L)) raise_stop(L);
  return lua_resetthread(co);
}

// coroutine.close: Lua 5.4's luaB_close, closing through close_coroutine.
int guarded_close(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTHREAD);
  lua_State* co = lua_tothread(L, 1);
  const char* state = nullptr;  // why it cannot be closed
  lua_Debug ar;
  if (co == L) state = "running";
  else if (lua_status(co) == LUA_OK && lua_getstack(co, 0, &ar)) state = "normal";
  if (state) return luaL_error(L, "cannot close a %s coroutine", state);
  if (close_coroutine(L, co) == LUA_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);
  return 2;
}

// coroutine.resume: Lua's, which once the evaluation is stopped no longer
// starts another coroutine (whose hook could let it run a little longer).
int guarded_resume(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTHREAD);
  if (evaluation_stopped(L)) raise_stop(L);
  lua_pushvalue(L, lua_upvalueindex(1));  // Lua's coroutine.resume
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// A coroutine.wrap function: Lua 5.4's auxwrap, resuming and closing as the
// guarded versions above do.
int wrap_call(lua_State* L) {
  if (evaluation_stopped(L)) raise_stop(L);
  lua_State* co = lua_tothread(L, lua_upvalueindex(1));
  const int narg = lua_gettop(L);
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
  } else {
    lua_xmove(L, co, narg);
    int nres = 0;
    const int status = lua_resume(co, L, narg, &nres);
    if (status == LUA_OK || status == LUA_YIELD) {
      if (lua_checkstack(L, nres + 1)) {
        lua_xmove(co, L, nres);
        return nres;
      }
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
    } else {
      lua_xmove(co, L, 1);
    }
  }
  int stat = lua_status(co);
  if (stat != LUA_OK && stat != LUA_YIELD) {  // the coroutine died: close its to-be-closed variables
    stat = close_coroutine(L, co);
    lua_xmove(co, L, 1);
  }
  if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

int guarded_wrap(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State* co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, wrap_call, 1);
  return 1;
}

}  // namespace

void install_stop_guards(lua_State* L) {
  lua_getglobal(L, LUA_GNAME);
  lua_getfield(L, -1, "xpcall");
  lua_pushcclosure(L, guarded_xpcall, 1);
  lua_setfield(L, -2, "xpcall");
  lua_getglobal(L, LUA_COLIBNAME);
  lua_getfield(L, -1, "resume");
  lua_pushcclosure(L, guarded_resume, 1);
  lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, guarded_close);
  lua_setfield(L, -2, "close");
  lua_pushcfunction(L, guarded_wrap);
  lua_setfield(L, -2, "wrap");
  lua_pop(L, 2);
}

}  // namespace tollgate::dsl
