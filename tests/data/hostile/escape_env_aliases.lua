-- Sandbox escape: find io through _ENV, _G, _G._G, rawget and a home-made environment => load: escape_env_aliases.lua:4: attempt to index a nil value (local 'io_lib')
local io_lib = _ENV.io or _G.io or _G._G.io or rawget(_G, "io")
  or (function() local _ENV = { _G = _G } return _G.io end)()
io_lib.open("/etc/passwd")
route "normal" { try = { "gpt-4o-mini" } }
