-- Mutating ctx: replace ctx:spend so a capped team looks under its cap => request: the request view is read-only (tried to set 'spend')
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx) ctx.spend = function() return { remaining_usd = 1e9 } end return true end,
  try = { "gpt-4o-mini" },
}
