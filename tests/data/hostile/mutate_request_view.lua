-- Mutating the request: rewrite r.team to bill another team => request: the request view is read-only (tried to set 'team')
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" { when = function(r, ctx) r.team = "someone-else" return true end, try = { "gpt-4o-mini" } }
