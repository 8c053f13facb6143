// Reads one declaration's table (`route "x" { ... }`) into C++ values with
// type checks, and reports fields nobody asked for, so a typo like `tyr =`
// is an error at load instead of a silently ignored line.
//
// Used only inside LuaSandbox::evaluate (errors are thrown as
// std::runtime_error carrying "file:line: <decl>: message").
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dsl/declarations.hpp"

struct lua_State;

namespace tollgate::dsl {

class SpecReader {
 public:
  // `index`: the table on the stack. `what`: "route 'classify'".
  SpecReader(lua_State* L, int index, std::string what, SourceLoc loc);

  [[noreturn]] void fail(const std::string& message) const;

  bool has(const char* key);
  std::optional<std::string> string(const char* key);
  std::optional<double> number(const char* key);
  std::optional<int64_t> integer(const char* key);
  std::optional<bool> boolean(const char* key);
  std::optional<int64_t> duration_ms(const char* key);
  std::optional<int64_t> usd_nanos(const char* key);  // a positive USD amount
  std::vector<std::string> string_list(const char* key);
  std::map<std::string, std::string> string_map(const char* key);
  Labels labels(const char* key);
  std::vector<LabelRequirement> requirements(const char* key);
  std::vector<CapDecl> caps();  // hourly_usd, daily_usd, monthly_usd
  // Pushes the field and returns its Lua type (the caller pops it).
  int push(const char* key);

  // Throws if the table has a field none of the calls above asked for.
  void finish(const std::vector<std::string>& allowed_hint);

  lua_State* state() const { return L_; }
  int index() const { return index_; }
  const SourceLoc& loc() const { return loc_; }
  const std::string& what() const { return what_; }

 private:
  lua_State* L_;
  int index_;
  std::string what_;
  SourceLoc loc_;
  std::set<std::string> seen_;
};

}  // namespace tollgate::dsl
