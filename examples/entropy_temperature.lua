-- Entropy-adaptive temperature: sample sharply where the model is sure and
-- more freely where it hesitates. After top_k, a custom Lua stage measures
-- the entropy H of the candidates and divides the logits by
--   T = T_MIN + (T_MAX - T_MIN) * H / log(#cand)
-- (H / log n is 0 for a one-hot distribution, 1 for a uniform one).
--
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='./?.so;;' \
--     lua5.4 examples/entropy_temperature.lua [MODEL.gguf]
local llm = require("luallm")

local T_MIN, T_MAX = 0.3, 1.0

local function entropy_temperature(stats)
  return llm.sampler.custom(function(cand)
    local n = #cand
    if n < 2 then return end
    local h = 0
    for i = 1, n do
      local p = cand:p(i) -- softmax over the candidates, computed once on demand
      if p > 0 then h = h - p * math.log(p) end
    end
    local t = T_MIN + (T_MAX - T_MIN) * h / math.log(n)
    for i = 1, n do cand:set_logit(i, cand:logit(i) / t) end
    if stats then stats[#stats + 1] = t end
  end)
end

local stats = {}
local s = assert(llm.sampler.chain({
  llm.sampler.top_k(40), -- keeps the Lua stage to 40 candidates, not 152k
  entropy_temperature(stats),
  llm.sampler.dist(7),
}))

local model_path = arg and arg[1]
if model_path and llm.load then
  local m = assert(llm.load(model_path))
  local r = m:complete("The capital of France is", { sampler = s, max_tokens = 32 })
  print(r.text)
else
  -- Without a model: a confident step and an uncertain one.
  local sure = llm.sampler.logits_from_table({ 9, 1, 0.5, 0.2, 0, 0, 0, 0 })
  local unsure = llm.sampler.logits_from_table({ 1, 0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.5 })
  for _, case in ipairs({ { "confident", sure }, { "uncertain", unsure } }) do
    local id = assert(s:sample(case[2]))
    print(string.format("%-10s step: temperature %.2f, sampled id %d", case[1], stats[#stats], id))
  end
end
print(tostring(s))
