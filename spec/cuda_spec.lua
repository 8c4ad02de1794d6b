-- The CUDA backend against the CPU backend. Skips (pending) without a CUDA
-- build or device. Model: LUALLM_CUDA_MODEL, else the shared micro models.
-- Kernels: every device weight type against the reference dequantization of
-- models/quant/quant-zoo (LUALLM_CUDA_ZOO names another folder holding it).
local llm = require("luallm")
local files = require("support.files")
local shared = require("support.shared")
local json = require("luallm.json")
local core = llm.core

local cuda = llm.backends().cuda
local has_gpu = cuda.compiled and #cuda.devices > 0

local function need_gpu()
  if not has_gpu then
    pending(cuda.compiled and "no CUDA device" or "built without CUDA")
    return false
  end
  return true
end

local exists, read_all, read_at = files.exists, files.read_all, files.read_at

-- Weight types the matrix-vector kernels dot on 8-bit activations (matvec_q8.cu).
local Q8_ACTS = { Q8_0 = true, Q4_K = true, Q6_K = true }

-- Deterministic pseudo-random numbers in [-1, 1) (no math.random: its
-- sequence differs between Lua 5.4 and LuaJIT).
local function lcg(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 1073741824 - 1
  end
end

local function max_abs(a, b, n)
  local m = 0
  for i = 1, n do
    local d = math.abs(a[i] - b[i])
    if d ~= d then return math.huge end
    if d > m then m = d end
  end
  return m
end

local function max_mag(a, n)
  local m = 0
  for i = 1, n do
    local v = math.abs(a[i])
    if v > m then m = v end
  end
  return m
end

describe("cuda backend info", function()
  it("reports the build and its devices without failing", function()
    assert.is_boolean(cuda.compiled)
    assert.is_table(cuda.devices)
    for _, d in ipairs(cuda.devices) do
      assert.is_string(d.name)
      assert.is_true(d.mem_total > 0)
    end
  end)

  it("refuses GPU layers clearly when there is no device", function()
    if not cuda.compiled or has_gpu then
      pending("needs a CUDA build on a machine without a device")
      return
    end
    local p = shared.path("models/micro-r1-qwen2-f16.gguf")
    if not p then pending("needs models/micro-r1-qwen2-f16.gguf") return end
    local m, err = core.model_load(p, { n_gpu_layers = -1 })
    assert.is_nil(m)
    assert.truthy(err:match("CUDA device"))
  end)
end)

describe("cuda kernels", function()
  local zoo_dir = os.getenv("LUALLM_CUDA_ZOO")
  local function zoo(name)
    if zoo_dir then
      local p = zoo_dir .. "/" .. name
      if exists(p) then return p end
    end
    local p = shared.path("models/quant/" .. name)
    if not p then pending("needs models/quant/" .. name .. " (set LUALLM_SHARED or LUALLM_CUDA_ZOO)") end
    return p
  end

  it("multiply every weight type like its reference dequantization", function()
    if not need_gpu() then return end
    local gpath, jpath, fpath = zoo("quant-zoo.gguf"), zoo("quant-zoo.json"), zoo("quant-zoo.f32")
    if not (gpath and jpath and fpath) then return end
    local ref = assert(json.decode(read_all(jpath)))
    local g = assert(core.gguf_open(gpath))
    local by_name = {}
    for _, t in ipairs(g.tensors) do by_name[t.name] = t end
    local types = { F16 = 1, BF16 = 1, Q8_0 = 1, Q4_0 = 1, Q5_0 = 1, Q4_K = 1, Q5_K = 1, Q6_K = 1 }
    local n_checked = 0
    for _, r in ipairs(ref.tensors) do
      if types[r.type] then
        local t = assert(by_name[r.tensor], r.tensor)
        local K, N = r.ne[1], r.ne[2]
        local wq = read_at(gpath, t.offset, t.nbytes)
        local wf = read_at(fpath, r.values_offset, 4 * K * N)
        for _, T in ipairs({ 1, 3, 16 }) do
          local rnd, x = lcg(7 + T), {}
          for i = 1, T * K do x[i] = rnd() end
          local yq = assert(core.cuda_matmul_test(r.type, wq, N, K, x, T))
          local yf = assert(core.cuda_matmul_test("F32", wf, N, K, x, T))
          local err = max_abs(yq, yf, T * N) / math.max(max_mag(yf, T * N), 1e-6)
          -- matrix-vector: FP32 on identical values, except for the types
          -- dotted on 8-bit activations (matvec_q8.cu); cuBLAS: FP16 operands
          local tol = T <= 8 and (Q8_ACTS[r.type] and 1e-2 or 1e-5) or 5e-3
          assert(err <= tol, string.format("%s T=%d: relative error %.3g > %.1g", r.type, T, err, tol))
          n_checked = n_checked + 1
        end
        if string.unpack and r.type ~= "F16" then
          -- one row on the host, from the reference values: the F32 path itself
          -- (types dotted on 8-bit activations: within their rounding, 1% of
          -- the sum of |w x|)
          local row = {}
          for k = 1, K do row[k] = string.unpack("<f", wf, 4 * (k - 1) + 1) end
          local rnd, x = lcg(8), {}
          for i = 1, K do x[i] = rnd() end
          local yq = assert(core.cuda_matmul_test(r.type, wq, N, K, x, 1))
          local s, mag = 0, 0
          for k = 1, K do
            s = s + row[k] * x[k]
            mag = mag + math.abs(row[k] * x[k])
          end
          local tol = Q8_ACTS[r.type] and 1e-2 * mag or 1e-4 * math.max(1, math.abs(s))
          assert(math.abs(yq[1] - s) <= tol, r.type .. ": host row 0 differs")
        end
      end
    end
    g:close()
    assert.is_true(n_checked >= 24)
  end)
end)

-- Models: the env override, else whichever shared micro models are present.
local models = {}
if os.getenv("LUALLM_CUDA_MODEL") then
  for p in os.getenv("LUALLM_CUDA_MODEL"):gmatch("[^:]+") do models[#models + 1] = p end
else
  for _, rel in ipairs({ "models/micro-r1-qwen2-f16.gguf", "models/micro-r1-llama-f16.gguf",
                         "models/quant/micro-r1-qwen2-q4_k_m.llamacpp.gguf" }) do
    local p = shared.path(rel)
    if p then models[#models + 1] = p end
  end
  local carried = ".carry/micro-r1-qwen2-q4_k_m.llamacpp.gguf"
  if #models == 0 and exists(carried) then models[1] = carried end
end

-- Prompt ids: the reference prompts when the model's vocabulary fits them.
local function prompts(n_vocab)
  local out = {}
  local s = shared.read("models/reference/micro-r1-qwen2.json")
  local ok, ref = pcall(json.decode, s or "")
  if ok and type(ref) == "table" and ref.prompts then
    for i = 1, math.min(3, #ref.prompts) do
      local ids, fits = ref.prompts[i].prompt_ids, true
      for _, id in ipairs(ids) do if id >= n_vocab then fits = false end end
      if fits then out[#out + 1] = ids end
    end
  end
  if #out == 0 then
    local rnd = lcg(3)
    for k = 1, 3 do
      local ids = {}
      for i = 1, 10 + 5 * k do ids[i] = math.floor((rnd() + 1) / 2 * math.min(n_vocab, 30000)) end
      out[k] = ids
    end
  end
  return out
end

for _, path in ipairs(models) do
  describe("cuda model " .. path:match("[^/]*$"), function()
    -- Quantized weights: the CPU dots them against 8-bit quantized
    -- activations (Q8_0/Q8_K, as ggml does) while the GPU dots in FP32, so
    -- the two differ by the activation rounding (0.15 seen on Q4_K_M logits
    -- of magnitude ~20, with identical greedy tokens). F16 weights: 1e-2.
    local tol = (os.getenv("LUALLM_CUDA_TOL") and tonumber(os.getenv("LUALLM_CUDA_TOL")))
      or (path:lower():match("f16") and 1e-2 or 0.25)
    local cpu_m, gpu_m, part_m, err

    local function setup()
      if not need_gpu() then return false end
      if not cpu_m then
        cpu_m, err = core.model_load(path)
        if not cpu_m then pending("CPU cannot load " .. path .. ": " .. tostring(err)) return false end
        gpu_m = assert(core.model_load(path, { n_gpu_layers = -1 }))
        local nl = cpu_m:info().n_layers
        part_m = assert(core.model_load(path, { n_gpu_layers = math.min(2, nl - 1) }))
      end
      return true
    end

    local function compare(tag, cc, gc, row)
      local a, b = assert(cc:logits_buf(row)), assert(gc:logits_buf(row))
      assert.are.equal(#a, #b)
      local d = max_abs(a, b, #a)
      print(string.format("  %s %s: max |logit diff| %.4g (tol %.2g)", path:match("[^/]*$"), tag, d, tol))
      assert(d <= tol, string.format("%s: max |logit diff| %.4g > %.2g", tag, d, tol))
    end

    it("matches the CPU on prompts and single steps (full offload)", function()
      if not setup() then return end
      assert.are.equal(gpu_m:info().n_layers, gpu_m:placement().gpu_layers)
      for k, ids in ipairs(prompts(cpu_m:info().n_vocab)) do
        local cc = assert(core.context_new(cpu_m, { n_ctx = 256 }))
        local gc = assert(core.context_new(gpu_m, { n_ctx = 256 }))
        assert(cc:eval(ids))
        assert(gc:eval(ids))
        compare("prompt " .. k, cc, gc)
        for step = 1, 3 do
          local t = cc:argmax()
          assert(cc:eval({ t }))
          assert(gc:eval({ t }))
          compare("prompt " .. k .. " step " .. step, cc, gc)
        end
      end
    end)

    it("generates the same 32 greedy tokens", function()
      if not setup() then return end
      local ids = prompts(cpu_m:info().n_vocab)[1]
      local function run(m)
        local c = assert(core.context_new(m, { n_ctx = 256 }))
        assert(c:eval(ids))
        local out = {}
        for i = 1, 32 do
          out[i] = c:argmax()
          assert(c:eval({ out[i] }))
        end
        return out
      end
      local a, b = run(cpu_m), run(gpu_m)
      assert.are.same(a, b)
    end)

    it("matches the CPU with partial offload", function()
      if not setup() then return end
      local ids = prompts(cpu_m:info().n_vocab)[1]
      local cc = assert(core.context_new(cpu_m, { n_ctx = 256 }))
      local pc = assert(core.context_new(part_m, { n_ctx = 256 }))
      assert(cc:eval(ids))
      assert(pc:eval(ids))
      compare("partial prompt", cc, pc)
      for step = 1, 4 do
        local t = cc:argmax()
        assert(cc:eval({ t }))
        assert(pc:eval({ t }))
        compare("partial step " .. step, cc, pc)
      end
    end)

    it("runs a long prompt's CPU layers on the GPU assist like the CPU", function()
      if not setup() then return end
      local rnd, ids = lcg(11), {}
      for i = 1, 100 do ids[i] = math.floor((rnd() + 1) / 2 * math.min(cpu_m:info().n_vocab, 30000)) end
      local cc = assert(core.context_new(cpu_m, { n_ctx = 256 }))
      local pc = assert(core.context_new(part_m, { n_ctx = 256 }))
      local info = pc:info()
      assert.are.equal("cpu", info.backends[1].name)
      assert.is_true(info.backends[1].device_bytes > 0, "the CPU layers have no GPU assist")
      assert(cc:eval(ids))
      assert(pc:eval(ids))
      compare("assisted prompt", cc, pc)
      local t = cc:argmax()
      assert(cc:eval({ t }))
      assert(pc:eval({ t }))
      compare("assisted prompt, then a step", cc, pc)
    end)

    it("decodes two sequences in one batch like the CPU", function()
      if not setup() then return end
      local ps = prompts(cpu_m:info().n_vocab)
      local a, b = ps[1], ps[2] or ps[1]
      local toks, seqs, want = {}, {}, {}
      for i, t in ipairs(a) do toks[#toks + 1] = t; seqs[#seqs + 1] = 0; want[#want + 1] = i == #a end
      for i, t in ipairs(b) do toks[#toks + 1] = t; seqs[#seqs + 1] = 1; want[#want + 1] = i == #b end
      local cc = assert(core.context_new(cpu_m, { n_ctx = 256, n_seq = 2 }))
      local gc = assert(core.context_new(gpu_m, { n_ctx = 256, n_seq = 2 }))
      assert.are.equal(2, cc:decode(toks, seqs, want))
      assert.are.equal(2, gc:decode(toks, seqs, want))
      compare("seq 0 prompt", cc, gc, 1)
      compare("seq 1 prompt", cc, gc, 2)
      for step = 1, 4 do
        local t0, t1 = cc:argmax(1), cc:argmax(2)
        assert(cc:decode({ t0, t1 }, { 0, 1 }, { true, true }))
        assert(gc:decode({ t0, t1 }, { 0, 1 }, { true, true }))
        compare("two seqs step " .. step .. " seq 0", cc, gc, 1)
        compare("two seqs step " .. step .. " seq 1", cc, gc, 2)
      end
    end)
  end)
end
