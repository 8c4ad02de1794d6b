-- Budget forcing, lower bound: forbid "</think>" until the model has reasoned
-- for at least MIN_THINK tokens, so it cannot stop thinking too early.
-- A custom Lua stage bans the token by setting its logit to -inf; it runs
-- first, on the full vocabulary, so it looks the id up directly.
--
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='./?.so;;' \
--     lua5.4 examples/ban_think_close.lua [MODEL.gguf] [MIN_THINK]
--
-- With a model (once llm.load is available) it generates an R1 answer;
-- without one it shows the stage on synthetic logits where "</think>" is
-- always the most likely token.
local llm = require("luallm")

local model_path, min_think = arg[1], tonumber(arg[2] or "") or 8

--- A stage that bans `close_id` for the first `n` tokens it is asked for.
--- Returns the stage and a function that restarts its count (call it when
--- a new generation starts, like s:reset()).
local function ban_close_until(close_id, n)
  local step = 0
  local stage = llm.sampler.custom(function(cand)
    step = step + 1
    if step > n then return end
    -- O(1): before any filtering, candidate i holds token id i - 1
    local i = close_id + 1
    if i <= #cand and cand:id(i) == close_id then
      cand:set_logit(i, -math.huge)
    else
      for j = 1, #cand do
        if cand:id(j) == close_id then cand:set_logit(j, -math.huge) break end
      end
    end
  end)
  return stage, function() step = 0 end
end

if model_path and llm.load then
  local m = assert(llm.load(model_path))
  local close_id = m.tokenizer:encode("</think>", { special = true, bos = false })[1]
  local ban = ban_close_until(close_id, min_think)
  local opts = llm.sampler.r1_defaults()
  opts.seed = 1
  local s = llm.sampler.chain({ ban, assert(llm.sampler(opts)) })
  local a = m:chat({ { role = "user", content = "What is 17 + 25?" } }, { sampler = s, max_tokens = 256 })
  print("reasoning:\n" .. a.reasoning .. "\n\ncontent:\n" .. a.content)
  return
end

-- Demo without a model: a tiny 8-token "vocabulary" where id 5 plays "</think>".
local CLOSE = 5
local ban = ban_close_until(CLOSE, min_think)
local s = llm.sampler.chain({ ban, llm.sampler.greedy() })
local logits = llm.sampler.logits_from_table({ 0.1, 1.0, 0.5, 0.2, 0.3, 3.0, 0.0, -1.0 })
local out = {}
for t = 1, min_think + 3 do
  local id = assert(s:sample(logits))
  s:accept(id)
  out[t] = id == CLOSE and "</think>" or tostring(id)
end
print(string.format("greedy picks with </think> banned for %d steps:", min_think))
print(table.concat(out, " "))
