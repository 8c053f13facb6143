-- CPU exhaustion inside C: gsub and gmatch with a backtracking pattern => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local s = string.rep("x", 5000)
    for w in s:gmatch("x-x-x-x-y") do end
    return (s:gsub("(x*)*y", "")) ~= nil
  end,
  try = { "gpt-4o-mini" },
}
