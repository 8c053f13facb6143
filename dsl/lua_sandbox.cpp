#include "dsl/lua_sandbox.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <string>

#include <lua.hpp>

#include "dsl/lua_budgeted_lib.hpp"
#include "dsl/lua_freeze.hpp"
#include "dsl/lua_stop_guards.hpp"

namespace tollgate::dsl {

// The allocator's user data doubles as the sandbox's bookkeeping: both the
// allocator and the count hook can reach it from any coroutine of the state.
struct LuaSandbox::Accounting {
  // Why policy code must stop now. Sticky until the next evaluation starts:
  // whatever the policy does with the error, the evaluation fails.
  enum class Stop { none, budget, memory, idle };

  lua_State* main = nullptr;        // the state's main thread
  int64_t used = 0;
  int64_t limit = 0;                // bytes the state may hold right now
  int64_t instructions_left = 0;    // this evaluation's remaining budget
  int64_t instruction_budget = 0;   // for the error message
  int64_t eval_memory_limit = 0;    // for the error message
  Stop stop = Stop::idle;
  std::string budget_error;         // "file:line: instruction budget exceeded ...", as first raised
  // The last refused allocation. Lua answers a refusal with an emergency
  // collection (which only frees) and asks once more for the same block; if
  // that retry succeeds, the collection made room and nothing was stopped.
  struct Refusal {
    const void* block = nullptr;
    size_t osize = 0, nsize = 0;
    bool retry_pending = false;  // the next growing request may be its retry
    bool stopped = false;        // this refusal stopped the evaluation
  } refused;
};

namespace {

using Stop = LuaSandbox::Accounting::Stop;

constexpr int kHookInterval = 1000;  // instructions between hook calls
// Budget for the sandbox's own set-up steps; finalizers a policy left behind
// can run during them, so even these are bounded.
constexpr int64_t kSetupInstructions = 10'000'000;
// math.random's seed: the same policy, the same draws.
constexpr lua_Integer kRandomSeed = 42;

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
  if (grow <= 0) {  // Lua requires that shrinking never fails; only growth is refused
    void* p = std::realloc(ptr, nsize);
    if (p) a->used += grow;
    return p;
  }
  LuaSandbox::Accounting::Refusal& r = a->refused;
  const bool retry = r.retry_pending && r.block == ptr && r.osize == osize && r.nsize == nsize;
  r.retry_pending = false;
  void* p = a->used + grow > a->limit ? nullptr : std::realloc(ptr, nsize);
  if (!p) {
    // Refused: the evaluation is over, unless this is the first refusal
    // and Lua's retry after its emergency collection succeeds.
    if (!retry) {
      r = {ptr, osize, nsize, true, a->stop == Stop::none};
      if (r.stopped) a->stop = Stop::memory;
    }
    return nullptr;
  }
  a->used += grow;
  if (retry && r.stopped && a->stop == Stop::memory) a->stop = Stop::none;
  return p;
}

std::string memory_error(const LuaSandbox::Accounting& a) {
  return "memory limit exceeded (" + std::to_string(a.eval_memory_limit) + " bytes per evaluation)";
}

// The error that stopped the evaluation.
std::string stop_error(const LuaSandbox::Accounting& a) {
  switch (a.stop) {
    case Stop::budget: return a.budget_error;
    case Stop::memory: return memory_error(a);
    default: return "policy code cannot run outside an evaluation";
  }
}

// luaL_where's "file:line: " without allocating in the Lua state.
std::string where(lua_State* L, int level) {
  lua_Debug ar;
  if (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
    return std::string(ar.short_src) + ":" + std::to_string(ar.currentline) + ": ";
  return "";
}

void count_hook(lua_State* L, lua_Debug*);

// Takes `steps` from the budget; once it is gone, or the memory limit
// stopped the evaluation, raises the error citing the Lua function at stack
// `level`.
void spend_instructions(lua_State* L, int64_t steps, int level) {
  LuaSandbox::Accounting* a = accounting(L);
  if (a->stop == Stop::none) {
    a->instructions_left -= steps;
    if (a->instructions_left > 0) return;
    a->stop = Stop::budget;
    a->budget_error = where(L, level) + "instruction budget exceeded (" +
                      std::to_string(a->instruction_budget) + " instructions per evaluation)";
  }
  // Re-arm on every instruction, here and in the main thread: a pcall,
  // xpcall, coroutine.resume, wrap or close, or a __close handler that
  // catches this error gets another at its caller's next instruction (and
  // the stop guards start no other coroutine). A policy that still returns
  // fails anyway: protect() checks `stop`.
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  if (L != a->main) lua_sethook(a->main, count_hook, LUA_MASKCOUNT, 1);
  const std::string error = stop_error(*a);
  lua_pushlstring(L, error.data(), error.size());
  lua_error(L);  // unwinds (C++ Lua), destroying `error`
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

// Adds the function values of the table at `t` to the table at `sealed`.
void seal_functions(lua_State* L, int t, int sealed) {
  t = lua_absindex(L, t);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -1) == LUA_TFUNCTION) {
      lua_pushboolean(L, 1);
      lua_rawset(L, sealed);
    } else {
      lua_pop(L, 1);
    }
  }
}

// The base functions a policy may use. Everything else in _G is left out:
// dofile, loadfile, load, require, collectgarbage, print, rawset (which
// would bypass frozen tables), warn.
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
  if (status == LUA_ERRMEM) return memory_error(a);
  if (lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
  return std::string("policy raised a non-string error (") + luaL_typename(L, -1) + ")";
}

}  // namespace

// For library functions that loop in C (lua_budgeted_lib.cpp): level 0 is
// that C function, level 1 the Lua code that called it.
void charge_instructions(lua_State* L, int64_t steps) { spend_instructions(L, steps, 1); }

bool evaluation_stopped(lua_State* L) {
  const Stop stop = accounting(L)->stop;
  return stop == Stop::budget || stop == Stop::memory;
}

LuaSandbox::LuaSandbox(SandboxLimits limits) : acct_(std::make_unique<Accounting>()), limits_(limits) {
  // Building the standard environment needs a few hundred KiB.
  acct_->limit = std::max<int64_t>(limits_.memory_limit_bytes * 8, 4 << 20);
  L_ = lua_newstate(limited_alloc, acct_.get());
  if (!L_) std::abort();  // only when malloc itself fails at start-up
  acct_->main = L_;
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
    // xpcall's handler and a dead coroutine's __close handlers could run
    // with the hook off once the evaluation is stopped: these refuse.
    install_stop_guards(L);
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
    lua_pushvalue(L, -1);
    randomseed_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushinteger(L, kRandomSeed);
    lua_call(L, 1, 0);
    lua_pop(L, 1);

    lua_newtable(L);  // the policy environment
    const int env = lua_gettop(L);
    for (const char* name : kSafeBase) {
      lua_getglobal(L, name);
      lua_setfield(L, env, name);
    }
    install_freeze_aware_base(L, env);
    lua_newtable(L);  // what freezing leaves alone: library proxies and functions
    const int sealed = lua_gettop(L);
    for (const Library& lib : kLibraries) {
      lua_getglobal(L, lib.name);
      seal_functions(L, -1, sealed);
      if (lib.open == luaopen_base) {
        lua_pop(L, 1);
        continue;
      }
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
      lua_pushvalue(L, -1);
      lua_pushboolean(L, 1);
      lua_rawset(L, sealed);
      lua_setfield(L, env, lib.name);
    }
    seal_functions(L, env, sealed);
    sealed_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
    env_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  };
  if (!protect(&invoke<decltype(build)&>, &build, kSetupInstructions, acct_->limit, false).ok()) std::abort();
}

LuaSandbox::~LuaSandbox() {
  if (!L_) return;
  // Finalizers (__gc) a policy set run during close; with the state stopped,
  // each stops at its first instruction instead of hanging.
  acct_->stop = Stop::idle;
  lua_sethook(L_, count_hook, LUA_MASKCOUNT, 1);
  lua_close(L_);
}

Result<void> LuaSandbox::protect(Thunk thunk, void* fn, int64_t instructions, int64_t memory, bool evaluation) {
  const bool serving = evaluation && serving_cap_ > 0;
  struct Call {
    Thunk thunk;
    void* fn;
    int randomseed_ref;  // LUA_NOREF: leave math.random as it is
    lua_Integer draw;    // the second seed
  } call{thunk, fn, serving ? randomseed_ref_ : LUA_NOREF, serving ? static_cast<lua_Integer>(++evaluations_) : 0};
  const int base = lua_gettop(L_);
  // Arm the limits: budget reset, hook back to its normal interval, memory
  // measured from what the state holds now (garbage of earlier evaluations
  // included, which an emergency collection frees if need be). A state that
  // serves never holds more than its cap, whatever earlier evaluations left.
  Accounting& a = *acct_;
  a.stop = Stop::none;
  a.budget_error.clear();
  a.refused = {};
  a.instructions_left = instructions;
  a.instruction_budget = instructions;
  a.eval_memory_limit = memory;
  const int64_t idle_limit = a.limit;
  a.limit = (memory > INT64_MAX - a.used) ? INT64_MAX : a.used + memory;
  if (serving) a.limit = std::min(a.limit, serving_cap_);
  lua_sethook(L_, count_hook, LUA_MASKCOUNT, kHookInterval);

  lua_pushcfunction(L_, [](lua_State* L) -> int {
    auto* c = static_cast<Call*>(lua_touserdata(L, 1));
    lua_remove(L, 1);
    if (c->randomseed_ref != LUA_NOREF) {
      // Each evaluation draws from its own sequence, seeded by its number:
      // draws differ from one request to the next, and no evaluation can
      // move another's by how many it takes.
      lua_rawgeti(L, LUA_REGISTRYINDEX, c->randomseed_ref);
      lua_pushinteger(L, kRandomSeed);
      lua_pushinteger(L, c->draw);
      lua_call(L, 2, 0);
    }
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
  // A stopped evaluation fails even if the policy caught the error and
  // returned normally.
  if (a.stop == Stop::budget || a.stop == Stop::memory) result = Error(ErrorCategory::policy, stop_error(a));
  else if (status != LUA_OK) result = Error(ErrorCategory::policy, error_text(L_, status, a));
  lua_settop(L_, base);
  // Between evaluations no policy code may run: a finalizer (__gc) that the
  // collector calls now stops at its first instruction (Lua turns errors in
  // finalizers into warnings, which are off).
  a.stop = Stop::idle;
  a.limit = std::max(idle_limit, a.used + (4 << 20));
  lua_sethook(L_, count_hook, LUA_MASKCOUNT, 1);
  if (serving && restore_count_ > 0) {
    // File-level locals the evaluation reassigned go back to their values.
    lua_pushcfunction(L_, restore_upvalues);
    lua_rawgeti(L_, LUA_REGISTRYINDEX, restore_ref_);
    lua_pushinteger(L_, restore_count_);
    if (lua_pcall(L_, 2, 0, 0) != LUA_OK) std::abort();  // it only moves values that exist
  }
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
                 limits_.memory_limit_bytes * 8, false);
}

void LuaSandbox::push_env() const { lua_rawgeti(L_, LUA_REGISTRYINDEX, env_ref_); }

Result<void> LuaSandbox::freeze(const char* roots_key) {
  int restore_count = 0;
  auto freeze = [&](lua_State* L) {
    push_env();
    const int env = lua_gettop(L);
    if (lua_getfield(L, LUA_REGISTRYINDEX, roots_key) != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_newtable(L);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, sealed_ref_);
    restore_count = freeze_reachable(L, env, env + 1, env + 2);
    restore_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
    // Measure what the frozen policy holds, without the garbage of loading.
    lua_gc(L, LUA_GCCOLLECT);
  };
  // C code only, but finalizers of the policy's garbage could run here: the
  // budget is real.
  if (auto r = protect(&invoke<decltype(freeze)&>, &freeze, kSetupInstructions, limits_.memory_limit_bytes * 8,
                       false);
      !r.ok())
    return r;
  restore_count_ = restore_count;
  // Room for one evaluation and for the garbage of those before it: an
  // evaluation that starts with more than that left over gets less.
  serving_cap_ = acct_->used + 2 * limits_.memory_limit_bytes;
  return {};
}

int64_t LuaSandbox::memory_used() const { return acct_->used; }

}  // namespace tollgate::dsl
