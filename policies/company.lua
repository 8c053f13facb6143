-- A whole company's policy
-- ========================
--
-- What `tollgate demo` runs: the pieces of the other example policies put
-- together as one team of platform engineers might ship them.
--
--   * support tickets are classified (cheap, cached: the same templates
--     come back all day) and summarized;
--   * engineers' code questions go to a code model;
--   * long documents go to a million-token model;
--   * everything else takes a quality-floored cascade, cheapest first;
--   * each team has caps; the interns' is small and downgrades them.

-- Teams and their caps (USD, UTC calendar windows).
team "support"  { daily_usd = 40, monthly_usd = 800 }
team "research" { daily_usd = 150, monthly_usd = 3000, on_exceed = "downgrade", downgrade = "economy" }
team "eng"      { daily_usd = 80, monthly_usd = 1500 }
team "interns"  { daily_usd = 5, on_exceed = "downgrade", downgrade = "economy", soft_limit = 0.5 }
team "growth"   { daily_usd = 10, on_exceed = "deny" }

-- What we expect of the small models, per task, until real scores arrive.
model "qwen3-8b"          { quality = { default = 0.62, classify = 0.9 } }
model "deepseek-v4-flash" { quality = { default = 0.82, summarize = 0.86 } }
model "gpt-4o-mini"       { quality = { default = 0.8 } }
model "gpt-4o"            { quality = 0.93 }

-- Ticket triage: a high-volume template. Cached for an hour per team.
route "classify" {
  when  = { task = "classify" },
  try   = { "qwen3-8b", "glm-4-9b", "gpt-4o-mini" },
  cache = { ttl = "1h" },
}

route "summarize" {
  when  = { task = "summarize", max_input_tokens = 100000 },
  try   = { "deepseek-v4-flash", "gpt-4o-mini" },
  cache = { ttl = "10m" },
}

route "code" {
  when = { task = "code" },
  try  = { "deepseek-chat", "gpt-4.1-mini" },
}

route "long-document" {
  when = { min_input_tokens = 100000 },
  try  = { "gemini-2.5-flash", "gpt-4.1-mini" },
}

-- The downgrade route for teams over their caps.
route "economy" {
  when    = { tier = "economy" },
  try     = { "qwen3-8b", "deepseek-v4-flash" },
  max_usd = 0.005,
}

route "default" {
  try         = { "qwen3-8b", "deepseek-v4-flash", "gpt-4o-mini", "gpt-4o" },
  min_quality = 0.8,
}
