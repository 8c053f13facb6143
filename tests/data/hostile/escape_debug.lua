-- Sandbox escape: switch off the instruction hook with debug.sethook => load: escape_debug.lua:2: attempt to index a nil value (global 'debug')
debug.sethook()
route "normal" { try = { "gpt-4o-mini" } }
