-- CPU exhaustion inside a coroutine, its error swallowed by coroutine.resume => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    while true do
      local co = coroutine.create(function() while true do end end)
      coroutine.resume(co)
    end
  end,
  try = { "gpt-4o-mini" },
}
