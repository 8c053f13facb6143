-- wrk script for bench/gateway_load.sh: posts one small chat completion,
-- counts every answer that is not a 200 (wrk itself only counts >= 400),
-- and prints one machine-readable line at the end:
--   BENCH requests=N non200=N errors=N rps=X p50_us=N p99_us=N
-- Environment: BENCH_KEY (bearer key), BENCH_HEADERS ("name: value|name: value",
-- extra headers, e.g. Portkey's provider and custom host).

wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},' ..
           '{"role":"user","content":"Say hello in one word."}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "bench")
for pair in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^|]+") do
  local name, value = string.match(pair, "^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if non200 == 1 then io.stderr:write("first non-200 answer: " .. status .. " " .. string.sub(body or "", 1, 300) .. "\n") end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non200") end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format("BENCH requests=%d non200=%d errors=%d rps=%.1f p50_us=%d p99_us=%d\n",
    summary.requests, bad, errors, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99)))
end
