-- Sandbox escape: take the shared string metatable and replace its __index => load: escape_string_metatable.lua:3: attempt to index a string value (local 'mt')
local mt = getmetatable("")
mt.__index = { upper = function() return "pwned" end }
route "normal" { try = { "gpt-4o-mini" } }
