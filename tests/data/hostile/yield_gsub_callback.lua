-- Yield across a C boundary: from a string.gsub callback, and from a request-view metamethod => request: attempt to yield across a C-call boundary
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local co = coroutine.wrap(function() return (string.gsub("abc", ".", coroutine.yield)) end)
    co()
    return true
  end,
  try = { "gpt-4o-mini" },
}
