-- Routing by task type
-- =====================
--
-- Your service tags each request with what it is for, for example
--   tags = { task = "code" }
-- and tollgate picks the model. Each `route` below says which requests it
-- takes (`when`) and which models to try, in order (`try`): the first is the
-- cheapest model that does this job well, the others are fallbacks for when
-- it is down, rate-limited, or too small for the request.
--
-- Routes are checked top to bottom; the first one that matches and has a
-- usable model wins. `tollgate explain` shows why a request went where it
-- did; `tollgate test policies/` runs by_task_test.lua against this file.
-- Prices come from the catalog (USD per million tokens, input / output).

-- Code: DeepSeek is strong at code for a tenth of the price of a flagship;
-- Codestral and GPT-4.1 mini are there if it fails.
route "code" {
  when = { task = "code" },
  try  = { "deepseek-chat", "codestral-latest", "gpt-4.1-mini" },
}

-- Chinese text: models trained on it do better and cost less. A `when` can
-- be a Lua function too; this one also catches untagged requests whose
-- last user message is mostly Chinese.
--
-- It counts bytes rather than decoding, so malformed UTF-8 in a prompt
-- cannot make it fail: common CJK characters (U+4E00..U+9FFF) are three
-- bytes starting with 0xE4..0xE9; every character has one non-continuation
-- byte.
local function mostly_chinese(text)
  local head = text:sub(1, 600)
  local _, cjk = head:gsub("[\228-\233][\128-\191][\128-\191]", "")
  local _, chars = head:gsub("[^\128-\191]", "")
  return chars > 0 and cjk * 2 >= chars
end

route "chinese" {
  when = function(r) return r.tags.lang == "zh" or mostly_chinese(r.last_user_text) end,
  try  = { "qwen3-32b", "glm-4-plus", "deepseek-chat" },
}

-- Reasoning (maths, planning, multi-step analysis): a reasoning model.
route "reasoning" {
  when = { task = "reasoning" },
  try  = { "deepseek-reasoner", "o4-mini" },
}

-- Fast: latency matters more than depth (autocomplete, routing, UI hints).
route "fast" {
  when = { task = "fast" },
  try  = { "groq/llama-3.1-8b-instant", "gemini-2.0-flash-lite", "gpt-4.1-nano" },
}

-- Everything else: a cheap general model first, a flagship last.
route "default" {
  try = { "deepseek-v4-flash", "gpt-4o-mini", "gpt-4o" },
}

-- Data governance: requests tagged pii = "true" may only go to providers
-- you have a data-processing agreement with. A guard applies to every
-- route and every fallback; a candidate without the label is skipped.
provider "openai"    { labels = { pii_ok = true, region = "us" } }
provider "anthropic" { labels = { pii_ok = true, region = "us" } }
provider "mistral"   { labels = { pii_ok = true, region = "eu" } }

guard "pii" {
  when    = { pii = "true" },
  require = { "pii_ok" },
}
