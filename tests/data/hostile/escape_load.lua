-- Sandbox escape: compile code at run time with load, dofile or loadfile => load: escape_load.lua:2: attempt to call a nil value (global 'load')
local chunk = load("return io")
route "normal" { try = { "gpt-4o-mini" } }
