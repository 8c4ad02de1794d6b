-- Sampler helpers for specs.
local S = require("luallm").sampler

local M = {}

--- Runs `stages` then a spy stage on logits; returns what the spy saw:
--- {{id =, logit =, p =}, ...} in candidate order.
function M.capture(stages, logits)
  local seen
  local list = {}
  for i, st in ipairs(stages) do list[i] = st end
  list[#list + 1] = S.custom(function(c)
    seen = {}
    for i = 1, #c do seen[i] = { id = c:id(i), logit = c:logit(i), p = c:p(i) } end
  end)
  assert(assert(S.chain(list)):sample(logits))
  return seen
end

return M
