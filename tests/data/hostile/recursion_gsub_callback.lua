-- Deep recursion through C: a string.gsub callback that calls gsub again => request: stack overflow
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
local function expand(s) return (string.gsub(s .. "a", ".", expand)) end
route "attack" { when = function(r, ctx) return #expand("a") > 0 end, try = { "gpt-4o-mini" } }
