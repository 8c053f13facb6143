#include "dsl/policy_loader.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <lua.hpp>

#include "adapters/http/http_field.hpp"
#include "dsl/spec_reader.hpp"

namespace tollgate::dsl {
namespace {

namespace fs = std::filesystem;

// Registry keys of an instantiated sandbox.
constexpr const char* kDeclsKey = "tollgate.decls";  // list of {kind, name, spec, file, line}
constexpr const char* kFnsKey = "tollgate.fns";      // slot -> user function

// The declaration verbs a policy calls at top level.
constexpr const char* kNamedKinds[] = {"provider", "model", "team", "route", "guard"};

// `route "name"` returns this closure, which takes the spec table and
// records it with the caller's file and line.
int record_declaration(lua_State* L) {
  const char* kind = lua_tostring(L, lua_upvalueindex(1));
  const char* name = lua_tostring(L, lua_upvalueindex(2));
  if (lua_type(L, 1) != LUA_TTABLE) {
    if (name && *name)
      return luaL_error(L, "%s '%s' needs a table: %s \"%s\" { ... }", kind, name, kind, name);
    return luaL_error(L, "%s needs a table: %s { ... }", kind, kind);
  }
  lua_Debug ar;
  int line = 0;
  std::string file = "?";
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
    line = ar.currentline;
    file = ar.short_src;
  }
  if (lua_getfield(L, LUA_REGISTRYINDEX, kDeclsKey) != LUA_TTABLE)
    return luaL_error(L, "%s: declarations are only allowed when the policy loads, "
                         "not inside a function", kind);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, name ? name : "");
  lua_setfield(L, -2, "name");
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "spec");
  lua_pushstring(L, file.c_str());
  lua_setfield(L, -2, "file");
  lua_pushinteger(L, line);
  lua_setfield(L, -2, "line");
  lua_rawseti(L, -2, static_cast<lua_Integer>(lua_rawlen(L, -2)) + 1);
  return 0;
}

int declare_named(lua_State* L) {
  const char* kind = lua_tostring(L, lua_upvalueindex(1));
  if (lua_type(L, 1) != LUA_TSTRING || lua_rawlen(L, 1) == 0)
    return luaL_error(L, "%s needs a name: %s \"name\" { ... }", kind, kind);
  // Names go into logs, metrics labels and the gateway's response headers
  // (x-tollgate-route, x-tollgate-model): a line break there would forge a
  // header, and a NUL would cut the name short.
  std::size_t len = 0;
  const char* name = lua_tolstring(L, 1, &len);
  if (adapters::has_any_control_char(std::string_view(name, len)))
    return luaL_error(L, "a %s name may not hold a control character (a line break, tab or NUL)", kind);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, record_declaration, 2);
  return 1;
}

void install_declaration_verbs(LuaSandbox& sandbox, lua_State* L) {
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kDeclsKey);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kFnsKey);
  sandbox.push_env();
  for (const char* kind : kNamedKinds) {
    lua_pushstring(L, kind);
    lua_pushcclosure(L, declare_named, 1);
    lua_setfield(L, -2, kind);
  }
  lua_pushliteral(L, "settings");
  lua_pushliteral(L, "");
  lua_pushcclosure(L, record_declaration, 2);
  lua_setfield(L, -2, "settings");
  lua_pop(L, 1);
}

// ---------------------------------------------------------------------------
// Compiling declarations (runs inside LuaSandbox::evaluate).

class Compiler {
 public:
  Compiler(lua_State* L, PolicyDecls& out) : L_(L), out_(out) {}

  void compile_all() {
    lua_getfield(L_, LUA_REGISTRYINDEX, kDeclsKey);
    const int decls = lua_gettop(L_);
    const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L_, decls));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L_, decls, i);
      const int d = lua_gettop(L_);
      lua_getfield(L_, d, "kind");
      lua_getfield(L_, d, "name");
      lua_getfield(L_, d, "file");
      lua_getfield(L_, d, "line");
      lua_getfield(L_, d, "spec");
      const std::string kind = lua_tostring(L_, d + 1);
      const std::string name = lua_tostring(L_, d + 2);
      SourceLoc loc{lua_tostring(L_, d + 3), static_cast<int>(lua_tointeger(L_, d + 4))};
      SpecReader spec(L_, d + 5, kind == "settings" ? "settings" : kind + " '" + name + "'", loc);
      if (kind == "provider") provider(name, spec);
      else if (kind == "model") model(name, spec);
      else if (kind == "team") team(name, spec);
      else if (kind == "route") route(name, spec);
      else if (kind == "guard") guard(name, spec);
      else settings(spec);
      lua_settop(L_, decls);
    }
    lua_pop(L_, 1);
  }

 private:
  // Stores a function field in the next slot; -1 when the field is absent.
  // Throws if it is neither absent nor a function (unless `other_ok`).
  int function_slot(SpecReader& spec, const char* key, bool other_ok) {
    const int t = spec.push(key);
    int slot = -1;
    if (t == LUA_TFUNCTION) {
      slot = out_.function_count++;
      lua_getfield(L_, LUA_REGISTRYINDEX, kFnsKey);
      lua_pushvalue(L_, -2);
      lua_rawseti(L_, -2, slot + 1);
      lua_pop(L_, 1);
    } else if (t != LUA_TNIL && !other_ok) {
      spec.fail(std::string("`") + key + "` must be a function, not a " + lua_typename(L_, t));
    }
    lua_pop(L_, 1);
    return slot;
  }

  // `when = { task = "classify", team = {"a", "b"}, pii = true, max_input_tokens = 2000 }`
  Matcher matcher(SpecReader& spec) {
    Matcher m;
    const int t = spec.push("when");
    if (t == LUA_TFUNCTION || t == LUA_TNIL) {
      lua_pop(L_, 1);
      return m;
    }
    if (t != LUA_TTABLE) spec.fail("`when` must be a table of conditions or a function(r, ctx)");
    const int w = lua_gettop(L_);
    lua_pushnil(L_);
    while (lua_next(L_, w)) {
      if (lua_type(L_, -2) != LUA_TSTRING)
        spec.fail("`when` takes named conditions, e.g. when = { task = \"classify\" }");
      const std::string key = lua_tostring(L_, -2);
      if (key == "min_input_tokens" || key == "max_input_tokens") {
        if (!lua_isinteger(L_, -1) || lua_tointeger(L_, -1) < 0)
          spec.fail("`when." + key + "` must be a whole number of tokens");
        (key == "min_input_tokens" ? m.min_input_tokens : m.max_input_tokens) = lua_tointeger(L_, -1);
        lua_pop(L_, 1);
        continue;
      }
      Matcher::Clause c;
      c.key = key;
      c.field = key == "team"     ? Matcher::Field::team
                : key == "user"   ? Matcher::Field::user
                : key == "stream" ? Matcher::Field::stream
                                  : Matcher::Field::tag;
      const int vt = lua_type(L_, -1);
      if (vt == LUA_TBOOLEAN && c.field == Matcher::Field::stream) {
        c.values.emplace_back(lua_toboolean(L_, -1) ? "true" : "false");
      } else if (vt == LUA_TBOOLEAN) {
        c.test = lua_toboolean(L_, -1) ? Matcher::Test::present : Matcher::Test::absent;
      } else if (vt == LUA_TSTRING || vt == LUA_TNUMBER) {
        lua_pushvalue(L_, -1);  // tostring on a copy: lua_next needs the key intact
        c.values.emplace_back(lua_tostring(L_, -1));
        lua_pop(L_, 1);
      } else if (vt == LUA_TTABLE) {
        const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L_, -1));
        for (lua_Integer i = 1; i <= n; ++i) {
          if (lua_rawgeti(L_, -1, i) != LUA_TSTRING)
            spec.fail("`when." + key + "` must be a list of strings");
          c.values.emplace_back(lua_tostring(L_, -1));
          lua_pop(L_, 1);
        }
        if (c.values.empty()) spec.fail("`when." + key + "` is an empty list: it could never match");
      } else {
        spec.fail("`when." + key + "` must be a string, a list of strings, or true/false");
      }
      m.clauses.push_back(std::move(c));
      lua_pop(L_, 1);
    }
    lua_pop(L_, 1);
    // Cheapest clauses first would be nice; order as written keeps the
    // trace predictable, and every clause is a map look-up anyway.
    return m;
  }

  void provider(const std::string& name, SpecReader& spec) {
    ProviderDecl d;
    d.name = name;
    d.loc = spec.loc();
    if (auto api = spec.string("api")) {
      if (*api != "openai" && *api != "anthropic")
        spec.fail("`api` must be \"openai\" or \"anthropic\", not \"" + *api + "\"");
      d.api = *api;
    }
    d.base_url = spec.string("base_url").value_or("");
    if (!d.base_url.empty() && d.base_url.rfind("http://", 0) != 0 && d.base_url.rfind("https://", 0) != 0)
      spec.fail("`base_url` must start with http:// or https://");
    if (adapters::has_space_or_control_char(d.base_url))
      spec.fail("`base_url` may not hold spaces or control characters");
    d.key_env = spec.string("key_env").value_or("");
    if (spec.has("key") || spec.has("api_key"))
      spec.fail("API keys do not belong in policy files; name an environment variable with `key_env`");
    d.headers = spec.string_map("headers");
    for (const auto& [header, value] : d.headers)
      if (auto problem = adapters::configured_header_problem(header, value); !problem.empty()) spec.fail(problem);
    d.labels = spec.labels("labels");
    d.pool_size = spec.integer("pool_size").value_or(0);
    d.connect_timeout_ms = spec.duration_ms("connect_timeout").value_or(0);
    d.first_byte_timeout_ms = spec.duration_ms("first_byte_timeout").value_or(0);
    d.idle_timeout_ms = spec.duration_ms("idle_timeout").value_or(0);
    d.total_timeout_ms = spec.duration_ms("total_timeout").value_or(0);
    d.max_retries = spec.integer("max_retries").value_or(-1);
    if (spec.has("max_retries") && (d.max_retries < 0 || d.max_retries > 100))
      spec.fail("`max_retries` must be a whole number from 0 to 100 (retries of one candidate before the next)");
    d.ca_file = spec.string("ca_file").value_or("");
    d.caps = spec.caps();
    spec.finish({"api", "base_url", "key_env", "headers", "labels", "pool_size", "connect_timeout",
                 "first_byte_timeout", "idle_timeout", "total_timeout", "max_retries", "ca_file",
                 "hourly_usd", "daily_usd", "monthly_usd", "rolling_24h_usd"});
    out_.providers.push_back(std::move(d));
  }

  void model(const std::string& id, SpecReader& spec) {
    ModelDecl d;
    d.id = id;
    d.loc = spec.loc();
    d.provider = spec.string("provider");
    d.upstream = spec.string("upstream");
    auto price = [&](const char* key) {
      auto v = spec.number(key);
      if (v && *v < 0) spec.fail(std::string("`") + key + "` is a price in USD per million tokens, >= 0");
      return v;
    };
    d.input_usd_mtok = price("input");
    d.cached_input_usd_mtok = price("cached_input");
    d.output_usd_mtok = price("output");
    d.context_window = spec.integer("context_window");
    d.max_output = spec.integer("max_output");
    d.labels = spec.labels("labels");
    const int t = spec.push("quality");
    if (t == LUA_TNUMBER) {
      d.quality["default"] = lua_tonumber(L_, -1);
    } else if (t == LUA_TTABLE) {
      lua_pushnil(L_);
      while (lua_next(L_, -2)) {
        if (lua_type(L_, -2) != LUA_TSTRING || lua_type(L_, -1) != LUA_TNUMBER)
          spec.fail("`quality` must be a score or { task = score, ... }");
        d.quality[lua_tostring(L_, -2)] = lua_tonumber(L_, -1);
        lua_pop(L_, 1);
      }
    } else if (t != LUA_TNIL) {
      spec.fail("`quality` must be a score or { task = score, ... }");
    }
    lua_pop(L_, 1);
    for (const auto& [task, q] : d.quality)
      if (!(q >= 0 && q <= 1)) spec.fail("quality for '" + task + "' must be between 0 and 1");
    spec.finish({"provider", "upstream", "input", "cached_input", "output", "context_window",
                 "max_output", "labels", "quality"});
    out_.models.push_back(std::move(d));
  }

  void team(const std::string& name, SpecReader& spec) {
    TeamDecl d;
    d.name = name;
    d.loc = spec.loc();
    d.caps = spec.caps();
    d.on_exceed = spec.string("on_exceed").value_or("deny");
    if (d.on_exceed != "deny" && d.on_exceed != "downgrade")
      spec.fail("`on_exceed` must be \"deny\" or \"downgrade\", not \"" + d.on_exceed + "\"");
    d.downgrade_route = spec.string("downgrade").value_or("");
    if (d.on_exceed == "downgrade" && d.downgrade_route.empty())
      spec.fail("on_exceed = \"downgrade\" needs `downgrade = \"<route name>\"`");
    d.soft_limit = spec.number("soft_limit").value_or(0.8);
    if (!(d.soft_limit > 0 && d.soft_limit <= 1)) spec.fail("`soft_limit` must be in (0, 1]");
    d.require = spec.requirements("require");
    const int t = spec.push("users");
    if (t == LUA_TTABLE) {
      const int users = lua_gettop(L_);
      lua_pushnil(L_);
      while (lua_next(L_, users)) {
        if (lua_type(L_, -2) != LUA_TSTRING || lua_type(L_, -1) != LUA_TTABLE)
          spec.fail("`users` must be { [\"user\"] = { daily_usd = ... }, ... }");
        const std::string user = lua_tostring(L_, -2);
        SpecReader u(L_, -1, spec.what() + " user '" + user + "'", spec.loc());
        d.user_caps[user] = u.caps();
        u.finish({"hourly_usd", "daily_usd", "monthly_usd", "rolling_24h_usd"});
        lua_pop(L_, 1);
      }
    } else if (t != LUA_TNIL) {
      spec.fail("`users` must be a table");
    }
    lua_pop(L_, 1);
    spec.finish({"hourly_usd", "daily_usd", "monthly_usd", "rolling_24h_usd", "on_exceed",
                 "downgrade", "soft_limit", "require", "users"});
    out_.teams.push_back(std::move(d));
  }

  void route(const std::string& name, SpecReader& spec) {
    RouteDecl d;
    d.name = name;
    d.loc = spec.loc();
    d.when = matcher(spec);
    d.when_fn = function_slot(spec, "when", /*other_ok=*/true);
    d.try_models = spec.string_list("try");
    d.select_fn = function_slot(spec, "select", false);
    const int ct = spec.push("cache");
    if (ct == LUA_TBOOLEAN) {
      d.cache.enabled = lua_toboolean(L_, -1) != 0;
      d.cache.ttl_ms = 3'600'000;
    } else if (ct == LUA_TTABLE) {
      SpecReader c(L_, -1, spec.what() + " cache", spec.loc());
      d.cache.enabled = c.boolean("enabled").value_or(true);
      d.cache.ttl_ms = c.duration_ms("ttl").value_or(3'600'000);
      const std::string scope = c.string("scope").value_or("team");
      if (scope != "team" && scope != "shared")
        c.fail("`scope` must be \"team\" (default) or \"shared\"");
      d.cache.shared = scope == "shared";
      c.finish({"enabled", "ttl", "scope"});
    } else if (ct != LUA_TNIL) {
      spec.fail("`cache` must be true/false or { ttl = \"1h\", scope = \"team\" }");
    }
    lua_pop(L_, 1);
    d.max_usd_nanos = spec.usd_nanos("max_usd");
    d.min_quality = spec.number("min_quality");
    if (d.min_quality && !(*d.min_quality >= 0 && *d.min_quality <= 1))
      spec.fail("`min_quality` must be between 0 and 1");
    const std::string on_error = spec.string("on_error").value_or("fail");
    if (on_error != "fail" && on_error != "next")
      spec.fail("`on_error` must be \"fail\" or \"next\", not \"" + on_error + "\"");
    d.on_error_next = on_error == "next";
    d.require = spec.requirements("require");
    d.caps = spec.caps();
    spec.finish({"when", "try", "select", "cache", "max_usd", "min_quality", "on_error", "require",
                 "hourly_usd", "daily_usd", "monthly_usd", "rolling_24h_usd"});
    if (d.try_models.empty() && d.select_fn < 0)
      spec.fail("has no candidates: give it `try = { \"model\", ... }` or `select = function(r, ctx)`");
    if (!d.try_models.empty() && d.select_fn >= 0)
      spec.fail("has both `try` and `select`; use one (select may return the fallbacks too)");
    out_.routes.push_back(std::move(d));
  }

  void guard(const std::string& name, SpecReader& spec) {
    GuardDecl d;
    d.name = name;
    d.loc = spec.loc();
    d.when = matcher(spec);
    d.when_fn = function_slot(spec, "when", true);
    d.require = spec.requirements("require");
    spec.finish({"when", "require"});
    if (d.require.empty()) spec.fail("needs `require = { \"label\", ... }`");
    out_.guards.push_back(std::move(d));
  }

  void settings(SpecReader& spec) {
    if (auto v = spec.string("on_ledger_error")) {
      if (*v != "deny" && *v != "allow") spec.fail("`on_ledger_error` must be \"deny\" or \"allow\"");
      out_.settings.on_ledger_error = *v;
    }
    if (auto v = spec.string("default_task")) out_.settings.default_task = *v;
    spec.finish({"on_ledger_error", "default_task"});
  }

  lua_State* L_;
  PolicyDecls& out_;
};

// Cross-declaration checks that need no catalog (the engine checks models).
Result<void> validate(const PolicyDecls& d) {
  auto err = [](const SourceLoc& loc, const std::string& msg) {
    return Error(ErrorCategory::policy, loc.str() + ": " + msg);
  };
  if (d.routes.empty())
    return Error(ErrorCategory::policy,
                 "the policy declares no route; add at least route \"default\" { try = { ... } }");
  auto unique = [&](const auto& items, const char* kind) -> Result<void> {
    std::map<std::string, const SourceLoc*> seen;
    for (const auto& it : items) {
      auto [pos, fresh] = seen.emplace(it.name, &it.loc);
      if (!fresh)
        return err(it.loc, std::string(kind) + " '" + it.name + "' is declared twice (first at " +
                               pos->second->str() + ")");
    }
    return {};
  };
  if (auto r = unique(d.routes, "route"); !r.ok()) return r;
  if (auto r = unique(d.teams, "team"); !r.ok()) return r;
  if (auto r = unique(d.providers, "provider"); !r.ok()) return r;
  if (auto r = unique(d.guards, "guard"); !r.ok()) return r;
  for (const auto& t : d.teams) {
    if (t.downgrade_route.empty()) continue;
    const bool found = std::any_of(d.routes.begin(), d.routes.end(),
                                   [&](const RouteDecl& r) { return r.name == t.downgrade_route; });
    if (!found) return err(t.loc, "team '" + t.name + "': downgrade route '" + t.downgrade_route +
                                      "' is not declared");
  }
  return {};
}

uint64_t next_program_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

std::string display_name(const std::string& path) {
  return fs::path(path).filename().string();
}

Result<std::vector<PolicySource>> read_policy_sources(const std::vector<std::string>& paths) {
  if (paths.empty()) return Error(ErrorCategory::config, "no policy given (Options::policy_paths is empty)");
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        const std::string name = e.path().filename().string();
        const bool lua = name.size() > 4 && name.ends_with(".lua");
        if (lua && !name.ends_with("_test.lua") && e.is_regular_file()) found.push_back(e.path().string());
      }
      if (ec) return Error(ErrorCategory::config, p + ": cannot list the directory: " + ec.message());
      std::sort(found.begin(), found.end());
      if (found.empty()) return Error(ErrorCategory::config, p + ": no policy (*.lua) files in this directory");
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(p);
    }
  }
  std::vector<PolicySource> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Error(ErrorCategory::config, f + ": cannot read the policy file");
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back({f, ss.str()});
  }
  return out;
}

Result<void> instantiate_policy(LuaSandbox& sandbox, const PolicyProgram& program, PolicyDecls* decls) {
  if (auto r = sandbox.evaluate([&](lua_State* S) { install_declaration_verbs(sandbox, S); }); !r.ok())
    return r;
  for (const auto& src : program.sources) {
    const std::string name = display_name(src.path);
    if (auto r = sandbox.run_chunk(src.text, "@" + name); !r.ok()) {
      // Lua places its own errors ("file:line: ..."); a memory error has no
      // place, so it names at least the file it stopped.
      if (r.error().message().rfind(name + ":", 0) == 0) return r;
      return Error(r.error().category(), name + ": " + r.error().message());
    }
  }
  PolicyDecls local;
  PolicyDecls& out = decls ? *decls : local;
  auto compile = [&](lua_State* S) {
    Compiler(S, out).compile_all();
    // Compiled: the tables can go, and declaring from a function later fails.
    lua_pushnil(S);
    lua_setfield(S, LUA_REGISTRYINDEX, kDeclsKey);
  };
  if (auto r = sandbox.evaluate(compile); !r.ok()) return r;
  // From here on nothing an evaluation does reaches the next one.
  return sandbox.freeze(kFnsKey);
}

void push_function(lua_State* L, int slot) {
  lua_getfield(L, LUA_REGISTRYINDEX, kFnsKey);
  lua_rawgeti(L, -1, slot + 1);
  lua_remove(L, -2);
}

Result<LoadedPolicy> load_policy(std::vector<PolicySource> sources, SandboxLimits limits) {
  auto program = std::make_shared<PolicyProgram>();
  program->sources = std::move(sources);
  program->limits = limits;
  program->id = next_program_id();
  LoadedPolicy loaded;
  LuaSandbox sandbox(limits);
  if (auto r = instantiate_policy(sandbox, *program, &loaded.decls); !r.ok()) return r.error();
  if (auto r = validate(loaded.decls); !r.ok()) return r.error();
  program->function_count = loaded.decls.function_count;
  loaded.program = std::move(program);
  return loaded;
}

}  // namespace tollgate::dsl
