-- CPU exhaustion inside a coroutine.wrap function (with a looping __close that the wrapper runs on error), its error caught by pcall => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local spin = coroutine.wrap(function()
      local guard <close> = setmetatable({}, { __close = function() while true do end end })
      while true do end
    end)
    local ok = pcall(spin)
    return not ok
  end,
  try = { "gpt-4o-mini" },
}
