-- Reading another team's data: call ctx's methods on a forged table posing as ctx => request: bad argument #1 to 'spend' (tollgate.context expected, got table)
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local spend = ctx.spend
    return spend({ team = "finance" }, "day") ~= nil
  end,
  try = { "gpt-4o-mini" },
}
