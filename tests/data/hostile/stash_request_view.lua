-- Keeping the request view in an upvalue to read an earlier request later: it only ever reads the request in progress => serves: attack
local kept_r, kept_ctx
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "attack" {
  when = function(r, ctx)
    kept_r = kept_r or r
    kept_ctx = kept_ctx or ctx
    return kept_r.team == r.team and kept_r.last_user_text == r.last_user_text
  end,
  try = { "gpt-4o-mini" },
}
