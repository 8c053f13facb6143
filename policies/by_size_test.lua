-- Tests for by_size.lua.

test("short prompts go to the smallest model", function()
  local d = decide { team = "a", text = "Classify: 'my card was charged twice'" }
  expect_eq(d.route, "short")
  expect_eq(d.candidates[1].model, "qwen3-8b")
end)

test("medium prompts use the default route", function()
  local d = decide { team = "a", input_tokens = 20000, max_tokens = 1000 }
  expect_eq(d.route, "default")
  expect_models(d, { "deepseek-v4-flash", "qwen2.5-72b", "gpt-4.1-mini" })
end)

test("models too small for the request are skipped, with the reason in the trace", function()
  local d = decide { team = "a", input_tokens = 99000, max_tokens = 30000 }
  expect_eq(d.route, "default")
  -- 129k tokens needed: the 128k window of qwen2.5-72b is too small, and
  -- deepseek-v4-flash cannot write 30k tokens (its max output is 8,192).
  expect_models(d, { "gpt-4.1-mini" })
  expect_trace(d, "qwen2.5-72b", "context_window")
  expect_trace(d, "deepseek-v4-flash", "max_output")
end)

test("long documents need a million-token window", function()
  local d = decide { team = "a", input_tokens = 400000, max_tokens = 4000 }
  expect_eq(d.route, "long-context")
  expect_eq(d.candidates[1].model, "gemini-2.5-flash")
end)

test("a short prompt asking for more output than a model can give skips it", function()
  local d = decide { team = "a", text = "Write a long story.", max_tokens = 32000 }
  expect_eq(d.route, "short")
  expect_models(d, { "gpt-4.1-nano" })
  expect_trace(d, "qwen3-8b", "context_window")   -- 32k window: prompt + 32k output do not fit
  expect_trace(d, "gpt-4o-mini", "max_output")    -- writes at most 16,384 tokens
end)
