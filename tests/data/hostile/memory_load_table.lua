-- Memory exhaustion at load: a table that grows without end => load: memory limit exceeded
local t = {}
for i = 1, math.maxinteger do t[i] = { i } end
route "normal" { try = { "gpt-4o-mini" } }
