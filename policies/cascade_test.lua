-- Tests for cascade.lua.

test("classification is good enough on the smallest model", function()
  local d = decide { team = "a", tags = { task = "classify" }, text = "spam or not?", max_tokens = 10 }
  expect_eq(d.candidates[1].model, "qwen3-8b")
end)

test("open-ended work skips the small model below the floor", function()
  local d = decide { team = "a", tags = { task = "write" }, text = "Draft a reply", max_tokens = 500 }
  expect_models(d, { "deepseek-v4-flash", "gpt-4o-mini", "gpt-4o" })
  expect_trace(d, "qwen3-8b", "min_quality")
end)

test("measured quality replaces the expectation once there are enough scores", function()
  set_quality("deepseek-v4-flash", "write", 0.55, 200)   -- it turned out poor at this
  local d = decide { team = "a", tags = { task = "write" }, text = "Draft a reply", max_tokens = 500 }
  expect_models(d, { "gpt-4o-mini", "gpt-4o" })
end)

test("too few scores do not override the expectation", function()
  set_quality("deepseek-v4-flash", "write", 0.1, 3)
  local d = decide { team = "a", tags = { task = "write" }, text = "Draft a reply", max_tokens = 500 }
  expect_eq(d.candidates[1].model, "deepseek-v4-flash")
end)

test("an unhealthy provider is skipped", function()
  set_healthy("deepseek-v4-flash", false)
  local d = decide { team = "a", tags = { task = "summarize" }, text = "Summarize", max_tokens = 500 }
  expect_eq(d.candidates[1].model, "gpt-4o-mini")
  expect_trace(d, "deepseek-v4-flash", "unhealthy")
end)

test("max_usd skips candidates whose worst case is too dear", function()
  -- 4,000 output tokens on gpt-4o is 4 cents plus input: still under 5 cents;
  -- 8,000 is not.
  local d = decide { team = "a", tags = { task = "write" }, text = "Draft", max_tokens = 8000 }
  expect_models(d, { "deepseek-v4-flash", "gpt-4o-mini" })
  expect_trace(d, "gpt-4o", "max_usd")
end)
