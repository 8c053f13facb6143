// Converting between Lua values and JSON, for the request view (r.body) and
// the policy test runner (decide{ messages = {...} }). Call inside
// LuaSandbox::evaluate: errors are Lua errors.
#pragma once

#include <nlohmann/json.hpp>

struct lua_State;

namespace tollgate::dsl {

// Pushes `value` as Lua tables and scalars (null becomes nil).
void push_json(lua_State* L, const nlohmann::json& value);

// The Lua value at `index` as JSON: a table with keys 1..n is an array, any
// other table an object with string keys.
nlohmann::json to_json(lua_State* L, int index);

}  // namespace tollgate::dsl
