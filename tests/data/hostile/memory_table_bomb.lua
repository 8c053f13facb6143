-- Memory exhaustion per request: tables of tables, and table.concat of a huge list => request: memory limit exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local t = {}
    for i = 1, 1e9 do t[i] = { i, tostring(i), { i } } end
    return #table.concat(t) > 0
  end,
  try = { "gpt-4o-mini" },
}
