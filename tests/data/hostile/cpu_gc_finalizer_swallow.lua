-- CPU exhaustion after trying every way to get a __gc finalizer run (Lua runs them with hooks off): setmetatable refused under pcall, __gc added after setmetatable, garbage to collect; then a loop in a coroutine => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    pcall(setmetatable, {}, { __gc = function() while true do end end })
    local mt = {}
    local doomed = setmetatable({}, mt)
    mt.__gc = function() while true do end end  -- too late: never registered
    doomed = nil
    for i = 1, 2000 do local garbage = { i, tostring(i) } end
    coroutine.resume(coroutine.create(function() while true do end end))
    return true
  end,
  try = { "gpt-4o-mini" },
}
