-- Deep recursion through C: a table.sort comparator that sorts again => request: stack overflow
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
local function cmp(a, b)
  table.sort({ 3, 2, 1 }, cmp)
  return a < b
end
route "attack" { when = function(r, ctx) table.sort({ 3, 2, 1 }, cmp) return true end, try = { "gpt-4o-mini" } }
