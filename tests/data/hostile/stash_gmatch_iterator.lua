-- Keeping state between requests in a string.gmatch iterator made at load (each request would take the next word) => load: stash_gmatch_iterator.lua:5: this function reaches a string.gmatch iterator made at load
local next_word = ("alpha beta gamma"):gmatch("%a+")
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx) return next_word() == "alpha" end,
  try = { "gpt-4o-mini" },
}
