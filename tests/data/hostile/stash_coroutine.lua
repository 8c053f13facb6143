-- Keeping data between requests in a coroutine made at load, whose suspended stack would hold the last prompt => load: stash_coroutine.lua:5: this function reaches a coroutine made at load
local keeper = coroutine.wrap(function(text) while true do text = coroutine.yield(text) end end)
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx) return keeper(r.text) == r.text end,
  try = { "gpt-4o-mini" },
}
