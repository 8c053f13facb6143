// A sandboxed Lua 5.4 state for policy code.
//
// What a policy can reach: the base functions that cannot touch the world
// (no dofile, loadfile, load, require, collectgarbage, print), and read-only
// views of string (without string.dump), table, math (random seeded fixed,
// no randomseed), utf8 and coroutine. No io, os, package or debug. Chunks
// load as text only, so bytecode never runs.
//
// Limits (per evaluation, see evaluate): an instruction budget enforced by
// a count hook, and a memory limit enforced by the allocator. Either one
// stops the evaluation for good: from then on the hook raises the error on
// every instruction of the main thread and of the coroutine it fires in,
// and no other coroutine can be resumed or closed (lua_stop_guards.hpp), so
// a pcall, xpcall, coroutine.resume, wrap or close, or a __close handler
// that catches it gets it again at once; an evaluation that still returns
// normally fails all the same. Loading runs under the same hook with a
// budget 100x larger and a memory limit 8x larger.
//
// Once loaded, the policy is frozen (see freeze): from then on every
// evaluation starts from that same state, and the state's memory is capped
// across evaluations.
//
// A LuaSandbox is used by one thread at a time; it is never shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "tollgate/error.hpp"

struct lua_State;

namespace tollgate::dsl {

struct SandboxLimits {
  int64_t instruction_budget = 1'000'000;
  int64_t memory_limit_bytes = 8 << 20;
};

class LuaSandbox {
 public:
  explicit LuaSandbox(SandboxLimits limits);
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  lua_State* state() const { return L_; }

  // Loads `source` as a text chunk named `chunkname` (shown in errors as
  // "chunkname:line:") into the policy environment and runs it under the
  // loading limits. Errors are category `policy`.
  Result<void> run_chunk(std::string_view source, const std::string& chunkname);

  // After loading, once: freezes everything policy code can reach from its
  // environment and from the functions in the registry table `roots_key`
  // (see lua_freeze.hpp), so that no evaluation can leave anything for the
  // next. Tables become read-only (globals included), file-level locals an
  // evaluation reassigns are put back when it ends, and a coroutine or an
  // iterator made at load is refused (a `policy` error). From then on each
  // evaluation also reseeds math.random by its number, and the state never
  // holds more than it holds now plus twice limits.memory_limit_bytes (one
  // evaluation's room, and the garbage of those before it), whatever
  // earlier evaluations left behind.
  Result<void> freeze(const char* roots_key);

  // Pushes the policy environment table (the chunks' _ENV).
  void push_env() const;

  // Runs fn(L) as one evaluation: the per-evaluation limits are armed and
  // every Lua error inside fn (a policy error, the instruction budget, the
  // memory limit) unwinds fn's C++ frames and comes back as a `policy`
  // Error; the stack is restored. fn may call lua_call freely. A C++
  // exception fn throws is turned into an error the same way: none crosses
  // into Lua.
  template <typename F>
  Result<void> evaluate(F&& fn) {
    return protect(&invoke<F>, &fn, limits_.instruction_budget, limits_.memory_limit_bytes, true);
  }

  // Bytes the state holds now.
  int64_t memory_used() const;

  struct Accounting;  // allocator and hook bookkeeping (lua_sandbox.cpp)

 private:
  using Thunk = void (*)(void* fn, lua_State* L);
  template <typename F>
  static void invoke(void* fn, lua_State* L) {
    (*static_cast<std::remove_reference_t<F>*>(fn))(L);
  }
  Result<void> protect(Thunk thunk, void* fn, int64_t instructions, int64_t memory, bool evaluation);

  std::unique_ptr<Accounting> acct_;
  SandboxLimits limits_;
  lua_State* L_ = nullptr;
  int env_ref_ = 0;
  int sealed_ref_ = 0;      // what freezing leaves alone (library proxies and functions)
  int randomseed_ref_ = 0;  // the real math.randomseed
  int restore_ref_ = 0;     // upvalues to put back after each evaluation (freeze_reachable)
  int restore_count_ = 0;
  int64_t serving_cap_ = 0;  // 0 until frozen: then the state's memory cap
  uint64_t evaluations_ = 0;
};

}  // namespace tollgate::dsl
