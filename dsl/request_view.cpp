#include "dsl/request_view.hpp"

#include "dsl/lua_json.hpp"

#include <nlohmann/json.hpp>

#include <lua.hpp>

namespace tollgate::dsl {
namespace {

constexpr const char* kRequestMeta = "tollgate.request";
constexpr const char* kTagsMeta = "tollgate.tags";
constexpr const char* kContextMeta = "tollgate.context";
constexpr const char* kViewsKey = "tollgate.views";  // {r, ctx, tags}

CallState& live_state(lua_State* L, int index, const char* meta) {
  auto* slot = static_cast<CallState**>(luaL_checkudata(L, index, meta));
  CallState& st = **slot;
  if (!st.facts) luaL_error(L, "the request view was used after its request ended; do not keep `r` or `ctx`");
  return st;
}

void push_sv(lua_State* L, std::string_view s) { lua_pushlstring(L, s.data(), s.size()); }

void build_text(CallState& st) {
  if (st.text_ready) return;
  st.text_ready = true;
  const auto& body = st.facts->request->body;
  auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array()) return;
  for (const auto& m : *messages) {
    if (!m.is_object()) continue;
    auto c = m.find("content");
    if (c == m.end()) continue;
    std::string piece;
    if (c->is_string()) {
      piece = c->get<std::string>();
    } else if (c->is_array()) {
      for (const auto& part : *c)
        if (part.is_object())
          if (auto t = part.find("text"); t != part.end() && t->is_string()) piece += t->get<std::string>();
    }
    if (!st.text.empty()) st.text += '\n';
    st.text += piece;
    if (m.value("role", "") == "user") st.last_user_text = piece;
  }
}

int request_index(lua_State* L) {
  CallState& st = live_state(L, 1, kRequestMeta);
  const RequestFacts& f = *st.facts;
  const std::string_view key = luaL_checkstring(L, 2);
  if (key == "team") push_sv(L, f.request->team);
  else if (key == "user") push_sv(L, f.request->user);
  else if (key == "task") push_sv(L, f.task);
  else if (key == "input_tokens") lua_pushinteger(L, f.input_tokens);
  else if (key == "max_tokens") f.max_tokens > 0 ? lua_pushinteger(L, f.max_tokens) : lua_pushnil(L);
  else if (key == "stream") lua_pushboolean(L, f.request->stream);
  else if (key == "tags") {
    lua_getfield(L, LUA_REGISTRYINDEX, kViewsKey);
    lua_rawgeti(L, -1, 3);
  } else if (key == "text" || key == "last_user_text") {
    build_text(st);
    push_sv(L, key == "text" ? st.text : st.last_user_text);
  } else if (key == "message_count") {
    auto m = f.request->body.find("messages");
    lua_pushinteger(L, (m != f.request->body.end() && m->is_array()) ? static_cast<lua_Integer>(m->size()) : 0);
  } else if (key == "has_tools") {
    auto t = f.request->body.find("tools");
    lua_pushboolean(L, t != f.request->body.end() && t->is_array() && !t->empty());
  } else if (key == "body") {
    push_json(L, f.request->body);
  } else {
    return luaL_error(L, "r.%s: the request has no such field (fields: team, user, task, tags, "
                         "input_tokens, max_tokens, stream, text, last_user_text, message_count, "
                         "has_tools, body)", std::string(key).c_str());
  }
  return 1;
}

int tags_index(lua_State* L) {
  CallState& st = live_state(L, 1, kTagsMeta);
  const std::string_view key = luaL_checkstring(L, 2);
  const auto& tags = st.facts->request->tags;
  auto it = tags.find(key);
  if (it == tags.end()) lua_pushnil(L);
  else push_sv(L, it->second);
  return 1;
}

// pairs(r.tags): iterate the request's tags in name order.
int tags_next(lua_State* L) {
  CallState& st = live_state(L, 1, kTagsMeta);
  const auto& tags = st.facts->request->tags;
  auto it = lua_isnil(L, 2) ? tags.begin() : tags.upper_bound(std::string_view(luaL_checkstring(L, 2)));
  if (it == tags.end()) return 0;
  push_sv(L, it->first);
  push_sv(L, it->second);
  return 2;
}

int tags_pairs(lua_State* L) {
  live_state(L, 1, kTagsMeta);
  lua_pushcfunction(L, tags_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

int read_only(lua_State* L) {
  return luaL_error(L, "the request view is read-only (tried to set '%s')", luaL_tolstring(L, 2, nullptr));
}

// ctx:quality(model [, task]) -> { mean, count, error_rate, p50_ms, p95_ms } | nil
int ctx_quality(lua_State* L) {
  CallState& st = live_state(L, 1, kContextMeta);
  const std::string_view model = luaL_checkstring(L, 2);
  const std::string_view task = lua_isnoneornil(L, 3) ? st.facts->task : luaL_checkstring(L, 3);
  auto q = st.host->quality(model, task);
  if (!q) return lua_pushnil(L), 1;
  lua_createtable(L, 0, 5);
  lua_pushnumber(L, q->mean), lua_setfield(L, -2, "mean");
  lua_pushinteger(L, q->count), lua_setfield(L, -2, "count");
  lua_pushnumber(L, q->error_rate), lua_setfield(L, -2, "error_rate");
  lua_pushnumber(L, q->p50_ms), lua_setfield(L, -2, "p50_ms");
  lua_pushnumber(L, q->p95_ms), lua_setfield(L, -2, "p95_ms");
  return 1;
}

int ctx_healthy(lua_State* L) {
  CallState& st = live_state(L, 1, kContextMeta);
  lua_pushboolean(L, st.host->healthy(luaL_checkstring(L, 2)));
  return 1;
}

// ctx:spend(window) -> { spent_usd, reserved_usd, cap_usd, remaining_usd } for
// the requesting team only: a policy never reads another team's spend.
int ctx_spend(lua_State* L) {
  CallState& st = live_state(L, 1, kContextMeta);
  const std::string_view window = luaL_checkstring(L, 2);
  auto s = st.host->spend(st.facts->request->team, window);
  if (!s) return lua_pushnil(L), 1;
  lua_createtable(L, 0, 4);
  lua_pushnumber(L, static_cast<double>(s->spent_nanos) / 1e9), lua_setfield(L, -2, "spent_usd");
  lua_pushnumber(L, static_cast<double>(s->reserved_nanos) / 1e9), lua_setfield(L, -2, "reserved_usd");
  if (s->cap_nanos >= 0) {
    lua_pushnumber(L, static_cast<double>(s->cap_nanos) / 1e9), lua_setfield(L, -2, "cap_usd");
    const int64_t left = s->cap_nanos - s->spent_nanos - s->reserved_nanos;
    lua_pushnumber(L, static_cast<double>(left > 0 ? left : 0) / 1e9), lua_setfield(L, -2, "remaining_usd");
  }
  return 1;
}

int ctx_model(lua_State* L) {
  CallState& st = live_state(L, 1, kContextMeta);
  auto m = st.host->model(luaL_checkstring(L, 2));
  if (!m) return lua_pushnil(L), 1;
  lua_createtable(L, 0, 6);
  push_sv(L, m->provider), lua_setfield(L, -2, "provider");
  auto price = [&](double v, const char* k) {
    if (v >= 0) lua_pushnumber(L, v), lua_setfield(L, -2, k);
  };
  price(m->input_usd_mtok, "input");
  price(m->cached_input_usd_mtok, "cached_input");
  price(m->output_usd_mtok, "output");
  if (m->context_window) lua_pushinteger(L, m->context_window), lua_setfield(L, -2, "context_window");
  if (m->max_output) lua_pushinteger(L, m->max_output), lua_setfield(L, -2, "max_output");
  return 1;
}

// ctx:cost(model) -> worst-case USD of this request on that model, or nil.
int ctx_cost(lua_State* L) {
  CallState& st = live_state(L, 1, kContextMeta);
  const int64_t n = st.host->estimate_cost_nanos(luaL_checkstring(L, 2));
  if (n < 0) return lua_pushnil(L), 1;
  lua_pushnumber(L, static_cast<double>(n) / 1e9);
  return 1;
}

void new_view(lua_State* L, CallState* state, const char* meta) {
  // The userdata holds just the pointer; the state lives in the evaluator.
  *static_cast<CallState**>(lua_newuserdatauv(L, sizeof(CallState*), 0)) = state;  // NOLINT(bugprone-sizeof-expression)
  luaL_setmetatable(L, meta);
}

}  // namespace

void install_views(lua_State* L, CallState* state) {
  luaL_newmetatable(L, kRequestMeta);
  lua_pushcfunction(L, request_index), lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, read_only), lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "locked"), lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  luaL_newmetatable(L, kTagsMeta);
  lua_pushcfunction(L, tags_index), lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, read_only), lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, tags_pairs), lua_setfield(L, -2, "__pairs");
  lua_pushliteral(L, "locked"), lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  luaL_newmetatable(L, kContextMeta);
  static const luaL_Reg methods[] = {{"quality", ctx_quality}, {"healthy", ctx_healthy},
                                     {"spend", ctx_spend},     {"model", ctx_model},
                                     {"cost", ctx_cost},       {nullptr, nullptr}};
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, read_only), lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "locked"), lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  lua_createtable(L, 3, 0);
  new_view(L, state, kRequestMeta), lua_rawseti(L, -2, 1);
  new_view(L, state, kContextMeta), lua_rawseti(L, -2, 2);
  new_view(L, state, kTagsMeta), lua_rawseti(L, -2, 3);
  lua_setfield(L, LUA_REGISTRYINDEX, kViewsKey);
}

void push_views(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kViewsKey);
  lua_rawgeti(L, -1, 1);
  lua_rawgeti(L, -2, 2);
  lua_remove(L, -3);
}

}  // namespace tollgate::dsl
