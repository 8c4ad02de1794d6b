-- Batched decode steps, the shape of `llama-batched-bench -npp 32 -ntg 96`:
-- B sequences, each prefilled with its own arith-dev prompt (chat template,
-- 20-30 tokens: real text, so the sampled continuations have realistic
-- distributions), then 96 steps that decode one token of every sequence
-- together. Reports generation tokens/s
-- (B * 96 / time of the steps) without sampling (the next token is a fixed
-- id, as llama-batched-bench does) and with the R1 sampler drawing every
-- row of every step (c:sample: temperature 0.6, top-p 0.95).
--
--   LUALLM_SHARED=/work/shared LUA_PATH='lua/?.lua;lua/?/init.lua;;' \
--   LUA_CPATH='build/lua5.4/?.so;;' lua5.4 bench/batch_decode.lua
--
-- Environment: BENCH_B="1,4,16,64", BENCH_MODELS="qwen2,llama", BENCH_THREADS,
-- BENCH_STEPS (default 96).
local llm = require("luallm")
local core = llm.core
local sampler = require("luallm.sampler")

local setup = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/micro_setup.lua")
local list = setup.list
local Bs = {}
for _, x in ipairs(list(os.getenv("BENCH_B") or "1,4,16,64")) do Bs[#Bs + 1] = tonumber(x) end
local threads = tonumber(os.getenv("BENCH_THREADS") or "")
local steps = tonumber(os.getenv("BENCH_STEPS") or "") or 96
local qs = setup.questions()
if not qs then return end

local function run(m, B, sample)
  local prompts, longest = {}, 0
  for s = 1, B do
    prompts[s] = assert(m:_prompt_ids(m:chat_template({ { role = "user", content = qs[s] } })))
    longest = math.max(longest, #prompts[s])
  end
  local c = assert(m:context({ n_ctx = B * (longest + steps), n_seq = B, threads = threads,
                               n_batch = math.max(512, B) }))
  for s = 0, B - 1 do
    local toks, seqs, want = {}, {}, {}
    local ids = prompts[s + 1]
    for i = 1, #ids - 1 do toks[i], seqs[i], want[i] = ids[i], s, false end
    assert(c:decode(toks, seqs, want))
  end
  local toks, seqs, want, samplers, out = {}, {}, {}, {}, {}
  for i = 1, B do
    toks[i], seqs[i], want[i] = prompts[i][#prompts[i]], i - 1, true
    samplers[i] = assert(sampler.new({ temperature = 0.6, top_p = 0.95, seed = i }))
  end
  local t0 = core.now_ms()
  local dt = {}
  for k = 1, steps do
    local s0 = core.now_ms()
    assert(c:decode(toks, seqs, want))
    if sample then
      assert(c:sample(samplers, out))
      for i = 1, B do
        samplers[i]:accept(out[i])
        toks[i] = out[i]
      end
    end
    dt[k] = core.now_ms() - s0
  end
  local wall = core.now_ms() - t0
  table.sort(dt)
  -- the median step: robust to the preemptions of a shared machine
  return B * steps * 1000 / wall, B * 1000 / dt[math.floor((steps + 1) / 2)]
end

print(string.format("cpu: %s, %d threads; %d steps", llm.backends().cpu.isa,
  threads or llm.backends().cpu.threads, steps))
-- t/s over the wall time of all steps, and B / (median step time)
print("| model | B | decode t/s | median-step t/s | vs B=1 | with sampling t/s | median-step t/s | vs B=1 |")
print("|---|---|---|---|---|---|---|---|")
setup.each_model(threads, 8, function(name, m)
  local b0, s0
  for _, B in ipairs(Bs) do
    local d, dm = run(m, B, false)
    local s, sm = run(m, B, true)
    b0, s0 = b0 or dm, s0 or sm
    print(string.format("| %s | %d | %.1f | %.1f | %.2fx | %.1f | %.1f | %.2fx |", name, B, d, dm, dm / b0,
      s, sm, sm / s0))
    io.stdout:flush()
  end
end)
