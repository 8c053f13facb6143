-- Tests for by_task.lua. Run: tollgate test policies/
-- decide{...} builds a request and returns the decision: d.route,
-- d.candidates (each with .model, .provider, .est_cost_usd), d.trace.

test("code requests go to DeepSeek, with fallbacks in order", function()
  local d = decide { team = "eng", tags = { task = "code" }, text = "Write a function that parses ISO dates." }
  expect_eq(d.route, "code")
  expect_models(d, { "deepseek-chat", "codestral-latest", "gpt-4.1-mini" })
end)

test("untagged Chinese text is routed by its content", function()
  local d = decide { team = "cn-support", text = "请帮我总结一下这份客户投诉的主要问题。" }
  expect_eq(d.route, "chinese")
  expect_eq(d.candidates[1].model, "qwen3-32b")
end)

test("an explicit lang tag works without looking at the text", function()
  local d = decide { team = "cn-support", tags = { lang = "zh" }, text = "hello" }
  expect_eq(d.route, "chinese")
end)

test("reasoning and fast tasks", function()
  expect_eq(decide { team = "a", tags = { task = "reasoning" }, text = "prove it" }.route, "reasoning")
  expect_eq(decide { team = "a", tags = { task = "fast" }, text = "hi" }.route, "fast")
end)

test("anything else falls to the default route, cheapest first", function()
  local d = decide { team = "eng", tags = { task = "chat" }, text = "How are you?" }
  expect_eq(d.route, "default")
  expect_models(d, { "deepseek-v4-flash", "gpt-4o-mini", "gpt-4o" })
  expect(d.candidates[1].est_cost_usd < d.candidates[3].est_cost_usd, "cheapest model first")
end)

test("pii requests only reach providers labelled pii_ok, on every route", function()
  local d = decide { team = "eng", tags = { task = "code", pii = "true" }, text = "fix this" }
  expect_eq(d.route, "code")
  expect_models(d, { "codestral-latest", "gpt-4.1-mini" })   -- DeepSeek skipped
  d = decide { team = "eng", tags = { pii = "true" }, text = "summarize the customer record" }
  expect_models(d, { "gpt-4o-mini", "gpt-4o" })
end)

test("a pii request with no allowed model fails instead of leaking", function()
  local d, err = decide { team = "eng", tags = { task = "reasoning", pii = "true" }, text = "x" }
  -- reasoning has o4-mini (OpenAI, pii_ok) as its fallback, so this works:
  expect_eq(d.route, "reasoning")
  expect_models(d, { "o4-mini" })
  d, err = decide { team = "eng", tags = { task = "fast", pii = "true" }, text = "x" }
  expect_models(d, { "gpt-4.1-nano" })
end)
