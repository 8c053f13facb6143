-- Yield out of the policy function itself, across the engine's C++ frames => request: attempt to yield from outside a coroutine
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" { when = function(r, ctx) coroutine.yield(true) return true end, try = { "gpt-4o-mini" } }
