-- Carrying one request's prompt to later ones (another team's among them) in a file-level local, a captured table and a replaced _ENV, while a hoard grows 64 KiB a request: a request that sees any of it goes to "steered" => serves: attack
local last_prompt
local hoard = ""
local by_team = {}
route "normal" { when = { attack = false }, try = { "gpt-4o-mini" } }
route "steered" {
  when = function(r, ctx)
    local earlier = last_prompt ~= nil or next(by_team) ~= nil or stolen ~= nil or #hoard > 0
    last_prompt = r.body.messages[1].content
    hoard = hoard .. string.rep("x", 64 * 1024)
    pcall(function() by_team[r.team] = last_prompt end)  -- refused: tables made at load are read-only
    _ENV = setmetatable({ stolen = last_prompt }, { __index = _ENV })
    return earlier
  end,
  try = { "gpt-4o" },
}
route "attack" { try = { "gpt-4o-mini" } }
