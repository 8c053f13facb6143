-- CPU exhaustion inside C: table.move over 2^60 empty slots (Lua loops without allocating) => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx) return table.move({}, 1, 1 << 60, 1, {}) ~= nil end,
  try = { "gpt-4o-mini" },
}
