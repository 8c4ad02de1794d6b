-- Several-token generation steps on one model (a GPU check of the kernels'
-- several-token paths; the micro-model version with sampling is
-- batch_decode.lua): B sequences of one token each per step, 64 steps from
-- an empty cache, as llama-batched-bench (a fixed token, no sampling).
-- Median of 3 timed runs after a warm-up, with min-max.
--   lua5.4 bench/cuda_batch_step.lua MODEL.gguf [B=8]    (TAG=... is echoed)
local llm = require("luallm")
local core = require("luallm_core")
local m = assert(llm.load(arg[1], { n_gpu_layers = 99 }))
local B = tonumber(arg[2] or 8)
local ctx = assert(m:context({ n_ctx = 512, n_seq = B, n_batch = B }))
local toks, seqs, want = {}, {}, {}
for i = 1, B do toks[i] = 100 + i; seqs[i] = i - 1; want[i] = true end
local res = {}
for r = 0, 3 do
  ctx:clear()
  local t0 = core.now_ms()
  for _ = 1, 64 do assert(ctx:decode(toks, seqs, want)) end
  if r > 0 then res[#res + 1] = B * 64 * 1000 / (core.now_ms() - t0) end
end
table.sort(res)
print(string.format("batch B=%d %s: %.1f t/s (%.1f-%.1f) %s", B, arg[1]:match("[^/]*$"), res[2], res[1], res[3],
  os.getenv("TAG") or ""))
