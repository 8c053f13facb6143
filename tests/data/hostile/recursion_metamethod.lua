-- Deep recursion through an __index metamethod that indexes itself => request: stack overflow
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
local loop = setmetatable({}, { __index = function(t, k) return t[k .. "x"] end })
route "attack" { when = function(r, ctx) return loop.key ~= nil end, try = { "gpt-4o-mini" } }
