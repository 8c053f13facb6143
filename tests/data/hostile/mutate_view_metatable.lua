-- Mutating the request: replace the view's metatable to fake its fields => request: bad argument #1 to 'setmetatable' (table expected, got tollgate.request)
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    assert(getmetatable(r) == "locked")
    setmetatable(r, { __index = function() return "finance" end })
    return true
  end,
  try = { "gpt-4o-mini" },
}
