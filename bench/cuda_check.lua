-- The CUDA backend against the CPU on one model of any size (the CUDA spec
-- does this on the small micro models; this one is for the synthetic 7B
-- shapes the device benches, whose kernels take other paths: head dim 128,
-- rows per lane, K splits). A 16-token prompt, then STEPS single-token steps (the CPU's
-- greedy tokens); per eval the largest logit difference, relative to the
-- largest logit, and whether the two argmaxes agree.
--   lua5.4 bench/cuda_check.lua model.gguf [steps] [threads]
-- With LUALLM_CHECK_DUMP=file the GPU's logits are written there when the
-- file is absent, else compared with it (another build's GPU logits on the
-- same file and tokens: an A/B of kernel variants).
local llm = require("luallm")
local core = llm.core

local path = arg[1]
local steps, threads = tonumber(arg[2] or "4"), tonumber(arg[3] or "16")
if not path then
  io.stderr:write("usage: cuda_check.lua model.gguf [steps] [threads]\n")
  os.exit(2)
end
local cuda = llm.backends().cuda
if not (cuda.compiled and #cuda.devices > 0) then
  print("cuda_check: no CUDA device")
  os.exit(1)
end

local cpu_m = assert(core.model_load(path))
local gpu_m = assert(core.model_load(path, { n_gpu_layers = -1 }))
local n_vocab = cpu_m:info().n_vocab
local ids, s = {}, 7
for i = 1, 16 do
  s = (s * 1103515245 + 12345) % 2147483648
  ids[i] = s % math.min(n_vocab, 30000)
end
local cc = assert(core.context_new(cpu_m, { n_ctx = 256, threads = threads }))
local gc = assert(core.context_new(gpu_m, { n_ctx = 256 }))

local dump_path = os.getenv("LUALLM_CHECK_DUMP")
local dump_in = dump_path and io.open(dump_path, "rb")
local dump_out = dump_path and not dump_in and assert(io.open(dump_path, "wb"))

local worst = 0
local function compare(tag)
  local a, b = assert(cc:logits_buf()), assert(gc:logits_buf())
  if dump_out then
    for i = 1, #b do dump_out:write(string.pack("<f", b[i])) end
  elseif dump_in then
    local raw, d = assert(dump_in:read(4 * #b)), 0
    for i = 1, #b do
      local x = math.abs(string.unpack("<f", raw, 4 * i - 3) - b[i])
      if x > d then d = x end
    end
    print(string.format("%s %s: max |diff| against the dump %.4g", path:match("[^/]*$"), tag, d))
  end
  local d, top = 0, 0
  for i = 1, #a do
    local x = math.abs(a[i] - b[i])
    if x > d then d = x end
    if math.abs(a[i]) > top then top = math.abs(a[i]) end
  end
  local rel = d / math.max(top, 1e-30)
  if rel > worst then worst = rel end
  print(string.format("%s %s: max |diff| %.4g, max |logit| %.4g, relative %.3g, argmax %s", path:match("[^/]*$"),
    tag, d, top, rel, cc:argmax() == gc:argmax() and "same" or "DIFFERS"))
end

assert(cc:eval(ids))
assert(gc:eval(ids))
compare("prompt")
for step = 1, steps do
  local t = cc:argmax()
  assert(cc:eval({ t }))
  assert(gc:eval({ t }))
  compare("step " .. step)
end
print(string.format("cuda_check: worst relative difference %.3g", worst))
if dump_out then dump_out:close() end
