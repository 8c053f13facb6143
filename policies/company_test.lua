-- Tests for company.lua.

test("triage is cheap and cached", function()
  local d = decide { team = "support", tags = { task = "classify" }, text = "refund please", max_tokens = 5 }
  expect_eq(d.route, "classify")
  expect_eq(d.candidates[1].model, "qwen3-8b")
  expect(d.cache.enabled, "classification answers are cached")
end)

test("summaries of long documents go to the long-context route", function()
  expect_eq(decide { team = "research", tags = { task = "summarize" }, input_tokens = 150000, max_tokens = 2000 }.route,
            "long-document")
  expect_eq(decide { team = "research", tags = { task = "summarize" }, input_tokens = 8000, max_tokens = 500 }.route,
            "summarize")
end)

test("open questions skip models below the quality floor", function()
  local d = decide { team = "eng", tags = { task = "chat" }, text = "how do I rotate keys?", max_tokens = 300 }
  expect_eq(d.route, "default")
  expect_models(d, { "deepseek-v4-flash", "gpt-4o-mini", "gpt-4o" })
end)
