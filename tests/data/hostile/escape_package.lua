-- Sandbox escape: load a C library through package.loadlib => load: escape_package.lua:2: attempt to index a nil value (global 'package')
local open = package.loadlib("libc.so.6", "system")
route "normal" { try = { "gpt-4o-mini" } }
