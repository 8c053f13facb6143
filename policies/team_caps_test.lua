-- Tests for team_caps.lua (routing only; cap enforcement is tested in C++
-- against a real ledger).

test("premium is only for the teams that pay for it", function()
  expect_eq(decide { team = "research", tags = { tier = "premium" }, text = "x" }.route, "premium")
  expect_eq(decide { team = "interns", tags = { tier = "premium" }, text = "x" }.route, "default")
end)

test("the downgrade route holds each request under a cent", function()
  local d = decide { team = "research", tags = { tier = "economy" }, input_tokens = 40000, max_tokens = 8000 }
  expect_eq(d.route, "economy")
  for _, c in ipairs(d.candidates) do expect(c.est_cost_usd <= 0.01, c.model .. " over a cent") end
  expect_models(d, { "deepseek-v4-flash" })
  expect_trace(d, "gpt-4o-mini", "max_usd")        -- $0.0108 worst case
  expect_trace(d, "qwen3-8b", "context_window")
end)

test("a team close to its daily cap lands on cheap models", function()
  expect_eq(decide { team = "support", text = "x" }.route, "default")
  set_spend("support", "day", 46.0, 50)
  expect_eq(decide { team = "support", text = "x" }.route, "near-cap")
  -- other teams are not affected by support's spend
  expect_eq(decide { team = "interns", text = "x" }.route, "default")
end)
