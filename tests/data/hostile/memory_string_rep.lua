-- Memory exhaustion per request: one gigabyte from string.rep => request: memory limit exceeded (8388608 bytes per evaluation)
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx) return #string.rep("x", 1 << 30) > 0 end,
  try = { "gpt-4o-mini" },
}
