-- Memory exhaustion per request: a string doubled by concatenation until it cannot be => request: memory limit exceeded
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local s = r.text
    while true do s = s .. s .. "!" end
  end,
  try = { "gpt-4o-mini" },
}
