-- Routing by prompt size
-- ======================
--
-- Short prompts (a few thousand tokens) are cheap anywhere, so they go to
-- the cheapest small model. Long documents need a large context window, and
-- a model whose window is too small for the request is skipped
-- automatically: tollgate estimates the input tokens and checks
-- input + max_tokens against each model's window before choosing.
--
-- `when = { max_input_tokens = N }` and `{ min_input_tokens = N }` match on
-- that estimate (see docs/tokens.md for how it is made).

route "short" {
  when = { max_input_tokens = 2000 },
  try  = { "qwen3-8b", "gpt-4.1-nano", "gpt-4o-mini" },
}

-- Over 100k tokens: only million-token models qualify.
route "long-context" {
  when = { min_input_tokens = 100000 },
  try  = { "gemini-2.5-flash", "gpt-4.1-mini", "claude-sonnet-4" },
}

-- In between: a cheap 128k model, then larger fallbacks. A request bigger
-- than deepseek-v4-flash's 128k window skips it and goes to the next.
route "default" {
  try = { "deepseek-v4-flash", "qwen2.5-72b", "gpt-4.1-mini" },
}
