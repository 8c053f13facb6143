-- CPU exhaustion per request: an endless loop in a `when` => request: cpu_when_loop.lua:4: instruction budget exceeded (1000000 instructions per evaluation)
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx) while true do end end,
  try = { "gpt-4o-mini" },
}
