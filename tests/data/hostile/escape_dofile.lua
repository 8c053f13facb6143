-- Sandbox escape: run another file from disk with dofile => load: escape_dofile.lua:2: attempt to call a nil value (global 'dofile')
dofile("/etc/passwd")
route "normal" { try = { "gpt-4o-mini" } }
