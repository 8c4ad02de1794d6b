-- Plan against reality on a CUDA machine: llm.plan's device bytes beside what
-- the backends allocated there (their own count of cudaMalloc'ed bytes: the
-- CUDA backend's, and the GPU assist of the CPU layers) and the
-- drop in the device's free memory (which also holds the CUDA runtime's and
-- cuBLAS's own buffers, invisible to the plan). One JSON line per run.
--   lua5.4 bench/plan_check.lua MODEL NGL [N_CTX]
local llm = require("luallm")
local json = require("luallm.json")

local path, ngl, n_ctx = arg[1], arg[2], tonumber(arg[3] or "4096")
if not path or not ngl then
  io.stderr:write("usage: plan_check.lua MODEL NGL|auto [N_CTX]\n")
  os.exit(2)
end
ngl = ngl == "auto" and "auto" or assert(tonumber(ngl), "NGL must be a number or auto")
local cuda = llm.backends().cuda
if not (cuda.compiled and #cuda.devices > 0) then
  print(json.encode({ skipped = "no CUDA device" }))
  return
end
local function free_now() return llm.backends().cuda.devices[1].mem_free end

local opts = { n_gpu_layers = ngl, n_ctx = n_ctx, n_batch = 512 }
local p = assert(llm.plan(path, opts))
local free0 = free_now()
local m = assert(llm.load(path, { n_gpu_layers = p.gpu_layers, n_ctx = n_ctx }))
local c = assert(m:context({ n_ctx = n_ctx, n_batch = 512 }))
-- a full batch, so every lazily allocated buffer exists
local ids = {}
for i = 1, 512 do ids[i] = (i * 7919) % 30000 end
assert(c:eval(ids))
local info = c:info()
local dev = 0
for _, b in ipairs(info.backends) do
  dev = dev + b.device_bytes
end
local free1 = free_now()
print(json.encode({
  model = path:match("[^/]*$"), gpu_layers = p.gpu_layers, n_layer = p.n_layer, n_ctx = n_ctx,
  plan_device = p.device_bytes, real_device = dev, free_drop = free0 - free1,
  rel_err = dev > 0 and (p.device_bytes - dev) / dev or 0,
  plan_host = p.host_bytes, split = m:placement().split,
}))
c:close()
