-- Memory growth across requests: each request adds a megabyte to an upvalue table, which is frozen (tables made at load are read-only) => request: memory_kept_across_requests.lua:6: policy functions cannot change a table made at load (key 1)
local hoard = {}
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    for i = 1, 64 do hoard[#hoard + 1] = string.rep(tostring(#hoard), 1 << 20) end
    return true
  end,
  try = { "gpt-4o-mini" },
}
