-- CPU exhaustion inside C: string.rep of an empty string 2^63 times (stock Lua loops 2^63 times without allocating; the sandbox answers "" at once) => serves: attack
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx) return string.rep("", math.maxinteger, "") == "" end,
  try = { "gpt-4o-mini" },
}
