-- CPU exhaustion in a suspended coroutine's __close handler, which coroutine.close runs and whose error it returns as a value; the function then answers => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local co = coroutine.create(function()
      local guard <close> = setmetatable({}, { __close = function() while true do end end })
      coroutine.yield()
    end)
    coroutine.resume(co)
    local closed = coroutine.close(co)  -- false, "instruction budget exceeded": swallowed
    return not closed
  end,
  try = { "gpt-4o-mini" },
}
