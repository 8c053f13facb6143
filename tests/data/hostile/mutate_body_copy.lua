-- Mutating the request body through r.body (a copy: what is sent upstream stays as it was) => serves: attack
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    local body = r.body
    body.messages[1].content = "forged prompt"
    return r.body.messages[1].content ~= "forged prompt"
  end,
  try = { "gpt-4o-mini" },
}
