#include "dsl/lua_json.hpp"

#include <lua.hpp>

namespace tollgate::dsl {
namespace {

constexpr int kMaxDepth = 32;

void push_value(lua_State* L, const nlohmann::json& v, int depth) {
  if (depth > kMaxDepth) luaL_error(L, "JSON nested deeper than %d levels", kMaxDepth);
  luaL_checkstack(L, 4, "JSON value");
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::object:
      lua_createtable(L, 0, static_cast<int>(v.size()));
      for (auto it = v.begin(); it != v.end(); ++it) {
        push_value(L, it.value(), depth + 1);
        lua_setfield(L, -2, it.key().c_str());
      }
      break;
    case T::array: {
      lua_createtable(L, static_cast<int>(v.size()), 0);
      lua_Integer i = 1;
      for (const auto& e : v) {
        push_value(L, e, depth + 1);
        lua_rawseti(L, -2, i++);
      }
      break;
    }
    case T::string: {
      const auto& s = v.get_ref<const std::string&>();
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case T::boolean: lua_pushboolean(L, v.get<bool>()); break;
    case T::number_integer: lua_pushinteger(L, v.get<int64_t>()); break;
    case T::number_unsigned: lua_pushinteger(L, static_cast<lua_Integer>(v.get<uint64_t>())); break;
    case T::number_float: lua_pushnumber(L, v.get<double>()); break;
    default: lua_pushnil(L); break;
  }
}

nlohmann::json value_at(lua_State* L, int index, int depth) {
  if (depth > kMaxDepth) luaL_error(L, "table nested deeper than %d levels", kMaxDepth);
  index = lua_absindex(L, index);
  switch (lua_type(L, index)) {
    case LUA_TNIL: return nullptr;
    case LUA_TBOOLEAN: return lua_toboolean(L, index) != 0;
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) return static_cast<int64_t>(lua_tointeger(L, index));
      return lua_tonumber(L, index);
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, index, &n);
      return std::string(s, n);
    }
    case LUA_TTABLE: {
      luaL_checkstack(L, 4, "table");
      const auto n = static_cast<lua_Integer>(lua_rawlen(L, index));
      lua_Integer count = 0;
      lua_pushnil(L);
      while (lua_next(L, index)) {
        ++count;
        lua_pop(L, 1);
      }
      if (n > 0 && count == n) {
        nlohmann::json arr = nlohmann::json::array();
        for (lua_Integer i = 1; i <= n; ++i) {
          lua_rawgeti(L, index, i);
          arr.push_back(value_at(L, -1, depth + 1));
          lua_pop(L, 1);
        }
        return arr;
      }
      nlohmann::json obj = nlohmann::json::object();
      lua_pushnil(L);
      while (lua_next(L, index)) {
        if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "a JSON object needs string keys");
        obj[lua_tostring(L, -2)] = value_at(L, -1, depth + 1);
        lua_pop(L, 1);
      }
      return obj;
    }
    default:
      luaL_error(L, "a %s cannot be sent as JSON", luaL_typename(L, index));
      return nullptr;
  }
}

}  // namespace

void push_json(lua_State* L, const nlohmann::json& value) { push_value(L, value, 0); }

nlohmann::json to_json(lua_State* L, int index) { return value_at(L, index, 0); }

}  // namespace tollgate::dsl
