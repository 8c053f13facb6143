-- The policy behind `tollgate serve`'s end-to-end tests (tests/node): a
-- route picked by the `task` tag, a default, and a team whose cap is too
-- small for any request, so its requests are refused with a 429.
team "support" { daily_usd = 100, on_exceed = "deny" }
team "tiny"    { daily_usd = 0.000001, on_exceed = "deny" }

route "code" {
  when = { task = "code" },
  try  = { "deepseek-chat" },
}

route "default" {
  try = { "gpt-4o-mini" },
}
