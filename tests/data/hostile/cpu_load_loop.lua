-- CPU exhaustion at load: an endless top-level loop => load: cpu_load_loop.lua:2: instruction budget exceeded
while true do end
route "normal" { try = { "gpt-4o-mini" } }
