-- The policy behind `tollgate serve`'s end-to-end tests (tests/node): a
-- route picked by the `task` tag, a default, a team whose cap is too small
-- for any request (so its requests are refused with a 429), and a route
-- whose function fails quoting the prompt, which must stay out of the
-- client's answer.
team "support" { daily_usd = 100, on_exceed = "deny" }
team "tiny"    { daily_usd = 0.000001, on_exceed = "deny" }

route "code" {
  when = { task = "code" },
  try  = { "deepseek-chat" },
}

route "careless" {
  when = function(r, ctx)
    if r.task == "careless" then error("saw: " .. r.last_user_text) end
    return false
  end,
  try  = { "gpt-4o-mini" },
}

route "default" {
  try = { "gpt-4o-mini" },
}
