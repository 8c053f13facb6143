-- Sandbox escape: bypass the frozen globals with rawset => request: escape_rawset.lua:4: attempt to call a nil value (global 'rawset')
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx) rawset(_ENV, "stolen", r.text) return true end,
  try = { "gpt-4o-mini" },
}
