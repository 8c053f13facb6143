-- Sandbox escape: require a native module (package.loadlib behind it) => load: escape_require.lua:2: attempt to call a nil value (global 'require')
local ffi = require("ffi")
route "normal" { try = { "gpt-4o-mini" } }
