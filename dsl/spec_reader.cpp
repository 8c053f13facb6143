#include "dsl/spec_reader.hpp"

#include <cmath>
#include <stdexcept>

#include <lua.hpp>

#include "dsl/duration.hpp"

namespace tollgate::dsl {
namespace {

std::string type_name(lua_State* L, int index) { return luaL_typename(L, index); }

// A Lua value as text for a label or tag value: strings as they are,
// booleans and numbers spelled out.
std::optional<std::string> scalar_text(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: return std::string(lua_tostring(L, index));
    case LUA_TBOOLEAN: return std::string(lua_toboolean(L, index) ? "true" : "false");
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) return std::to_string(lua_tointeger(L, index));
      return std::to_string(lua_tonumber(L, index));
    default: return std::nullopt;
  }
}

}  // namespace

std::string SourceLoc::str() const { return file + ":" + std::to_string(line); }

bool LabelRequirement::satisfied_by(const Labels& labels) const {
  auto it = labels.find(label);
  if (it == labels.end()) return false;
  return value.empty() ? it->second != "false" : it->second == value;
}

std::string LabelRequirement::str() const { return value.empty() ? label : label + "=" + value; }

SpecReader::SpecReader(lua_State* L, int index, std::string what, SourceLoc loc)
    : L_(L), index_(lua_absindex(L, index)), what_(std::move(what)), loc_(std::move(loc)) {}

void SpecReader::fail(const std::string& message) const {
  throw std::runtime_error(loc_.str() + ": " + what_ + ": " + message);
}

int SpecReader::push(const char* key) {
  seen_.insert(key);
  lua_pushstring(L_, key);
  return lua_rawget(L_, index_);
}

bool SpecReader::has(const char* key) {
  const bool present = push(key) != LUA_TNIL;
  lua_pop(L_, 1);
  return present;
}

std::optional<std::string> SpecReader::string(const char* key) {
  const int t = push(key);
  std::optional<std::string> out;
  if (t == LUA_TSTRING) out = lua_tostring(L_, -1);
  lua_pop(L_, 1);
  if (t != LUA_TNIL && t != LUA_TSTRING)
    fail(std::string("`") + key + "` must be a string, not a " + lua_typename(L_, t));
  return out;
}

std::optional<double> SpecReader::number(const char* key) {
  const int t = push(key);
  std::optional<double> out;
  if (t == LUA_TNUMBER) out = lua_tonumber(L_, -1);
  lua_pop(L_, 1);
  if (t != LUA_TNIL && t != LUA_TNUMBER)
    fail(std::string("`") + key + "` must be a number, not a " + lua_typename(L_, t));
  if (out && !std::isfinite(*out)) fail(std::string("`") + key + "` must be a finite number");
  return out;
}

std::optional<int64_t> SpecReader::integer(const char* key) {
  auto n = number(key);
  if (!n) return std::nullopt;
  if (*n != std::floor(*n) || *n < 0 || *n > 9e15)
    fail(std::string("`") + key + "` must be a whole number >= 0");
  return static_cast<int64_t>(*n);
}

std::optional<bool> SpecReader::boolean(const char* key) {
  const int t = push(key);
  std::optional<bool> out;
  if (t == LUA_TBOOLEAN) out = lua_toboolean(L_, -1) != 0;
  lua_pop(L_, 1);
  if (t != LUA_TNIL && t != LUA_TBOOLEAN)
    fail(std::string("`") + key + "` must be true or false, not a " + lua_typename(L_, t));
  return out;
}

std::optional<int64_t> SpecReader::duration_ms(const char* key) {
  const int t = push(key);
  std::optional<int64_t> out;
  if (t == LUA_TNUMBER) {
    const double s = lua_tonumber(L_, -1);
    if (s >= 0 && s < 9e12) out = static_cast<int64_t>(std::llround(s * 1000));
  } else if (t == LUA_TSTRING) {
    out = parse_duration_ms(lua_tostring(L_, -1));
  }
  lua_pop(L_, 1);
  if (t != LUA_TNIL && !out)
    fail(std::string("`") + key + "` must be a duration such as \"500ms\", \"30s\", \"10m\", \"1h\" or \"7d\"");
  return out;
}

std::optional<int64_t> SpecReader::usd_nanos(const char* key) {
  auto usd = number(key);
  if (!usd) return std::nullopt;
  if (*usd < 0 || *usd > 9e9) fail(std::string("`") + key + "` must be a USD amount >= 0");
  return static_cast<int64_t>(std::llround(*usd * 1e9));
}

std::vector<std::string> SpecReader::string_list(const char* key) {
  std::vector<std::string> out;
  const int t = push(key);
  if (t == LUA_TSTRING) {
    out.emplace_back(lua_tostring(L_, -1));
  } else if (t == LUA_TTABLE) {
    const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L_, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      if (lua_rawgeti(L_, -1, i) != LUA_TSTRING)
        fail(std::string("`") + key + "[" + std::to_string(i) + "]` must be a string, not a " +
             type_name(L_, -1));
      out.emplace_back(lua_tostring(L_, -1));
      lua_pop(L_, 1);
    }
  } else if (t != LUA_TNIL) {
    fail(std::string("`") + key + "` must be a list of strings, not a " + lua_typename(L_, t));
  }
  lua_pop(L_, 1);
  return out;
}

std::map<std::string, std::string> SpecReader::string_map(const char* key) {
  std::map<std::string, std::string> out;
  const int t = push(key);
  if (t == LUA_TTABLE) {
    lua_pushnil(L_);
    while (lua_next(L_, -2)) {
      auto v = scalar_text(L_, -1);
      if (lua_type(L_, -2) != LUA_TSTRING || !v)
        fail(std::string("`") + key + "` must map names to strings");
      out[lua_tostring(L_, -2)] = *v;
      lua_pop(L_, 1);
    }
  } else if (t != LUA_TNIL) {
    fail(std::string("`") + key + "` must be a table of name = value");
  }
  lua_pop(L_, 1);
  return out;
}

Labels SpecReader::labels(const char* key) {
  Labels out;
  const int t = push(key);
  if (t == LUA_TTABLE) {
    lua_pushnil(L_);
    while (lua_next(L_, -2)) {
      if (lua_type(L_, -2) == LUA_TNUMBER && lua_type(L_, -1) == LUA_TSTRING) {
        out[lua_tostring(L_, -1)] = "true";  // list form: { "pii_ok", "eu" }
      } else {
        auto v = scalar_text(L_, -1);
        if (lua_type(L_, -2) != LUA_TSTRING || !v)
          fail(std::string("`") + key + "` must be { name = value } or a list of names");
        out[lua_tostring(L_, -2)] = *v;
      }
      lua_pop(L_, 1);
    }
  } else if (t != LUA_TNIL) {
    fail(std::string("`") + key + "` must be a table of labels");
  }
  lua_pop(L_, 1);
  return out;
}

std::vector<LabelRequirement> SpecReader::requirements(const char* key) {
  std::vector<LabelRequirement> out;
  // `require = { "pii_ok", region = "eu" }` or `require = "pii_ok"`.
  const int t = push(key);
  if (t == LUA_TSTRING) {
    out.push_back({lua_tostring(L_, -1), ""});
  } else if (t == LUA_TTABLE) {
    lua_pushnil(L_);
    while (lua_next(L_, -2)) {
      if (lua_type(L_, -2) == LUA_TNUMBER && lua_type(L_, -1) == LUA_TSTRING) {
        std::string s = lua_tostring(L_, -1);
        auto eq = s.find('=');
        if (eq == std::string::npos) out.push_back({s, ""});
        else out.push_back({s.substr(0, eq), s.substr(eq + 1)});
      } else if (lua_type(L_, -2) == LUA_TSTRING && lua_type(L_, -1) == LUA_TBOOLEAN) {
        std::string label = lua_tostring(L_, -2);
        out.push_back({label, lua_toboolean(L_, -1) ? "" : "false"});
      } else if (auto v = scalar_text(L_, -1); lua_type(L_, -2) == LUA_TSTRING && v) {
        out.push_back({lua_tostring(L_, -2), *v});
      } else {
        fail(std::string("`") + key + "` must list labels: { \"pii_ok\", region = \"eu\" }");
      }
      lua_pop(L_, 1);
    }
  } else if (t != LUA_TNIL) {
    fail(std::string("`") + key + "` must be a label name or a table of labels");
  }
  lua_pop(L_, 1);
  return out;
}

std::vector<CapDecl> SpecReader::caps() {
  std::vector<CapDecl> out;
  static constexpr std::pair<const char*, const char*> kWindows[] = {
      {"hourly_usd", "hour"}, {"daily_usd", "day"}, {"monthly_usd", "month"},
      {"rolling_24h_usd", "rolling_24h"}};
  for (auto [key, window] : kWindows)
    if (auto n = usd_nanos(key)) out.push_back({window, *n});
  return out;
}

void SpecReader::finish(const std::vector<std::string>& allowed_hint) {
  lua_pushnil(L_);
  while (lua_next(L_, index_)) {
    lua_pop(L_, 1);
    std::string key;
    if (lua_type(L_, -1) == LUA_TSTRING) {
      key = lua_tostring(L_, -1);
    } else {
      lua_pop(L_, 1);
      fail("has a positional value; declarations take named fields (name = value)");
    }
    if (!seen_.count(key)) {
      std::string list;
      for (const auto& a : allowed_hint) list += (list.empty() ? "" : ", ") + a;
      lua_pop(L_, 1);
      fail("unknown field `" + key + "` (known fields: " + list + ")");
    }
  }
}

}  // namespace tollgate::dsl
