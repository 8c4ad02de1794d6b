-- CUDA throughput: pp512 (one 512-token prompt eval) and tg128 (128 single
-- token steps) with every layer on the GPU, as tokens per second.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
--     lua5.4 bench/cuda_bench.lua [model.gguf] [n_gpu_layers]
-- The model defaults to LUALLM_CUDA_MODEL, then the shared micro qwen2 model.
-- Without a CUDA device it says so and exits 0 (make bench runs it everywhere).
local llm = require("luallm")
local core = llm.core

local cuda = llm.backends().cuda
if not (cuda.compiled and #cuda.devices > 0) then
  print("cuda_bench: skipped (" .. (cuda.compiled and "no CUDA device" or "built without CUDA") .. ")")
  return
end

local shared_root = os.getenv("LUALLM_SHARED") or "../shared"
local function exists(p)
  local f = p and io.open(p, "rb")
  if f then f:close() return true end
  return false
end
local path = arg and arg[1] or os.getenv("LUALLM_CUDA_MODEL")
if not path then
  for _, p in ipairs({ shared_root .. "/models/micro-r1-qwen2-f16.gguf",
                       shared_root .. "/models/quant/micro-r1-qwen2-q4_k_m.llamacpp.gguf",
                       ".carry/micro-r1-qwen2-q4_k_m.llamacpp.gguf" }) do
    if exists(p) then path = p break end
  end
end
if not path then
  print("cuda_bench: skipped (no model: pass a path or set LUALLM_CUDA_MODEL)")
  return
end
local n_gpu = tonumber(arg and arg[2] or "-1")

local now = core.now_ms
local t0 = now()
local m = assert(core.model_load(path, { n_gpu_layers = n_gpu }))
local info = m:info()
local c = assert(core.context_new(m, { n_ctx = 1024, n_batch = 512 }))
local load_ms = now() - t0

local ids = {}
local s = 12345
for i = 1, 512 do
  s = (s * 1103515245 + 12345) % 2147483648
  ids[i] = s % math.min(info.n_vocab, 30000)
end

-- warm-up: first cuBLAS calls and the lazy FP16 weight scratch
assert(c:eval({ ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8], ids[9], ids[10] }))
assert(c:eval({ 1 }))
c:clear()

local function median(t)
  table.sort(t)
  return t[math.floor((#t + 1) / 2)]
end

local pp = {}
for r = 1, 3 do
  c:clear()
  local a = now()
  assert(c:eval(ids))
  pp[r] = now() - a
end
local pp_ms = median(pp)

local tg = {}
for r = 1, 3 do
  c:clear()
  assert(c:eval({ ids[1] }))
  local tok = c:argmax()
  local a = now()
  for _ = 1, 128 do
    assert(c:eval({ tok }))
    tok = c:argmax()
  end
  tg[r] = now() - a
end
local tg_ms = median(tg)

print(string.format("cuda_bench: %s (%s, %d layers, n_embd %d, %.1f MB) on %s, n_gpu_layers %d, load %.0f ms",
  path:match("[^/]*$"), info.arch, info.n_layers, info.n_embd, info.file_size / 1e6, cuda.devices[1].name,
  m:info().n_gpu_layers, load_ms))
print(string.format("  pp512: %8.1f tok/s  (%.2f ms)", 512 / (pp_ms / 1000), pp_ms))
print(string.format("  tg128: %8.1f tok/s  (%.3f ms/token)", 128 / (tg_ms / 1000), tg_ms / 128))
