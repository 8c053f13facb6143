-- Sandbox escape: run a shell command through os.execute => load: escape_os.lua:2: attempt to index a nil value (global 'os')
os.execute("id")
route "normal" { try = { "gpt-4o-mini" } }
