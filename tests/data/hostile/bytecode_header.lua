-- A file that is a comment and then an escaped bytecode chunk fed to a string loader that does not exist => load: bytecode_header.lua:2: attempt to call a nil value (global 'loadstring')
local f = loadstring("\27Lua\84\0")
route "normal" { try = { "gpt-4o-mini" } }
