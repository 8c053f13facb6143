-- CPU exhaustion in a coroutine, then an error object whose __tostring loops raised in its place (if anything stringified it outside the budget, the thread would hang) => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    coroutine.resume(coroutine.create(function() while true do end end))
    error(setmetatable({}, { __tostring = function() while true do end end }))
  end,
  try = { "gpt-4o-mini" },
}
