-- Sandbox escape: write a global at request time by stripping the frozen environment's metatable => request: cannot change a protected metatable
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    setmetatable(_ENV, nil)
    stolen = r.text
    return true
  end,
  try = { "gpt-4o-mini" },
}
