-- CPU exhaustion: catch the budget error with pcall/xpcall and keep looping => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    while true do
      pcall(function() while true do end end)
      xpcall(function() while true do end end, function() return true end)
    end
  end,
  try = { "gpt-4o-mini" },
}
