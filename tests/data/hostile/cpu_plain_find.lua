-- CPU exhaustion inside C: a quadratic plain find of a long needle in a long haystack => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local hay = string.rep("a", 2000000)
    local needle = string.rep("a", 500000) .. "b"
    return hay:find(needle, 1, true) ~= nil
  end,
  try = { "gpt-4o-mini" },
}
