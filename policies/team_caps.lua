-- Per-team spend caps, with a downgrade route
-- ===========================================
--
-- Each team has caps per UTC day and month (also hourly_usd and
-- rolling_24h_usd). Before a request is sent, tollgate reserves its worst
-- case (estimated input + max_tokens at the model's prices) against every cap
-- that applies, and settles to the real cost afterwards, so concurrent
-- requests cannot overshoot a cap.
--
-- When a cap would be exceeded:
--   on_exceed = "deny"      the request fails with a budget error that names
--                           the team, window, cap, spent and reserved;
--   on_exceed = "downgrade" the `downgrade` route is tried instead, still
--                           under the cap.
-- soft_limit (default 0.8) fires an alert event once per team and window.

team "support" {
  daily_usd   = 50,
  monthly_usd = 900,
  on_exceed   = "deny",
}

team "research" {
  monthly_usd = 5000,
  on_exceed   = "downgrade",
  downgrade   = "economy",
  soft_limit  = 0.9,
}

team "interns" {
  daily_usd = 2,
  on_exceed = "downgrade",
  downgrade = "economy",
  -- Per-user caps inside a team.
  users     = { ["intern-bot"] = { daily_usd = 0.5 } },
}

-- Premium work for teams that pay for it: flagship models.
route "premium" {
  when = { tier = "premium", team = { "research", "support" } },
  try  = { "gpt-4o", "claude-sonnet-4-5" },
}

-- A soft landing: when a team has used 90 % of today's cap, its default
-- traffic moves to cheap models before the cap stops it outright.
-- ctx:spend(window) reads the requesting team's own spend (never another's).
route "near-cap" {
  when = function(r, ctx)
    local day = ctx:spend("day")
    return day ~= nil and day.cap_usd ~= nil and day.remaining_usd < 0.1 * day.cap_usd
  end,
  try  = { "deepseek-v4-flash", "qwen3-8b" },
}

-- The downgrade route: cheap models, and never more than 1 cent a request.
route "economy" {
  when    = { tier = "economy" },
  try     = { "deepseek-v4-flash", "qwen3-8b", "gpt-4o-mini" },
  max_usd = 0.01,
}

route "default" {
  try = { "gpt-4o-mini", "deepseek-v4-flash" },
}
