-- Sandbox escape: reach string.dump through a string value's metatable => load: escape_string_method_dump.lua:2: attempt to call a nil value (method 'dump')
local code = ("x"):dump()
route "normal" { try = { "gpt-4o-mini" } }
