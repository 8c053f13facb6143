// The `r` (request) and `ctx` (context) objects policy functions receive.
//
// Both are userdata created once per sandbox and pointed at the current
// call's CallState; between calls the state's pointers are null, so a view a
// policy stashed away raises "used after its request ended" instead of
// reading freed memory.
#pragma once

#include <string>

#include "dsl/host_context.hpp"

struct lua_State;

namespace tollgate::dsl {

struct CallState {
  const RequestFacts* facts = nullptr;
  const HostContext* host = nullptr;
  // Lazily built per call: all message text, and the last user message.
  std::string text, last_user_text;
  bool text_ready = false;

  void begin(const RequestFacts& f, const HostContext& h) {
    facts = &f;
    host = &h;
    text_ready = false;
  }
  void end() {
    facts = nullptr;
    host = nullptr;
    text.clear();
    last_user_text.clear();
  }
};

// Creates the two views over `state` and keeps them in the registry.
// Call inside LuaSandbox::evaluate.
void install_views(lua_State* L, CallState* state);
// Pushes r then ctx.
void push_views(lua_State* L);

}  // namespace tollgate::dsl
