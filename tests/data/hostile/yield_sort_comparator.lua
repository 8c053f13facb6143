-- Yield across a C boundary: from a table.sort comparator inside a coroutine => request: attempt to yield across a C-call boundary
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local co = coroutine.wrap(function()
      table.sort({ 3, 2, 1 }, function(a, b) coroutine.yield() return a < b end)
    end)
    co()
    return true
  end,
  try = { "gpt-4o-mini" },
}
