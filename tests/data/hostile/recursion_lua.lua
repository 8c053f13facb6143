-- Deep recursion in plain Lua (not a tail call): the Lua stack grows on the heap until the memory limit stops it => request: memory limit exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
local function down(n) return down(n + 1) + 1 end
route "attack" { when = function(r, ctx) return down(1) > 0 end, try = { "gpt-4o-mini" } }
