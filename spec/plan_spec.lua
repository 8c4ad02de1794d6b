-- Memory planning: the estimate against what the engine really allocates on
-- the micro models, the KV formula, split strings, auto_layers under small
-- budgets, and a header-only 70B Q8_0 file (sparse) that does not fit.
local llm = require("luallm")
local plan_mod = require("luallm.plan")
local core = require("luallm_core")
local shared = require("support.shared")

local MODELS = { "models/micro-r1-llama-f16.gguf", "models/micro-r1-qwen2-f16.gguf" }
local GiB = 1024 * 1024 * 1024

local function file_weights(path)
  local g = assert(llm.gguf.open(path))
  local n = 0
  for _, t in ipairs(g.tensors) do n = n + t.nbytes end
  g:close()
  return n
end

local function row_size(kv_type, n)
  if kv_type == "q8_0" then return n / 32 * 34 end
  return n * (kv_type == "f32" and 4 or 2)
end

describe("llm.plan on the micro models", function()
  for _, rel in ipairs(MODELS) do
    it("matches the engine's allocations within 5%: " .. rel, function()
      local path = shared.need(rel)
      if not path then return end
      local p = assert(llm.plan(path, { n_ctx = 256, n_batch = 256, threads = 2, n_gpu_layers = 0,
                                        vram_budget = 0, ram_budget = 64 * GiB }))
      local m = assert(core.model_load(path))
      local c = assert(core.context_new(m, { n_ctx = 256, n_batch = 256, threads = 2 }))
      local real = file_weights(path) + c:info().bytes
      c:close()
      m:close()
      assert.are.equal(p.host_bytes, p.total_bytes)
      assert.are.equal(0, p.device_bytes)
      local rel_err = math.abs(p.total_bytes - real) / real
      assert.is_true(rel_err < 0.05, string.format("plan %d vs real %d (%.2f%%)", p.total_bytes, real, rel_err * 100))
      assert.are.equal("100% CPU", p.split)
      assert.is_true(p.fits)
      assert.are.equal(0, p.over_bytes)
      assert.are.equal(p.n_layer, #p.per_layer)
    end)

    it("computes the KV cache exactly: " .. rel, function()
      local path = shared.need(rel)
      if not path then return end
      local m = assert(core.model_load(path))
      local info = m:info()
      m:close()
      local kvd = info.n_head_kv * info.head_dim
      for _, kt in ipairs({ "f16", "f32", "q8_0" }) do
        for _, n_ctx in ipairs({ 64, 256, 1000 }) do
          local p = assert(llm.plan(path, { n_ctx = n_ctx, kv_type = kt, n_gpu_layers = 0, vram_budget = 0 }))
          assert.are.equal(info.n_layers * 2 * n_ctx * row_size(kt, kvd), p.kv_bytes)
        end
      end
      -- n_ctx counts cells over all sequences: n_seq does not multiply it
      local a = assert(llm.plan(path, { n_ctx = 256, n_seq = 4, vram_budget = 0 }))
      assert.are.equal(info.n_layers * 2 * 256 * kvd * 2, a.kv_bytes)
    end)
  end

  it("splits by bytes as ollama ps shows it", function()
    assert.are.equal("100% CPU", plan_mod.split_string(100, 0))
    assert.are.equal("100% GPU", plan_mod.split_string(0, 100))
    assert.are.equal("80%/20% CPU/GPU", plan_mod.split_string(80, 20))
    local path = shared.need(MODELS[1])
    if not path then return end
    local p = assert(llm.plan(path, { n_ctx = 256, n_gpu_layers = 2, vram_budget = GiB }))
    assert.are.equal(2, p.gpu_layers)
    assert.are.equal(2, p.cpu_layers)
    assert.is_true(p.device_bytes > 0)
    assert.are.equal(p.host_bytes + p.device_bytes, p.total_bytes)
    local cpu = math.floor(p.host_bytes * 100 / p.total_bytes + 0.5)
    assert.are.equal(string.format("%d%%/%d%% CPU/GPU", cpu, 100 - cpu), p.split)
    assert.are.equal("gpu", p.per_layer[4].device)
    assert.are.equal("cpu", p.per_layer[1].device)
    assert.is_false(p.output_on_gpu)
  end)

  it("auto_layers gives 0, some and all layers as the budget grows", function()
    local path = shared.need(MODELS[1])
    if not path then return end
    local o = { n_ctx = 256 }
    local function auto(v)
      o.vram_budget = v
      return assert(plan_mod.auto_layers(path, o))
    end
    assert.are.equal(0, auto(0))
    assert.are.equal(0, auto(200 * 1024 * 1024)) -- less than the margin alone
    local some = auto(300 * 1000 * 1000)
    assert.is_true(some > 0 and some < 4, "some layers: " .. some)
    assert.are.equal(4, auto(2 * GiB))
    -- "auto" in llm.plan uses the same choice
    local p = assert(llm.plan(path, { n_ctx = 256, n_gpu_layers = "auto", vram_budget = 2 * GiB }))
    assert.are.equal(4, p.gpu_layers)
    assert.is_true(p.output_on_gpu)
    assert.are.equal(0, p.cpu_layers)
  end)

  it("parses sizes", function()
    assert.are.equal(8 * GiB, plan_mod.parse_size("8G"))
    assert.are.equal(64 * GiB, plan_mod.parse_size("64GiB"))
    assert.are.equal(512 * 1024 * 1024, plan_mod.parse_size("512M"))
    assert.are.equal(1234, plan_mod.parse_size("1234"))
    assert.is_nil(plan_mod.parse_size("lots"))
  end)
end)

describe("llm.plan on a header-only 70B Q8_0 file", function()
  local tmp = shared.tmpdir()
  teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)
  local path = tmp .. "/r1-distill-llama-70b-q8_0.gguf"

  -- DeepSeek-R1-Distill-Llama-70B shapes; no tensor data (the file is a hole).
  local function write_70b()
    local D, F, V, L, hd = 8192, 28672, 128256, 80, 128
    local t = {}
    local function add(name, ty, shape) t[#t + 1] = { name = name, type = ty, shape = shape } end
    add("token_embd.weight", "Q8_0", { D, V })
    add("output_norm.weight", "F32", { D })
    add("output.weight", "Q8_0", { D, V })
    add("rope_freqs.weight", "F32", { hd / 2 })
    for i = 0, L - 1 do
      local b = "blk." .. i .. "."
      add(b .. "attn_norm.weight", "F32", { D })
      add(b .. "attn_q.weight", "Q8_0", { D, 64 * hd })
      add(b .. "attn_k.weight", "Q8_0", { D, 8 * hd })
      add(b .. "attn_v.weight", "Q8_0", { D, 8 * hd })
      add(b .. "attn_output.weight", "Q8_0", { 64 * hd, D })
      add(b .. "ffn_norm.weight", "F32", { D })
      add(b .. "ffn_gate.weight", "Q8_0", { D, F })
      add(b .. "ffn_up.weight", "Q8_0", { D, F })
      add(b .. "ffn_down.weight", "Q8_0", { F, D })
    end
    return llm.gguf.write(path, {
      sparse = true,
      metadata = {
        ["general.architecture"] = "llama",
        ["llama.embedding_length"] = D,
        ["llama.block_count"] = L,
        ["llama.feed_forward_length"] = F,
        ["llama.attention.head_count"] = 64,
        ["llama.attention.head_count_kv"] = 8,
        ["llama.context_length"] = 131072,
        ["llama.rope.dimension_count"] = hd,
        ["llama.attention.layer_norm_rms_epsilon"] = { type = "float32", value = 1e-5 },
        ["llama.rope.freq_base"] = { type = "float32", value = 500000 },
      },
      tensors = t,
    })
  end

  local GB = 1000 * 1000 * 1000
  it("says it does not fit in 64 GB RAM + 8 GB VRAM, by how much, and what would", function()
    assert(write_70b())
    local g = assert(llm.gguf.open(path))
    assert.is_true(g.file_size > 70e9)
    g:close()
    local t0 = os.clock()
    local p = assert(llm.plan(path, { n_ctx = 4096, n_gpu_layers = "auto",
                                      vram_budget = 8 * GB, ram_budget = 64 * GB }))
    local ms = (os.clock() - t0) * 1000
    assert.are.equal(80, p.n_layer)
    assert.is_true(p.weights_bytes > 70e9, "weights " .. p.weights_bytes)
    -- 4096 cells x 80 layers x K,V x 1024 x F16
    assert.are.equal(80 * 2 * 4096 * 1024 * 2, p.kv_bytes)
    assert.is_true(p.gpu_layers > 0 and p.gpu_layers < 80, "gpu layers " .. p.gpu_layers)
    assert.is_true(p.device_bytes <= plan_mod.usable_vram(8 * GB))
    assert.is_false(p.fits)
    assert.is_true(p.over_bytes > 0)
    assert.are.equal(p.host_bytes - 64 * GB, p.over_bytes)
    assert.is_true(p.over_bytes > 5 * GB, "short by " .. p.over_bytes)
    local text = table.concat(p.advice, "\n")
    assert.matches("does not fit", text)
    assert.matches("short by", text)
    assert.matches("a Q%d_K_?M? file", text) -- a smaller quant
    assert.matches("context", text)
    assert.matches("q8_0", text)
    assert.is_true(ms < 1000, "plan took " .. ms .. " ms")
    -- and with the whole model on a big enough GPU it fits, 100% GPU but the embedding
    local big = assert(llm.plan(path, { n_ctx = 4096, n_gpu_layers = -1, vram_budget = 141 * GiB,
                                        ram_budget = 64 * GiB }))
    assert.is_true(big.fits)
    assert.are.equal(80, big.gpu_layers)
    assert.matches("CPU/GPU", big.split)
  end)
end)

describe("luallm info --json plan", function()
  it("carries the plan fields", function()
    local path = shared.need(MODELS[2])
    if not path then return end
    local i = -1
    while arg and arg[i - 1] do i = i - 1 end
    local lua = (arg and arg[i]) or (jit and "luajit" or "lua5.4")
    local h = io.popen("'" .. lua .. "' bin/luallm info '" .. path .. "' --ctx 256 --ngl 0 --vram 0 --ram 64G --json")
    local out = h:read("*a")
    h:close()
    local info = assert(require("luallm.json").decode(out))
    assert.is_table(info.plan)
    assert.are.equal("100% CPU", info.plan.split)
    assert.are.equal(256, info.plan.n_ctx)
    assert.is_true(info.plan.fits)
    assert.are.equal(info.plan.host_bytes, info.plan.total_bytes)
  end)
end)
