-- Sandbox escape: replace a library function other code relies on => load: escape_library_write.lua:2: policy code cannot modify library tables
string.format = function() return "forged" end
route "normal" { try = { "gpt-4o-mini" } }
