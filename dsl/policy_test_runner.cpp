#include "dsl/policy_test_runner.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <lua.hpp>

#include "dsl/lua_json.hpp"
#include "dsl/lua_sandbox.hpp"
#include "dsl/policy_loader.hpp"

namespace tollgate::dsl {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRunnerKey = "tollgate.test_runner";
constexpr const char* kTestsKey = "tollgate.tests";  // list of {name, fn, line}

struct Runner {
  PolicyTestHost* host;
  fs::path dir;
  std::vector<std::string> policies;  // set by use_policy
};

Runner& runner(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kRunnerKey);
  auto* r = static_cast<Runner*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return *r;
}

std::string field_string(lua_State* L, int t, const char* key) {
  std::string out;
  if (lua_getfield(L, t, key) == LUA_TSTRING) out = lua_tostring(L, -1);
  else if (!lua_isnil(L, -1)) luaL_error(L, "decide: `%s` must be a string", key);
  lua_pop(L, 1);
  return out;
}

// decide{...} -> decision table, or nil, "category: message"
int l_decide(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  Request req;
  req.team = field_string(L, 1, "team");
  req.user = field_string(L, 1, "user");
  if (lua_getfield(L, 1, "tags") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "decide: tags need string names");
      std::string key = lua_tostring(L, -2);
      std::string value = luaL_tolstring(L, -1, nullptr);  // pushes the text
      req.tags[key] = std::move(value);
      lua_pop(L, 2);
    }
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "body") == LUA_TTABLE) req.body = to_json(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "messages") == LUA_TTABLE) req.body["messages"] = to_json(L, -1);
  lua_pop(L, 1);
  const std::string system = field_string(L, 1, "system");
  const std::string text = field_string(L, 1, "text");
  if (!system.empty() || !text.empty()) {
    auto& msgs = req.body["messages"];
    if (!msgs.is_array()) msgs = nlohmann::json::array();
    if (!system.empty()) msgs.insert(msgs.begin(), {{"role", "system"}, {"content", system}});
    if (!text.empty()) msgs.push_back({{"role", "user"}, {"content", text}});
  }
  if (lua_getfield(L, 1, "input_tokens") != LUA_TNIL) req.input_tokens = luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "max_tokens") != LUA_TNIL) req.max_tokens = luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "stream");
  req.stream = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);

  auto d = runner(L).host->decide(req);
  if (!d.ok()) {
    lua_pushnil(L);
    lua_pushstring(L, d.error().what());
    return 2;
  }
  const Decision& dec = *d;
  lua_createtable(L, 0, 6);
  if (!dec.route.empty()) lua_pushlstring(L, dec.route.data(), dec.route.size()), lua_setfield(L, -2, "route");
  lua_pushinteger(L, dec.input_tokens), lua_setfield(L, -2, "input_tokens");
  lua_createtable(L, static_cast<int>(dec.candidates.size()), 0);
  lua_Integer i = 1;
  for (const auto& c : dec.candidates) {
    lua_createtable(L, 0, 7);
    lua_pushlstring(L, c.model.data(), c.model.size()), lua_setfield(L, -2, "model");
    lua_pushlstring(L, c.provider.data(), c.provider.size()), lua_setfield(L, -2, "provider");
    lua_pushlstring(L, c.upstream_model.data(), c.upstream_model.size()), lua_setfield(L, -2, "upstream_model");
    lua_pushnumber(L, c.est_cost.usd()), lua_setfield(L, -2, "est_cost_usd");
    lua_pushnumber(L, c.est_cost_cached_input.usd()), lua_setfield(L, -2, "est_cost_cached_input_usd");
    lua_pushinteger(L, c.context_window), lua_setfield(L, -2, "context_window");
    lua_pushinteger(L, c.max_output), lua_setfield(L, -2, "max_output");
    lua_rawseti(L, -2, i++);
  }
  lua_setfield(L, -2, "candidates");
  const nlohmann::json as_json = dec.to_json();
  push_json(L, as_json["trace"]);
  lua_setfield(L, -2, "trace");
  push_json(L, as_json["cache"]);
  lua_setfield(L, -2, "cache");
  const std::string explain = dec.explain();
  lua_pushlstring(L, explain.data(), explain.size()), lua_setfield(L, -2, "explain");
  return 1;
}

std::string show(lua_State* L, int index) {
  if (lua_type(L, index) == LUA_TSTRING) return std::string("'") + lua_tostring(L, index) + "'";
  return luaL_tolstring(L, index, nullptr);
}

int l_expect(lua_State* L) {
  if (!lua_toboolean(L, 1)) return luaL_error(L, "expectation failed: %s", luaL_optstring(L, 2, "(no message)"));
  return 0;
}

int l_expect_eq(lua_State* L) {
  if (!lua_rawequal(L, 1, 2)) {
    const std::string a = show(L, 1), e = show(L, 2);
    const char* msg = luaL_optstring(L, 3, nullptr);
    return luaL_error(L, "expected %s, got %s%s%s", e.c_str(), a.c_str(), msg ? ": " : "", msg ? msg : "");
  }
  return 0;
}

std::vector<std::string> string_list(lua_State* L, int t, const char* field) {
  std::vector<std::string> out;
  if (field) lua_getfield(L, t, field);
  else lua_pushvalue(L, t);
  const int list = lua_gettop(L);
  if (lua_type(L, list) == LUA_TTABLE) {
    for (lua_Integer i = 1;; ++i) {
      if (lua_rawgeti(L, list, i) == LUA_TNIL) {
        lua_pop(L, 1);
        break;
      }
      if (lua_type(L, -1) == LUA_TTABLE) lua_getfield(L, -1, "model"), lua_remove(L, -2);
      out.emplace_back(luaL_tolstring(L, -1, nullptr));
      lua_pop(L, 2);
    }
  }
  lua_settop(L, list - 1);
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "}";
}

// expect_models(d, {"a", "b"}): the candidates, exactly and in order.
int l_expect_models(lua_State* L) {
  if (lua_type(L, 1) != LUA_TTABLE) return luaL_error(L, "expect_models: no decision (decide failed?)");
  luaL_checktype(L, 2, LUA_TTABLE);
  const auto got = string_list(L, 1, "candidates");
  const auto want = string_list(L, 2, nullptr);
  if (got != want) return luaL_error(L, "expected models %s, got %s", join(want).c_str(), join(got).c_str());
  return 0;
}

// expect_trace(d, model, reason): the trace says `model` was taken or skipped for `reason`.
int l_expect_trace(lua_State* L) {
  if (lua_type(L, 1) != LUA_TTABLE) return luaL_error(L, "expect_trace: no decision (decide failed?)");
  const std::string model = luaL_checkstring(L, 2), reason = luaL_checkstring(L, 3);
  lua_getfield(L, 1, "trace");
  std::string seen;
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; ++i) {
    lua_getfield(L, -1, "model");
    lua_getfield(L, -2, "reason");
    const bool same_model = lua_type(L, -2) == LUA_TSTRING && model == lua_tostring(L, -2);
    if (same_model && reason == lua_tostring(L, -1)) return 0;
    if (same_model) seen += std::string(seen.empty() ? "" : ", ") + lua_tostring(L, -1);
    lua_pop(L, 3);
  }
  return luaL_error(L, "expected the trace to show %s as '%s'; it shows %s", model.c_str(), reason.c_str(),
                    seen.empty() ? "nothing for that model" : ("'" + seen + "'").c_str());
}

int l_set_quality(lua_State* L) {
  runner(L).host->set_quality(luaL_checkstring(L, 1), luaL_checkstring(L, 2), luaL_checknumber(L, 3),
                              luaL_optinteger(L, 4, 1000));
  return 0;
}

int l_set_healthy(lua_State* L) {
  runner(L).host->set_healthy(luaL_checkstring(L, 1), lua_toboolean(L, 2) != 0);
  return 0;
}

int l_set_spend(lua_State* L) {
  runner(L).host->set_spend(luaL_checkstring(L, 1), luaL_checkstring(L, 2), luaL_checknumber(L, 3),
                            luaL_optnumber(L, 4, -1));
  return 0;
}

int l_use_policy(lua_State* L) {
  Runner& r = runner(L);
  for (int i = 1; i <= lua_gettop(L); ++i) r.policies.push_back((r.dir / luaL_checkstring(L, i)).string());
  return 0;
}

int l_test(lua_State* L) {
  luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_Debug ar;
  int line = 0;
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar)) line = ar.currentline;
  lua_getfield(L, LUA_REGISTRYINDEX, kTestsKey);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, 1), lua_setfield(L, -2, "name");
  lua_pushvalue(L, 2), lua_setfield(L, -2, "fn");
  lua_pushinteger(L, line), lua_setfield(L, -2, "line");
  lua_rawseti(L, -2, static_cast<lua_Integer>(lua_rawlen(L, -2)) + 1);
  return 0;
}

}  // namespace

Result<std::vector<std::string>> find_policy_tests(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec))
        if (e.path().filename().string().ends_with("_test.lua")) found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      return Error(ErrorCategory::config, p + ": no such file or directory");
    }
  }
  if (out.empty()) return Error(ErrorCategory::config, "no *_test.lua files found");
  return out;
}

TestReport run_policy_test_file(const std::string& path, PolicyTestHost& host, std::ostream& out) {
  TestReport report;
  const std::string name = display_name(path);
  out << name << "\n";
  auto fail_file = [&](const std::string& why) {
    out << "  FAIL " << why << "\n";
    report.failed++;
    return report;
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_file(path + ": cannot read the test file");
  std::stringstream ss;
  ss << in.rdbuf();

  Runner r{&host, fs::path(path).parent_path(), {}};
  // Tests get the policy sandbox (no io/os/...) with generous limits.
  LuaSandbox sandbox(SandboxLimits{50'000'000, 256 << 20});
  auto setup = sandbox.evaluate([&](lua_State* L) {
    lua_pushlightuserdata(L, &r);
    lua_setfield(L, LUA_REGISTRYINDEX, kRunnerKey);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, kTestsKey);
    static const luaL_Reg fns[] = {
        {"test", l_test},           {"decide", l_decide},           {"expect", l_expect},
        {"expect_eq", l_expect_eq}, {"expect_models", l_expect_models}, {"expect_trace", l_expect_trace},
        {"set_quality", l_set_quality}, {"set_healthy", l_set_healthy}, {"set_spend", l_set_spend},
        {"use_policy", l_use_policy}, {nullptr, nullptr}};
    sandbox.push_env();
    luaL_setfuncs(L, fns, 0);
  });
  if (!setup.ok()) return fail_file(setup.error().message());
  if (auto st = sandbox.run_chunk(ss.str(), "@" + name); !st.ok()) return fail_file(st.error().message());

  if (r.policies.empty()) {
    std::string base = path.substr(0, path.size() - std::string("_test.lua").size()) + ".lua";
    r.policies.push_back(base);
  }
  if (auto loaded = host.load(r.policies); !loaded.ok()) return fail_file(loaded.error().what());

  int count = 0;
  auto counted = sandbox.evaluate([&](lua_State* L) {
    lua_getfield(L, LUA_REGISTRYINDEX, kTestsKey);
    count = static_cast<int>(lua_rawlen(L, -1));
  });
  if (!counted.ok() || count == 0) return fail_file(name + ": no test(...) in this file");
  for (int i = 1; i <= count; ++i) {
    host.reset_signals();
    std::string test_name;
    auto run = sandbox.evaluate([&](lua_State* L) {
      lua_getfield(L, LUA_REGISTRYINDEX, kTestsKey);
      lua_rawgeti(L, -1, i);
      lua_getfield(L, -1, "name");
      test_name = lua_tostring(L, -1);
      lua_getfield(L, -2, "fn");
      lua_call(L, 0, 0);
    });
    if (run.ok()) {
      out << "  ok   " << test_name << "\n";
      report.passed++;
    } else {
      out << "  FAIL " << test_name << "\n       " << run.error().message() << "\n";
      report.failed++;
    }
  }
  return report;
}

}  // namespace tollgate::dsl
