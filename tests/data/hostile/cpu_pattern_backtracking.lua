-- CPU exhaustion inside C: a backtracking pattern (string.find runs in C, beyond the instruction hook) => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local s = string.rep("a", 20000)
    return s:find(".-.-.-.-.-.-b") ~= nil
  end,
  try = { "gpt-4o-mini" },
}
