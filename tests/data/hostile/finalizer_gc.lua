-- A __gc finalizer that loops (Lua runs finalizers with hooks off) => load: finalizer_gc.lua:2: policies cannot set __gc finalizers
setmetatable({}, { __gc = function() while true do end end })
route "normal" { try = { "gpt-4o-mini" } }
