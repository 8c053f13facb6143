-- CPU exhaustion under nested pcall and xpcall, with a message handler that loops and one that returns, each result thrown away => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local function spin() while true do end end
    pcall(pcall, xpcall, spin, spin)
    xpcall(pcall, function() return "handled" end, xpcall, spin, function() return true end)
    pcall(coroutine.wrap(function() pcall(pcall, spin) end))
    return true
  end,
  try = { "gpt-4o-mini" },
}
