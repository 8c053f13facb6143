-- CPU exhaustion in a to-be-closed variable's __close handler, run while the error unwinds => request: instruction budget exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local guard <close> = setmetatable({}, { __close = function() while true do end end })
    error("leaving")
  end,
  try = { "gpt-4o-mini" },
}
