-- Keeping state between requests in a global (a request counter) => request: stash_global.lua:5: policy functions cannot set globals (seen); use a local
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    seen = (seen or 0) + 1
    return true
  end,
  try = { "gpt-4o-mini" },
}
