-- Sandbox escape: turn a function into bytecode with string.dump (to load crafted bytecode) => load: escape_string_dump.lua:2: attempt to call a nil value (field 'dump')
local code = string.dump(function() return 1 end)
route "normal" { try = { "gpt-4o-mini" } }
