-- Sandbox escape: open a file through the io library => load: escape_io.lua:2: attempt to index a nil value (global 'io')
local f = io.open("/etc/passwd")
route "normal" { try = { "gpt-4o-mini" } }
