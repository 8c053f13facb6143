-- Mutating the request: add a tag other routes or guards trust => request: the request view is read-only (tried to set 'pii')
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" { when = function(r, ctx) r.tags.pii = "false" return true end, try = { "gpt-4o-mini" } }
