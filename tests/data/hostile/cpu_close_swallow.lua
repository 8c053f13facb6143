-- CPU exhaustion in a __close handler that runs when its block ends normally, inside a pcall that throws the error away, in the main function and in a coroutine => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
local function looping_guard() return setmetatable({}, { __close = function() while true do end end }) end
route "attack" {
  when = function(r, ctx)
    local co = coroutine.create(function()
      pcall(function() local guard <close> = looping_guard() end)
      return "closed"
    end)
    coroutine.resume(co)
    pcall(function() local guard <close> = looping_guard() end)
    return true
  end,
  try = { "gpt-4o-mini" },
}
