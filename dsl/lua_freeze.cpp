#include "dsl/lua_freeze.hpp"

#include <string_view>
#include <unordered_set>

#include <lua.hpp>

namespace tollgate::dsl {
namespace {

// Light-userdata keys in a frozen table's metatable, which no policy code
// can reach (its __metatable field answers getmetatable instead).
char kContentsKey;  // the hidden table that holds the contents
char kIndexKey;     // the policy's own __index function, asked after the contents
char kMetaviewKey;  // what stands in when the frozen table is made a metatable

// Pushes the contents of the frozen table at `idx` and returns true; for
// any other value pushes nothing and returns false.
bool push_contents(lua_State* L, int idx) {
  if (!lua_getmetatable(L, idx)) return false;
  if (lua_rawgetp(L, -1, &kContentsKey) != LUA_TTABLE) {
    lua_pop(L, 2);
    return false;
  }
  lua_remove(L, -2);
  return true;
}

// __index of a frozen table whose own metatable had an __index function:
// the contents first, then that function, called with the frozen table as
// before. With a continuation, so the function may still yield.
int frozen_index(lua_State* L) {
  if (!push_contents(L, 1)) return 0;
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TNIL) return 1;
  lua_getmetatable(L, 1);
  lua_rawgetp(L, -1, &kIndexKey);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_callk(L, 2, 1, 0, [](lua_State*, int, lua_KContext) { return 1; });
  return 1;
}

int refuse_table_write(lua_State* L) {
  return luaL_error(L, "policy functions cannot change a table made at load (key %s); copy it into a new table",
                    luaL_tolstring(L, 2, nullptr));
}

int refuse_global_write(lua_State* L) {
  return luaL_error(L, "policy functions cannot set globals (%s); use a local", luaL_tolstring(L, 2, nullptr));
}

int frozen_len(lua_State* L) {
  if (!push_contents(L, 1)) lua_pushvalue(L, 1);
  lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, -1)));
  return 1;
}

// next, rawget and rawlen read a frozen table's contents, not the empty
// table that stands for them.
int aware_next(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (push_contents(L, 1)) lua_replace(L, 1);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

int frozen_pairs(lua_State* L) {
  lua_pushcfunction(L, aware_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

int aware_rawget(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  if (push_contents(L, 1)) lua_replace(L, 1);
  lua_rawget(L, 1);
  return 1;
}

int aware_rawlen(lua_State* L) {
  const int t = lua_type(L, 1);
  luaL_argexpected(L, t == LUA_TTABLE || t == LUA_TSTRING, 1, "table or string");
  if (t == LUA_TTABLE && push_contents(L, 1)) lua_replace(L, 1);
  lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, 1)));
  return 1;
}

// Copies the raw contents of the table at `from` into the table at `to`.
void copy_raw(lua_State* L, int from, int to) {
  from = lua_absindex(L, from);
  to = lua_absindex(L, to);
  lua_pushnil(L);
  while (lua_next(L, from)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, to);
  }
}

// Lua reads metamethods raw, and a frozen table is empty: made a metatable,
// it would have none. A plain copy of its contents stands in, made once and
// out of the policy's reach (getmetatable answers with the frozen table).
// Pushes it and returns true if the value at `idx` is a frozen table.
bool push_metaview(lua_State* L, int idx) {
  idx = lua_absindex(L, idx);
  if (!lua_getmetatable(L, idx)) return false;
  const int meta = lua_gettop(L);
  if (lua_rawgetp(L, meta, &kContentsKey) != LUA_TTABLE) {
    lua_settop(L, meta - 1);
    return false;
  }
  if (lua_rawgetp(L, meta, &kMetaviewKey) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    copy_raw(L, meta + 1, -1);
    lua_pushliteral(L, "__metatable");
    if (lua_rawget(L, -2) == LUA_TNIL) {
      lua_pushliteral(L, "__metatable");
      lua_pushvalue(L, idx);
      lua_rawset(L, -4);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, meta, &kMetaviewKey);
  }
  lua_replace(L, meta);
  lua_settop(L, meta);
  return true;
}

// setmetatable without finalizers. Lua runs __gc metamethods with debug
// hooks switched off, so the instruction budget could never stop one; and
// Lua registers an object for finalization only when setmetatable sees a
// __gc field, so refusing it here closes that door for good.
int guarded_setmetatable(lua_State* L) {
  if (lua_type(L, 2) == LUA_TTABLE && push_metaview(L, 2)) lua_replace(L, 2);
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "policies cannot set __gc finalizers (they would run outside any budget)");
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));  // the standard setmetatable
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// Metatable fields a frozen table does not take over from its own metatable.
bool replaced_field(lua_State* L, int key) {
  if (lua_type(L, key) != LUA_TSTRING) return false;
  const std::string_view k = lua_tostring(L, key);
  // __gc would register a finalizer now; __mode would let the collector
  // empty the contents between requests.
  return k == "__index" || k == "__newindex" || k == "__metatable" || k == "__gc" || k == "__mode";
}

class Freezer {
 public:
  Freezer(lua_State* L, int env, int roots, int sealed)
      : L_(L), env_(lua_absindex(L, env)), roots_(lua_absindex(L, roots)), sealed_(lua_absindex(L, sealed)) {}

  int run() {
    luaL_checkstack(L_, 40, "freezing the policy");
    lua_newtable(L_);
    seen_ = lua_gettop(L_);
    lua_newtable(L_);
    todo_ = lua_gettop(L_);
    lua_newtable(L_);
    tables_ = lua_gettop(L_);
    lua_newtable(L_);
    restore_ = lua_gettop(L_);
    lua_pushboolean(L_, 0);
    const int nobody = lua_gettop(L_);

    push_todo(env_, nobody);
    lua_pushnil(L_);
    while (lua_next(L_, roots_)) {
      push_todo(-1, nobody);
      lua_pop(L_, 1);
    }
    const int base = lua_gettop(L_);
    while (todo_n_ > 0) {
      lua_rawgeti(L_, todo_, 2 * todo_n_ - 1);
      lua_rawgeti(L_, todo_, 2 * todo_n_);
      lua_pushnil(L_);
      lua_rawseti(L_, todo_, 2 * todo_n_);
      lua_pushnil(L_);
      lua_rawseti(L_, todo_, 2 * todo_n_ - 1);
      --todo_n_;
      const int value = base + 1, owner = base + 2;
      switch (lua_type(L_, value)) {
        case LUA_TTABLE: visit_table(value, owner); break;
        case LUA_TFUNCTION: visit_function(value, owner); break;
        case LUA_TTHREAD: refuse(owner, "a coroutine"); break;
        default: refuse(owner, "a string.gmatch iterator"); break;  // the only userdata a policy can make
      }
      lua_settop(L_, base);
    }
    freeze_tables();
    lua_pushvalue(L_, restore_);
    return static_cast<int>(restore_n_ / 3);
  }

 private:
  // Queues the value at `idx` unless it cannot change (a string, a number),
  // is the sandbox's own or was queued before; `owner` is the Lua function
  // it was found through (false: none).
  void push_todo(int idx, int owner) {
    idx = lua_absindex(L_, idx);
    const int t = lua_type(L_, idx);
    if (t != LUA_TTABLE && t != LUA_TFUNCTION && t != LUA_TTHREAD && t != LUA_TUSERDATA) return;
    for (int set : {seen_, sealed_}) {
      lua_pushvalue(L_, idx);
      const bool listed = lua_rawget(L_, set) != LUA_TNIL;
      lua_pop(L_, 1);
      if (listed) return;
    }
    lua_pushvalue(L_, idx);
    lua_pushboolean(L_, 1);
    lua_rawset(L_, seen_);
    ++todo_n_;
    lua_pushvalue(L_, idx);
    lua_rawseti(L_, todo_, 2 * todo_n_ - 1);
    lua_pushvalue(L_, owner);
    lua_rawseti(L_, todo_, 2 * todo_n_);
  }

  void visit_table(int t, int owner) {
    lua_pushvalue(L_, t);
    lua_rawseti(L_, tables_, ++tables_n_);
    lua_pushnil(L_);
    while (lua_next(L_, t)) {
      push_todo(-2, owner);
      push_todo(-1, owner);
      lua_pop(L_, 1);
    }
    if (lua_getmetatable(L_, t)) push_todo(-1, owner);
  }

  void visit_function(int f, int owner) {
    // A C function's upvalues are out of Lua's reach, but what they hold
    // is not: coroutine.wrap's coroutine, a gmatch iterator's position.
    const bool lua_function = !lua_iscfunction(L_, f);
    for (int i = 1; lua_getupvalue(L_, f, i) != nullptr; ++i) {
      if (lua_function && upvalues_.insert(lua_upvalueid(L_, f, i)).second) {
        lua_pushvalue(L_, f);
        lua_rawseti(L_, restore_, ++restore_n_);
        lua_pushinteger(L_, i);
        lua_rawseti(L_, restore_, ++restore_n_);
        lua_pushvalue(L_, -1);
        lua_rawseti(L_, restore_, ++restore_n_);
      }
      push_todo(-1, lua_function ? f : owner);
      lua_pop(L_, 1);
    }
  }

  // Raises the load error for `what`, found through the function `owner`.
  void refuse(int owner, const char* what) {
    lua_Debug ar;
    if (lua_type(L_, owner) == LUA_TFUNCTION) {
      lua_pushvalue(L_, owner);
      lua_getinfo(L_, ">S", &ar);
      lua_pushfstring(L_, "%s:%d: this function reaches %s made at load", ar.short_src, ar.linedefined, what);
    } else {
      lua_pushfstring(L_, "a global holds %s made at load", what);
    }
    lua_pushliteral(L_, "; its state would carry from one request to the next, so make it inside the function");
    lua_concat(L_, 2);
    lua_error(L_);
  }

  // In two passes: the new metatables are built while every table is still
  // as the policy left it (one table may be another's metatable), then the
  // tables are emptied and given them.
  void freeze_tables() {
    lua_createtable(L_, static_cast<int>(tables_n_), 0);
    const int metas = lua_gettop(L_);
    for (lua_Integer i = 1; i <= tables_n_; ++i) {
      lua_rawgeti(L_, tables_, i);
      frozen_metatable(lua_gettop(L_));
      lua_rawseti(L_, metas, i);
      lua_pop(L_, 1);
    }
    for (lua_Integer i = 1; i <= tables_n_; ++i) {
      lua_rawgeti(L_, tables_, i);
      const int t = lua_gettop(L_);
      lua_rawgeti(L_, metas, i);
      lua_rawgetp(L_, -1, &kContentsKey);
      lua_pushnil(L_);
      while (lua_next(L_, -2)) {
        lua_pop(L_, 1);
        lua_pushvalue(L_, -1);
        lua_pushnil(L_);
        lua_rawset(L_, t);
      }
      lua_pop(L_, 1);
      lua_setmetatable(L_, t);
      lua_pop(L_, 1);
    }
    lua_pop(L_, 1);
  }

  // Pushes the metatable the table at `t` gets: its own metamethods, reads
  // from the contents, writes refused.
  void frozen_metatable(int t) {
    const bool is_env = lua_rawequal(L_, t, env_);
    lua_newtable(L_);
    const int contents = lua_gettop(L_);
    copy_raw(L_, t, contents);
    lua_newtable(L_);
    const int meta = lua_gettop(L_);
    if (lua_getmetatable(L_, t)) {
      const int own = lua_gettop(L_);
      lua_pushnil(L_);
      while (lua_next(L_, own)) {
        if (!replaced_field(L_, -2)) {
          lua_pushvalue(L_, -2);
          lua_insert(L_, -2);
          lua_rawset(L_, meta);
        } else {
          lua_pop(L_, 1);
        }
      }
      // getmetatable answers as it did: the table's __metatable, or its metatable.
      lua_pushliteral(L_, "__metatable");
      if (lua_rawget(L_, own) == LUA_TNIL) {
        lua_pop(L_, 1);
        lua_pushvalue(L_, own);
      }
      lua_setfield(L_, meta, "__metatable");
      lua_pushliteral(L_, "__index");
      const int index_type = lua_rawget(L_, own);
      if (index_type == LUA_TFUNCTION) {
        lua_rawsetp(L_, meta, &kIndexKey);
        lua_pushcfunction(L_, frozen_index);
      } else {
        // A table (or nil) behind the contents: Lua follows it itself.
        if (index_type != LUA_TNIL) {
          lua_createtable(L_, 0, 1);
          lua_insert(L_, -2);
          lua_setfield(L_, -2, "__index");
          lua_setmetatable(L_, contents);
        } else {
          lua_pop(L_, 1);
        }
        lua_pushvalue(L_, contents);
      }
      lua_setfield(L_, meta, "__index");
      lua_pop(L_, 1);  // own
    } else {
      // Something other than nil hides this metatable from getmetatable.
      if (is_env) lua_pushliteral(L_, "locked");
      else lua_pushboolean(L_, 0);
      lua_setfield(L_, meta, "__metatable");
      lua_pushvalue(L_, contents);
      lua_setfield(L_, meta, "__index");
    }
    lua_pushcfunction(L_, is_env ? refuse_global_write : refuse_table_write);
    lua_setfield(L_, meta, "__newindex");
    if (lua_getfield(L_, meta, "__len") == LUA_TNIL) {
      lua_pushcfunction(L_, frozen_len);
      lua_setfield(L_, meta, "__len");
    }
    lua_pop(L_, 1);
    if (lua_getfield(L_, meta, "__pairs") == LUA_TNIL) {
      lua_pushcfunction(L_, frozen_pairs);
      lua_setfield(L_, meta, "__pairs");
    }
    lua_pop(L_, 1);
    lua_pushvalue(L_, contents);
    lua_rawsetp(L_, meta, &kContentsKey);
    lua_remove(L_, contents);
  }

  lua_State* L_;
  int env_, roots_, sealed_;
  int seen_ = 0, todo_ = 0, tables_ = 0, restore_ = 0;
  lua_Integer todo_n_ = 0, tables_n_ = 0, restore_n_ = 0;
  std::unordered_set<const void*> upvalues_;  // shared cells are restored once
};

}  // namespace

void install_freeze_aware_base(lua_State* L, int env) {
  env = lua_absindex(L, env);
  lua_getfield(L, env, "setmetatable");
  lua_pushcclosure(L, guarded_setmetatable, 1);
  lua_setfield(L, env, "setmetatable");
  lua_pushcfunction(L, aware_next);
  lua_setfield(L, env, "next");
  lua_pushcfunction(L, aware_rawget);
  lua_setfield(L, env, "rawget");
  lua_pushcfunction(L, aware_rawlen);
  lua_setfield(L, env, "rawlen");
}

int freeze_reachable(lua_State* L, int env, int roots, int sealed) {
  return Freezer(L, env, roots, sealed).run();
}

int restore_upvalues(lua_State* L) {
  const lua_Integer n = lua_tointeger(L, 2);
  for (lua_Integer i = 0; i < n; ++i) {
    lua_rawgeti(L, 1, 3 * i + 1);
    lua_rawgeti(L, 1, 3 * i + 2);
    const int index = static_cast<int>(lua_tointeger(L, -1));
    lua_pop(L, 1);
    lua_rawgeti(L, 1, 3 * i + 3);
    lua_setupvalue(L, -2, index);
    lua_pop(L, 1);
  }
  return 0;
}

}  // namespace tollgate::dsl
