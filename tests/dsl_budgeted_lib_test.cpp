// The sandbox's own string.find / match / gmatch / gsub / rep and table.move
// (dsl/lua_budgeted_lib.cpp) must answer exactly as Lua 5.4's do: each
// probe runs in a stock Lua state and in a sandbox, and the results (values
// and error messages alike) must be the same.
#include <string>

#include <catch2/catch.hpp>
#include <lua.hpp>

#include "dsl/lua_sandbox.hpp"

using tollgate::dsl::LuaSandbox;
using tollgate::dsl::SandboxLimits;

namespace {

// Every result as "type:value", joined by '|'; a table as its array part.
const char* kPack = R"(
local function show(v)
  if type(v) == "table" then
    local parts = {}
    for i = 1, #v do parts[i] = tostring(v[i]) end
    return "table:" .. table.concat(parts, ",")
  end
  return type(v) .. ":" .. tostring(v)
end
local function pack(...)
  local out = {}
  for i = 1, select("#", ...) do out[i] = show((select(i, ...))) end
  return table.concat(out, "|")
end
)";

std::string probe_source(const std::string& expr, const char* assign) {
  return std::string(kPack) + assign + " pack(pcall(function() return " + expr + " end))";
}

std::string run_stock(const std::string& expr) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  const std::string src = probe_source(expr, "return");
  std::string out = "<did not run>";
  if (luaL_loadbufferx(L, src.data(), src.size(), "=probe", "t") == LUA_OK && lua_pcall(L, 0, 1, 0) == LUA_OK)
    out = lua_tostring(L, -1);
  lua_close(L);
  return out;
}

std::string run_sandboxed(const std::string& expr) {
  LuaSandbox sandbox(SandboxLimits{});
  auto loaded = sandbox.run_chunk(probe_source(expr, "result ="), "=probe");
  if (!loaded.ok()) return "<did not run: " + loaded.error().message() + ">";
  std::string out;
  auto read = sandbox.evaluate([&](lua_State* L) {
    sandbox.push_env();
    lua_getfield(L, -1, "result");
    out = lua_tostring(L, -1);
  });
  REQUIRE(read.ok());
  return out;
}

}  // namespace

TEST_CASE("budgeted string and table functions answer exactly as Lua's own", "[sandbox]") {
  const char* probes[] = {
      // find: plain and patterned, positions, init, anchors, captures
      R"~(("hello world"):find("o w"))~",
      R"~(("hello world"):find("o", 6))~",
      R"~(("hello world"):find("l+"))~",
      R"~(("hello world"):find("(l)(l)"))~",
      R"~(("hello"):find("", 10))~",
      R"~(("hello"):find("", 6))~",
      R"~(("hello"):find("l", -2))~",
      R"~(("hello"):find("h", -100))~",
      R"~(("hello"):find("l", 0))~",
      R"~(("a.b"):find(".", 1, true))~",
      R"~(("hello.world"):find("%."))~",
      R"~(("a\0b"):find("\0", 1, true))~",
      R"~(("\0a\0"):find("a"))~",
      R"~(("a]b"):find("[]]"))~",
      R"~(("x-y"):find("[%-]"))~",
      R"~(("THE (quick) fox"):find("%((%a+)%)"))~",
      R"~(("THE (quick) fox"):find("%f[%a]%a+", 5))~",
      R"~(("^caret"):find("^^c"))~",
      R"~(("end$"):find("$", 1, true))~",
      R"~(("abc"):find("b", "x"))~",
      // match: anchors, lazy and greedy repetition, balance, back-references
      R"~(("key = value"):match("^(%w+)%s*=%s*(%w+)$"))~",
      R"~(("  trim me  "):match("^%s*(.-)%s*$"))~",
      R"~(("f(a(b)c)d"):match("%b()"))~",
      R"~(("hello"):match("()ll()"))~",
      R"~(("abcabc"):match("(abc)%1"))~",
      R"~(("aaa"):match("a-b"))~",
      R"~(("aaab"):match("a-b"))~",
      R"~(("caaab"):match("ca?a*b"))~",
      R"~(("2026-11-23"):match("(%d+)-(%d+)-(%d+)"))~",
      R"~(("UPPER lower 123"):match("%u+ (%l+) (%d+)"))~",
      R"~(("x"):match("[^%s]"))~",
      // malformed patterns: the same errors
      R"~(("x"):match("%"))~",
      R"~(("x"):match("[a"))~",
      R"~(("x"):match("(()"))~",
      R"~(("x"):match("%b"))~",
      R"~(("x"):match("%f"))~",
      R"~(("x"):match("%1"))~",
      // gsub: strings, captures, limits, tables, functions, anchors, empty matches
      R"~(("hello world"):gsub("o", "0"))~",
      R"~(("hello world"):gsub("(o)", "[%1%1]"))~",
      R"~(("hello world"):gsub("%w+", "%0 %0", 1))~",
      R"~(("hello"):gsub("", "-"))~",
      R"~(("hello world"):gsub("%s*", "_"))~",
      R"~(("abc"):gsub("%w", { a = "1", b = 2 }))~",
      R"~(("abc"):gsub("%w", { a = true }))~",
      R"~(("abc"):gsub("%w", function(c) return c:upper() end))~",
      R"~(("abc"):gsub("%w", function(c) if c == "b" then return false end return c .. c end))~",
      R"~(("abc"):gsub("^a", "X"))~",
      R"~(("abc"):gsub("()", "%1"))~",
      R"~(("x"):gsub("x", "%2"))~",
      R"~(("x"):gsub("x", "%z"))~",
      R"~(("x"):gsub("x", true))~",
      R"~(("abc"):gsub(".", "%%"))~",
      // gmatch: captures, empty matches, init
      R"~((function() local t = {} for k, v in ("a=1, b=2, c=3"):gmatch("(%w+)=(%w+)") do t[#t + 1] = k .. v end return t end)())~",
      R"~((function() local t = {} for w in ("abc"):gmatch("x*") do t[#t + 1] = "[" .. w .. "]" end return t end)())~",
      R"~((function() local t = {} for c in ("abc"):gmatch(".", 2) do t[#t + 1] = c end return t end)())~",
      R"~((function() local t = {} for p in ("abc"):gmatch("()") do t[#t + 1] = p end return t end)())~",
      // rep and move
      R"~(("%d"):rep(3, ","))~",
      R"~(string.rep("ab", 3))~",
      R"~(string.rep("", 5))~",
      R"~(string.rep("", 5, ""))~",
      R"~(string.rep("x", 0))~",
      R"~(string.rep("x", -1))~",
      R"~(string.rep("", 3, "-"))~",
      R"~(table.move({ 1, 2, 3 }, 1, 3, 2))~",
      R"~(table.move({ 1, 2, 3 }, 1, 3, 1, {}))~",
      R"~(table.move({ 1, 2, 3 }, 2, 1, 1, {}))~",
      R"~(table.move({ 1, 2, 3 }, -1, math.maxinteger, 1))~",
  };
  for (const char* expr : probes) {
    INFO(expr);
    const std::string stock = run_stock(expr);
    CHECK(stock.rfind("<did not run", 0) != 0);
    CHECK(run_sandboxed(expr) == stock);
  }
}

TEST_CASE("the sandbox's xpcall and coroutine functions answer exactly as Lua's own", "[sandbox]") {
  // These refuse to run policy code once an evaluation is stopped
  // (dsl/lua_stop_guards.hpp); until then they must be Lua's.
  const char* probes[] = {
      // xpcall: results, arguments, handlers, a handler that fails, a bad handler
      R"~(xpcall(function(a, b) return a + b, "two" end, function(e) return "handled" end, 1, 2))~",
      R"~(xpcall(function() error("boom") end, function(e) return "handled: " .. e end))~",
      R"~(xpcall(function() error({ 1, 2 }) end, function(e) return e end))~",
      R"~(xpcall(function() error("boom") end, function(e) error("again") end))~",
      R"~(xpcall(function() return 1 end))~",
      R"~(xpcall(function() return 1 end, 42))~",
      R"~((function() local co = coroutine.wrap(function() return xpcall(function() return coroutine.yield(1) + 1 end, function(e) return e end) end) return co(), co(41) end)())~",
      // coroutine.wrap: yields and resumes, errors with their position, a dead coroutine, __close on error
      R"~((function() local f = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return f(1), f(10) end)())~",
      R"~(coroutine.wrap(function() error("boom") end)())~",
      R"~(coroutine.wrap(function() error({ "table" }) end)())~",
      R"~((function() local f = coroutine.wrap(function() end) f() return f() end)())~",
      R"~(coroutine.wrap(1))~",
      R"~(coroutine.wrap(function() local x <close> = setmetatable({}, { __close = function() error("in close") end }) error("boom") end)())~",
      R"~(coroutine.wrap(function() coroutine.wrap(function() error("inner") end)() end)())~",
      // coroutine.resume: results, a dead coroutine, not a coroutine
      R"~(coroutine.resume(coroutine.create(function(a, b) return a * b, "done" end), 6, 7))~",
      R"~((function() local co = coroutine.create(function() end) coroutine.resume(co) return coroutine.resume(co) end)())~",
      R"~(coroutine.resume(coroutine.create(function() error("boom") end)))~",
      R"~(coroutine.resume(1))~",
      // coroutine.close: dead, suspended with a failing __close, running, not a coroutine
      R"~(coroutine.close(coroutine.create(function() end)))~",
      R"~((function() local co = coroutine.create(function() local x <close> = setmetatable({}, { __close = function() error("c") end }) coroutine.yield() end) coroutine.resume(co) return coroutine.close(co) end)())~",
      R"~((function() local co = coroutine.create(function() error("dead") end) coroutine.resume(co) return coroutine.close(co) end)())~",
      R"~(coroutine.close(coroutine.running()))~",
      R"~(coroutine.close(1))~",
  };
  for (const char* expr : probes) {
    INFO(expr);
    const std::string stock = run_stock(expr);
    CHECK(stock.rfind("<did not run", 0) != 0);
    CHECK(run_sandboxed(expr) == stock);
  }
}
