-- Deep recursion through __tostring and __concat metamethods => request: stack overflow
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
local mt = {}
mt.__tostring = function(v) return tostring(setmetatable({}, mt)) end
mt.__concat = function(a, b) return setmetatable({}, mt) .. "x" end
route "attack" {
  when = function(r, ctx) return #tostring(setmetatable({}, mt)) > 0 or #(setmetatable({}, mt) .. "y") > 0 end,
  try = { "gpt-4o-mini" },
}
