-- A quality-floored cascade
-- =========================
--
-- Try models from cheapest to dearest, but skip any whose quality for this
-- task is below the floor. Quality starts from the scores you expect
-- (`quality` below, per task or as a default); once your service reports
-- real scores with engine.record_quality(request_id, score), the measured
-- mean for (model, task) replaces the expectation after 20 scores.
--
-- The task is the request's `task` tag (or "default").

model "qwen3-8b"          { quality = { default = 0.62, classify = 0.88, extract = 0.84 } }
model "deepseek-v4-flash" { quality = { default = 0.81, summarize = 0.86 } }
model "gpt-4o-mini"       { quality = { default = 0.80, classify = 0.90 } }
model "gpt-4o"            { quality = 0.93 }

route "cascade" {
  try         = { "qwen3-8b", "deepseek-v4-flash", "gpt-4o-mini", "gpt-4o" },
  min_quality = 0.8,
  -- Never spend more than 5 cents on one request here.
  max_usd     = 0.05,
}
