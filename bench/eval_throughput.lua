-- Batched decoding throughput: aggregate generated tokens/s of llm.batch for
-- parallel = 1, 4, 16, 64 on the micro models (arith-dev prompts, R1 sampler,
-- fixed max_tokens so every parallel setting generates the same tokens).
--
--   LUALLM_SHARED=/work/shared LUA_PATH='lua/?.lua;lua/?/init.lua;;' \
--   LUA_CPATH='build/lua5.4/?.so;;' lua5.4 bench/eval_throughput.lua
--
-- Environment: BENCH_PARALLEL="1,4,16,64", BENCH_TOKENS (per request, default 8),
-- BENCH_REQUESTS (default: the largest parallel), BENCH_MODELS="qwen2,llama",
-- BENCH_THREADS.
local llm = require("luallm")
local batch = require("luallm.batch")

local setup = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/micro_setup.lua")
local list = setup.list
local pars = {}
for _, x in ipairs(list(os.getenv("BENCH_PARALLEL") or "1,4,16,64")) do pars[#pars + 1] = tonumber(x) end
local ntok = tonumber(os.getenv("BENCH_TOKENS") or "") or 8
local nreq = tonumber(os.getenv("BENCH_REQUESTS") or "") or math.max(table.unpack and table.unpack(pars) or unpack(pars))
local threads = tonumber(os.getenv("BENCH_THREADS") or "")
local qs = setup.questions()
if not qs then return end

print(string.format("cpu: %s, %d threads; %d requests x %d tokens each", llm.backends().cpu.isa,
  threads or llm.backends().cpu.threads, nreq, ntok))
-- tokens/s: generated tokens over the whole run (prompt prefill included);
-- step t/s: over the time of the decode steps only (prefill excluded), the
-- number comparable to llama-batched-bench's generation speed.
print("| model | parallel | tokens | seconds | tokens/s | vs parallel 1 | step t/s | vs parallel 1 |")
print("|---|---|---|---|---|---|---|---|")
setup.each_model(threads, 8, function(name, m)
  local base, sbase
  for _, par in ipairs(pars) do
    local b = assert(batch.new(m, { parallel = par, threads = threads }))
    for i = 1, nreq do
      -- distinct prompts (no shared prefix) so every setting does the same work
      local p = m:chat_template({ { role = "user", content = qs[(i - 1) % #qs + 1] } })
      assert(b:add({ prompt = p, group = i, max_tokens = ntok,
                     sampler = { temperature = 0.6, top_p = 0.95, seed = i } }))
    end
    local _, st = assert(b:run())
    -- generation only: prompt prefill is outside the step loop's tokens but
    -- inside its time; report both as the aggregate a user would see
    local tps = st.gen_tokens / st.seconds
    local sps = st.gen_tokens / (st.seconds - st.prefill_seconds)
    base, sbase = base or tps, sbase or sps
    print(string.format("| %s | %d | %d | %.2f | %.1f | %.2fx | %.1f | %.2fx |", name, par, st.gen_tokens,
      st.seconds, tps, tps / base, sps, sps / sbase))
    io.stdout:flush()
  end
end)
