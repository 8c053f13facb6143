#include "dsl/lua_sandbox.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>

#include <lua.hpp>

#include "dsl/lua_budgeted_lib.hpp"

namespace tollgate::dsl {

// The allocator's user data doubles as the sandbox's bookkeeping: both the
// allocator and the count hook can reach it from any coroutine of the state.
struct LuaSandbox::Accounting {
  int64_t used = 0;
  int64_t limit = 0;                // bytes the state may hold right now
  int64_t instructions_left = 0;    // this evaluation's remaining budget
  int64_t instruction_budget = 0;   // for the error message
  bool exhausted = false;           // budget gone: every hook call errors
  bool memory_exceeded = false;     // the allocator refused a request
  int64_t eval_memory_limit = 0;    // for the error message
};

namespace {

constexpr int kHookInterval = 1000;  // instructions between hook calls
// Budget for the sandbox's own set-up steps; finalizers a policy left behind
// can run during them, so even these are bounded.
constexpr int64_t kSetupInstructions = 10'000'000;

LuaSandbox::Accounting* accounting(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return static_cast<LuaSandbox::Accounting*>(ud);
}

void* limited_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* a = static_cast<LuaSandbox::Accounting*>(ud);
  const int64_t old_size = ptr ? static_cast<int64_t>(osize) : 0;
  if (nsize == 0) {
    std::free(ptr);
    a->used -= old_size;
    return nullptr;
  }
  const int64_t grow = static_cast<int64_t>(nsize) - old_size;
  // Lua requires that shrinking never fails; only growth is refused.
  if (grow > 0 && a->used + grow > a->limit) {
    a->memory_exceeded = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, nsize);
  if (p) a->used += grow;
  return p;
}

void count_hook(lua_State* L, lua_Debug*);

// Takes `steps` from the budget; once it is gone, raises the budget error
// citing the Lua function at stack `level`.
void spend_instructions(lua_State* L, int64_t steps, int level) {
  LuaSandbox::Accounting* a = accounting(L);
  if (!a->exhausted) {
    a->instructions_left -= steps;
    if (a->instructions_left > 0) return;
    a->exhausted = true;
  }
  // Re-arm on every instruction: a pcall in the policy that catches this
  // error gets another one at its next instruction.
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  luaL_where(L, level);
  lua_pushfstring(L, "instruction budget exceeded (%I instructions per evaluation)",
                  static_cast<lua_Integer>(a->instruction_budget));
  lua_concat(L, 2);
  lua_error(L);
}

// A hook is not a stack level: level 0 is the Lua function that was
// running, whose file:line the author needs.
void count_hook(lua_State* L, lua_Debug*) { spend_instructions(L, kHookInterval, 0); }

// A library table behind a proxy: readable, not writable, metatable locked.
void push_readonly_proxy(lua_State* L, int lib_index) {
  lib_index = lua_absindex(L, lib_index);
  lua_newtable(L);           // proxy
  lua_newtable(L);           // its metatable
  lua_pushvalue(L, lib_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, [](lua_State* S) -> int {
    return luaL_error(S, "policy code cannot modify library tables");
  });
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "locked");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

// setmetatable without finalizers. Lua runs __gc metamethods with debug
// hooks switched off, so the instruction budget could never stop one; and
// Lua registers an object for finalization only when setmetatable sees a
// __gc field, so refusing it here closes that door for good.
int guarded_setmetatable(lua_State* L) {
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

// The base functions a policy may use. Everything else in _G is left out:
// dofile, loadfile, load, require, collectgarbage, print, rawset (which
// would bypass frozen globals), warn.
constexpr const char* kSafeBase[] = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select",
    "tonumber", "tostring", "type", "rawequal", "rawlen", "rawget",
    "setmetatable", "getmetatable", "_VERSION",
};

struct Library {
  const char* name;
  lua_CFunction open;
};
constexpr Library kLibraries[] = {
    {LUA_GNAME, luaopen_base},     {LUA_STRLIBNAME, luaopen_string},
    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
};

std::string error_text(lua_State* L, int status, const LuaSandbox::Accounting& a) {
  if (status == LUA_ERRMEM || a.memory_exceeded) {
    return "memory limit exceeded (" + std::to_string(a.eval_memory_limit) +
           " bytes per evaluation)";
  }
  if (lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
  return std::string("policy raised a non-string error (") + luaL_typename(L, -1) + ")";
}

}  // namespace

// For library functions that loop in C (lua_budgeted_lib.cpp): level 0 is
// that C function, level 1 the Lua code that called it.
void charge_instructions(lua_State* L, int64_t steps) { spend_instructions(L, steps, 1); }

LuaSandbox::LuaSandbox(SandboxLimits limits) : acct_(std::make_unique<Accounting>()), limits_(limits) {
  // Building the standard environment needs a few hundred KiB.
  acct_->limit = std::max<int64_t>(limits_.memory_limit_bytes * 8, 4 << 20);
  L_ = lua_newstate(limited_alloc, acct_.get());
  if (!L_) std::abort();  // only when malloc itself fails at start-up
  lua_atpanic(L_, [](lua_State*) -> int { std::abort(); });
  lua_sethook(L_, count_hook, LUA_MASKCOUNT, kHookInterval);

  auto build = [this](lua_State* L) {
    for (const Library& lib : kLibraries) {
      luaL_requiref(L, lib.name, lib.open, 1);
      lua_pop(L, 1);
    }
    // Pattern matching, string.rep and table.move loop in C, where the
    // count hook cannot see them: these versions charge the budget.
    install_budgeted_library(L);
    // string.dump would turn functions into bytecode; strings reach the real
    // string table through their metatable, so remove it there.
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    // getmetatable("") must not hand out the string metatable.
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    // Deterministic randomness, as in Redis: the same policy, the same draws.
    lua_getglobal(L, LUA_MATHLIBNAME);
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, 42);
    lua_call(L, 1, 0);
    lua_pop(L, 1);

    lua_newtable(L);  // the policy environment
    for (const char* name : kSafeBase) {
      lua_getglobal(L, name);
      if (std::string_view(name) == "setmetatable") lua_pushcclosure(L, guarded_setmetatable, 1);
      lua_setfield(L, -2, name);
    }
    for (const Library& lib : kLibraries) {
      if (lib.open == luaopen_base) continue;
      lua_getglobal(L, lib.name);
      if (lib.open == luaopen_math) {
        // A copy without randomseed, so draws stay deterministic.
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, -3)) {
          lua_pushvalue(L, -2);
          lua_insert(L, -2);
          lua_settable(L, -4);
        }
        lua_pushnil(L);
        lua_setfield(L, -2, "randomseed");
        lua_remove(L, -2);
      }
      push_readonly_proxy(L, -1);
      lua_remove(L, -2);
      lua_setfield(L, -2, lib.name);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    env_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  };
  if (!protect(&invoke<decltype(build)&>, &build, kSetupInstructions, acct_->limit).ok()) std::abort();
}

LuaSandbox::~LuaSandbox() {
  if (!L_) return;
  // Finalizers (__gc) a policy set run during close; with the budget marked
  // exhausted, each stops at its first instruction instead of hanging.
  acct_->exhausted = true;
  lua_sethook(L_, count_hook, LUA_MASKCOUNT, 1);
  lua_close(L_);
}

Result<void> LuaSandbox::protect(Thunk thunk, void* fn, int64_t instructions, int64_t memory) {
  struct Call {
    Thunk thunk;
    void* fn;
  } call{thunk, fn};
  const int base = lua_gettop(L_);
  // Arm the limits: budget reset, hook back to its normal interval, memory
  // measured from what the state holds now.
  Accounting& a = *acct_;
  a.exhausted = false;
  a.memory_exceeded = false;
  a.instructions_left = instructions;
  a.instruction_budget = instructions;
  a.eval_memory_limit = memory;
  const int64_t idle_limit = a.limit;
  a.limit = (memory > INT64_MAX - a.used) ? INT64_MAX : a.used + memory;
  lua_sethook(L_, count_hook, LUA_MASKCOUNT, kHookInterval);

  lua_pushcfunction(L_, [](lua_State* L) -> int {
    auto* c = static_cast<Call*>(lua_touserdata(L, 1));
    lua_remove(L, 1);
    const char* failure = nullptr;
    std::string what;
    try {
      c->thunk(c->fn, L);
    } catch (const std::exception& e) {
      // Only our own exceptions land here: Lua's errors (in its C++ build)
      // are not std::exceptions and unwind on to lua_pcall.
      what = e.what();
      failure = what.c_str();
    }
    if (failure) {
      lua_pushstring(L, failure);
      return lua_error(L);  // unwinds (C++ Lua), destroying `what`
    }
    return 0;
  });
  lua_pushlightuserdata(L_, &call);
  const int status = lua_pcall(L_, 1, LUA_MULTRET, 0);

  Result<void> result;
  if (status != LUA_OK) result = Error(ErrorCategory::policy, error_text(L_, status, a));
  lua_settop(L_, base);
  // Between evaluations no policy code may run: a finalizer (__gc) that the
  // collector calls now stops at its first instruction (Lua turns errors in
  // finalizers into warnings, which are off).
  a.exhausted = true;
  a.limit = std::max(idle_limit, a.used + (4 << 20));
  lua_sethook(L_, count_hook, LUA_MASKCOUNT, 1);
  return result;
}

Result<void> LuaSandbox::run_chunk(std::string_view source, const std::string& chunkname) {
  auto run = [&](lua_State* L) {
    // "t": text only, bytecode is refused.
    const int st = luaL_loadbufferx(L, source.data(), source.size(), chunkname.c_str(), "t");
    if (st != LUA_OK) lua_error(L);
    push_env();
    lua_setupvalue(L, -2, 1);  // the chunk's _ENV
    lua_call(L, 0, 0);
  };
  return protect(&invoke<decltype(run)&>, &run, limits_.instruction_budget * 100,
                 limits_.memory_limit_bytes * 8);
}

void LuaSandbox::push_env() const { lua_rawgeti(L_, LUA_REGISTRYINDEX, env_ref_); }

Result<void> LuaSandbox::freeze_globals() {
  auto freeze = [&](lua_State* L) {
    push_env();
    const int env = lua_gettop(L);
    // Move every global into a hidden table; the environment itself stays
    // the same (functions captured it as _ENV) but becomes an empty proxy.
    lua_newtable(L);
    const int hidden = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, env)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, hidden);
    }
    lua_pushnil(L);
    while (lua_next(L, hidden)) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushnil(L);
      lua_rawset(L, env);
    }
    lua_newtable(L);
    lua_pushvalue(L, hidden);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, [](lua_State* S) -> int {
      return luaL_error(S, "policy functions cannot set globals (%s); use a local",
                        luaL_tolstring(S, 2, nullptr));
    });
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, env);
    lua_settop(L, env - 1);
  };
  // Finalizers of the policy's garbage may run here, so the budget is real.
  return protect(&invoke<decltype(freeze)&>, &freeze, kSetupInstructions, limits_.memory_limit_bytes * 8);
}

int64_t LuaSandbox::memory_used() const { return acct_->used; }

}  // namespace tollgate::dsl
