-- Yields through pcall and a metamethod inside the policy's own coroutine: legal Lua, still answered => serves: attack
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
local lazy = setmetatable({}, { __index = function(t, k) return coroutine.yield(k) end })
route "attack" {
  when = function(r, ctx)
    local co = coroutine.wrap(function() return pcall(function() return lazy.team end) end)
    assert(co() == "team")      -- yielded out of __index, through pcall
    local ok, v = co(r.team)    -- resumed: __index returns the team
    return ok and v == r.team
  end,
  try = { "gpt-4o-mini" },
}
