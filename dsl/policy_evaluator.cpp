#include "dsl/policy_evaluator.hpp"

#include <algorithm>

#include <lua.hpp>

#include "dsl/request_view.hpp"

namespace tollgate::dsl {
namespace {

// One thread's instantiated copy of a program.
struct Worker {
  uint64_t program_id = 0;
  std::weak_ptr<const PolicyProgram> program;
  std::unique_ptr<LuaSandbox> sandbox;
  std::unique_ptr<CallState> call = std::make_unique<CallState>();
};

// Programs a thread keeps states for. More than one is normal during a
// reload; a long-lived thread that saw many reloads keeps only the newest.
constexpr size_t kWorkersPerThread = 4;
thread_local std::vector<Worker> t_workers;

Result<Worker*> worker_for(const std::shared_ptr<const PolicyProgram>& program) {
  auto& ws = t_workers;
  for (size_t i = 0; i < ws.size(); ++i) {
    if (ws[i].program_id == program->id) {
      if (i != 0) std::rotate(ws.begin(), ws.begin() + static_cast<long>(i), ws.begin() + static_cast<long>(i) + 1);
      return &ws.front();
    }
  }
  // Drop states of programs that no longer exist, then the least recent.
  ws.erase(std::remove_if(ws.begin(), ws.end(), [](const Worker& w) { return w.program.expired(); }),
           ws.end());
  if (ws.size() >= kWorkersPerThread) ws.pop_back();

  Worker w;
  w.program_id = program->id;
  w.program = program;
  w.sandbox = std::make_unique<LuaSandbox>(program->limits);
  // The views first: instantiating freezes the state, and what it holds then
  // is what its memory cap counts from.
  CallState* call = w.call.get();
  if (auto r = w.sandbox->evaluate([&](lua_State* L) { install_views(L, call); }); !r.ok())
    return r.error();
  if (auto r = instantiate_policy(*w.sandbox, *program, nullptr); !r.ok()) return r.error();
  ws.insert(ws.begin(), std::move(w));
  return &ws.front();
}

// Runs fn with the call state bound to this request; unbinds it whatever
// happens, so views kept by the policy die with the request.
template <typename F>
Result<void> with_call(Worker& w, const RequestFacts& facts, const HostContext& host, F&& fn) {
  w.call->begin(facts, host);
  Result<void> r = w.sandbox->evaluate(fn);
  w.call->end();
  return r;
}

}  // namespace

PolicyEvaluator::PolicyEvaluator(std::shared_ptr<const PolicyProgram> program)
    : program_(std::move(program)) {}

Result<bool> PolicyEvaluator::predicate(int slot, const RequestFacts& facts, const HostContext& host) const {
  auto w = worker_for(program_);
  if (!w.ok()) return w.error();
  bool result = false;
  auto r = with_call(**w, facts, host, [&](lua_State* L) {
    push_function(L, slot);
    push_views(L);
    lua_call(L, 2, 1);
    const int t = lua_type(L, -1);
    if (t != LUA_TBOOLEAN && t != LUA_TNIL)
      luaL_error(L, "`when` must return true or false, not a %s", lua_typename(L, t));
    result = lua_toboolean(L, -1) != 0;
  });
  if (!r.ok()) return r.error();
  return result;
}

Result<void> PolicyEvaluator::select(int slot, const RequestFacts& facts, const HostContext& host,
                                     std::vector<std::string>& models) const {
  auto w = worker_for(program_);
  if (!w.ok()) return w.error();
  models.clear();
  return with_call(**w, facts, host, [&](lua_State* L) {
    push_function(L, slot);
    push_views(L);
    lua_call(L, 2, 1);
    const int t = lua_type(L, -1);
    if (t == LUA_TSTRING) {
      models.emplace_back(lua_tostring(L, -1));
    } else if (t == LUA_TTABLE) {
      // Not raw: the list may be a table made at load, which is frozen.
      const lua_Integer n = luaL_len(L, -1);
      for (lua_Integer i = 1; i <= n; ++i) {
        if (lua_geti(L, -1, i) != LUA_TSTRING)
          luaL_error(L, "`select` must return a list of model ids; item %I is a %s", i,
                     luaL_typename(L, -1));
        models.emplace_back(lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    } else if (t != LUA_TNIL) {
      luaL_error(L, "`select` must return a list of model ids, not a %s", lua_typename(L, t));
    }
  });
}

}  // namespace tollgate::dsl
