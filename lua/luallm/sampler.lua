-- Samplers: how a token id is chosen from a logits vector.
--
--   local s = llm.sampler({temperature = 0.6, top_p = 0.95, seed = 42})
--   local s2 = llm.sampler.chain({llm.sampler.top_k(40),
--                                 llm.sampler.custom(function(cand) ... end),
--                                 llm.sampler.temperature(0.6), llm.sampler.dist(42)})
--   local id = s:sample(logits); s:accept(id); s:reset()
--
-- Every stage constructor returns a sampler of one stage (usable alone: a
-- chain that ends without a selecting stage returns its best candidate);
-- chain() copies stages, so the same stage object can seed many chains that
-- never share RNG or penalty state. Stages run in C (csrc/sampler.c); a
-- custom stage is a Lua function given a candidate view:
--   #cand, cand:id(i), cand:logit(i), cand:set_logit(i, v), cand:p(i),
--   cand:sort(), cand:resize(n)       (i is 1-based; valid during the call only)
-- Token ids are 0-based everywhere; logits given as a Lua array hold token
-- id i-1 at index i.
local core = require("luallm_core")
local cs = core.sampler

local M = {}

M.greedy = cs.greedy           -- greedy(): argmax (ties: lowest id)
M.temperature = cs.temperature -- temperature(t): logits / t; t == 0: argmax
M.top_k = cs.top_k             -- top_k(k): the k best (partial selection)
M.top_p = cs.top_p             -- top_p(p): smallest best set with mass >= p, 0 < p <= 1
M.min_p = cs.min_p             -- min_p(p): keep prob >= p * max prob, 0 <= p <= 1
M.typical = cs.typical         -- typical(p): locally typical sampling, 0 < p <= 1
M.penalties = cs.penalties     -- penalties{repeat_ = 1.1, frequency = 0, presence = 0, last_n = 64}
M.logit_bias = cs.logit_bias   -- logit_bias{[id] = delta}; -math.huge bans a token
M.dist = cs.dist               -- dist(seed): draw from softmax; seed defaults to 0
M.custom = cs.custom           -- custom(function(cand) ... end)
M.chain = cs.chain             -- chain({stage | function, ...})
M.rng = cs.rng                 -- rng(seed):uniform(): the PRNG dist() uses (xoshiro256**)
M.logits_from_table = core.logits_from_table -- {numbers} -> Logits (#, :get, :argmax, :topk)

-- Options of llm.sampler{...} and their "off" defaults.
local DEFAULTS = {
  temperature = 1.0, top_k = 0, top_p = 1.0, min_p = 0.0, typical_p = 1.0,
  repeat_penalty = 1.0, repeat_last_n = 64, frequency_penalty = 0.0,
  presence_penalty = 0.0, seed = 0, logit_bias = false,
}

--- DeepSeek's recommendation for R1 and its distills: temperature 0.6
--- (0.5-0.7 range) and top_p 0.95, to avoid endless repetition and
--- incoherent output. Returns a fresh options table for llm.sampler(opts).
function M.r1_defaults()
  return { temperature = 0.6, top_p = 0.95 }
end

local function number_opt(opts, key)
  local v = opts[key]
  if v == nil then return DEFAULTS[key] end
  if type(v) ~= "number" then
    return nil, "sampler: option " .. key .. " must be a number (got " .. type(v) .. ")"
  end
  return v
end

--- llm.sampler(opts) -> sampler | nil, msg. The usual chain, stages left out
--- when they would do nothing:
---   logit_bias -> penalties -> top_k -> typical -> top_p -> min_p -> temperature -> dist
--- temperature <= 0 gives logit_bias -> penalties -> greedy. An unset option
--- is off (top_k 0, top_p 1, min_p 0, typical_p 1, repeat_penalty 1,
--- temperature 1, seed 0): the sampler does exactly what the options say.
--- Unknown option names are an error (a typo would otherwise be ignored).
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then return nil, "sampler: options must be a table" end
  for k in pairs(opts) do
    if DEFAULTS[k] == nil then
      return nil, "sampler: unknown option '" .. tostring(k) .. "'"
    end
  end
  local o = {}
  for k in pairs(DEFAULTS) do
    if k ~= "logit_bias" then
      local v, err = number_opt(opts, k)
      if not v then return nil, err end
      o[k] = v
    end
  end
  local stages = {}
  local function add(stage, err)
    if not stage then error(err, 0) end
    stages[#stages + 1] = stage
  end
  local ok, err = pcall(function()
    if opts.logit_bias then add(M.logit_bias(opts.logit_bias)) end
    if o.repeat_penalty ~= 1 or o.frequency_penalty ~= 0 or o.presence_penalty ~= 0 then
      add(M.penalties({ repeat_ = o.repeat_penalty, frequency = o.frequency_penalty,
                        presence = o.presence_penalty, last_n = o.repeat_last_n }))
    end
    if o.temperature <= 0 then
      add(M.greedy())
      return
    end
    -- anything but the "off" value goes to the constructor, which checks it
    if o.top_k ~= 0 then add(M.top_k(o.top_k)) end
    if o.typical_p ~= 1 then add(M.typical(o.typical_p)) end
    if o.top_p ~= 1 then add(M.top_p(o.top_p)) end
    if o.min_p ~= 0 then add(M.min_p(o.min_p)) end
    add(M.temperature(o.temperature))
    add(M.dist(o.seed))
  end)
  if not ok then return nil, "sampler: " .. tostring(err) end
  return M.chain(stages)
end

return setmetatable(M, {
  __call = function(_, opts) return M.new(opts) end,
})
