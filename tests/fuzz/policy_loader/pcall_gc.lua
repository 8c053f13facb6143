route "default" { try = { "gpt-4o-mini" }, when = function(r, ctx) return r.tags.task == "x" end }
local ok, e = pcall(function() return string.rep("ab", 1000):find("b") end)
setmetatable({}, { __gc = function() end })