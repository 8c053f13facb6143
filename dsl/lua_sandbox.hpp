// A sandboxed Lua 5.4 state for policy code.
//
// What a policy can reach: the base functions that cannot touch the world
// (no dofile, loadfile, load, require, collectgarbage, print), and read-only
// views of string (without string.dump), table, math (random seeded fixed,
// no randomseed), utf8 and coroutine. No io, os, package or debug. Chunks
// load as text only, so bytecode never runs.
//
// Limits (per evaluation, see Evaluation): an instruction budget enforced by
// a count hook that, once it fires, fires again on every instruction so a
// pcall inside the policy cannot swallow it; and a memory limit enforced by
// the allocator. Loading runs under the same hook with a budget 100x larger
// and a memory limit 8x larger.
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

  // After loading: the policy's globals become read-only, so a function
  // called per request cannot carry state between requests in globals.
  Result<void> freeze_globals();

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
    return protect(&invoke<F>, &fn, limits_.instruction_budget, limits_.memory_limit_bytes);
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
  Result<void> protect(Thunk thunk, void* fn, int64_t instructions, int64_t memory);

  std::unique_ptr<Accounting> acct_;
  SandboxLimits limits_;
  lua_State* L_ = nullptr;
  int env_ref_ = 0;
};

}  // namespace tollgate::dsl
