-- CPU exhaustion per request: a very long loop in a `select` => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  select = function(r, ctx)
    local x = 0
    for i = 1, math.maxinteger do x = x + i end
    return { "gpt-4o-mini" }
  end,
}
