-- Reading another team's spend: ctx:spend ignores a team argument and answers for the requester only => serves: attack
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local mine, theirs = ctx:spend("day"), ctx:spend("day", "finance")
    return mine ~= nil and theirs ~= nil and theirs.cap_usd == mine.cap_usd and theirs.cap_usd == 5
  end,
  try = { "gpt-4o-mini" },
}
team "blue" { daily_usd = 5 }
team "finance" { daily_usd = 1000 }
