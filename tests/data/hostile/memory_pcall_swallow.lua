-- Memory exhaustion caught with pcall and coroutine.resume ("not enough memory" as a value), then an ordinary answer => request: memory limit exceeded (8388608 bytes per evaluation)
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    pcall(string.rep, "x", 1 << 30)
    coroutine.resume(coroutine.create(function() local t = {} for i = 1, 1e9 do t[i] = tostring(i) end end))
    return true
  end,
  try = { "gpt-4o-mini" },
}
