-- llm.synth / `luallm synth`: random-weight models with the exact shapes of
-- the R1-Distill models. Sparse files of every shape (tensor list, parameter
-- counts, file sizes as llama.cpp's files of those shapes), the per-type
-- scale of the generated values, shallow dense models that the engine loads
-- and runs to finite logits, and the error paths.
local llm = require("luallm")
local files = require("support.files")
local core = require("luallm_core")
local synth = require("luallm.synth")
local quantize = require("luallm.quantize")
local shared = require("support.shared")

local tmp = shared.tmpdir()
teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)

local cli = require("support.cli")
local LUA = cli.interpreter()
local q = cli.q
local run = cli.runner(tmp)

-- Runs bin/luallm with args; returns stdout, stderr, exit code.
local function luallm(args)
  local out, rc, err = run(q(LUA) .. " bin/luallm " .. args)
  return out, err, rc
end

local QWEN_TOK, LLAMA_TOK = "models/micro-r1-qwen2-f16.gguf", "models/micro-r1-llama-f16.gguf"

-- Published parameter counts (the 1.5B without its output matrix: tied) and
-- the sizes of llama.cpp's files of these shapes (shared/anchors.md).
local CASES = {
  { "qwen-1.5b", QWEN_TOK, 1.5437e9, 151936, { Q4_K_M = 0.986e9, Q8_0 = 1.647e9, F16 = 3.09e9 } },
  { "Qwen-7B", QWEN_TOK, 7.6156e9, 152064, { Q4_K_M = 4.68e9, Q8_0 = 8.10e9, F16 = 15.24e9 } },
  { "R1-Distill-Qwen-14B", QWEN_TOK, 14.77e9, 152064, { Q4_K_M = 8.99e9 } },
  { "qwen-32b", QWEN_TOK, 32.76e9, 152064, { Q8_0 = 34.82e9 } },
  { "llama-8b", LLAMA_TOK, 8.03e9, 128256, { Q4_K_M = 4.92e9 } },
  { "DeepSeek-R1-Distill-Llama-70B", LLAMA_TOK, 70.55e9, 128256, { Q4_K_M = 42.5e9 } },
}

local function file_size(p) return assert(files.size(p), "cannot open " .. p) end

local function within(x, want, rel) return math.abs(x - want) <= rel * want end

describe("synth sparse files", function()
  for _, c in ipairs(CASES) do
    local name, tok_rel, params, vocab, sizes = c[1], c[2], c[3], c[4], c[5]
    it("have the tensors, metadata and size of " .. name, function()
      local tok = shared.need(tok_rel)
      if not tok then return end
      local s = assert(synth.shape(name))
      for ftype, want_bytes in pairs(sizes) do
        local out = tmp .. "/sparse.gguf"
        local r = assert(llm.synth(name, ftype, out, { tokenizer = tok, sparse = true }))
        assert.is_true(within(r.n_params, params, 0.005), name .. " params " .. r.n_params)
        assert.is_true(within(file_size(out), want_bytes, 0.02),
          string.format("%s %s: %d bytes, llama.cpp %d", name, ftype, file_size(out), want_bytes))
        local g = assert(core.gguf_open(out))
        local md = g.metadata
        assert.equal(s.arch, md["general.architecture"])
        assert.equal("synth " .. s.name, md["general.name"])
        assert.equal(quantize.FTYPES[ftype][2], md["general.file_type"])
        assert.equal(s.n_layer, md[s.arch .. ".block_count"])
        assert.equal(s.n_embd, md[s.arch .. ".embedding_length"])
        assert.equal(vocab, #md["tokenizer.ggml.tokens"])
        assert.equal(vocab, #md["tokenizer.ggml.token_type"])
        assert.is_string(md["tokenizer.chat_template"])
        -- every tensor: the shape the engine expects, the type the mix rules give
        local want = {}
        for _, t in ipairs(synth.tensors(s, ftype, s.n_layer)) do want[t.name] = t end
        local n, total = 0, 0
        for _, t in ipairs(g.tensors) do
          local w = want[t.name]
          assert.is_table(w, "unexpected tensor " .. t.name)
          assert.same(w.shape, t.shape)
          assert.equal(w.type, t.type)
          local e = 1
          for _, d in ipairs(t.shape) do e = e * d end
          n, total = n + 1, total + e
        end
        assert.equal(#synth.tensors(s, ftype, s.n_layer), n)
        assert.equal(r.n_params, total)
        assert.equal(s.arch == "llama", g.tensors[1].name == "rope_freqs.weight")
        local has_output = false
        for _, t in ipairs(g.tensors) do if t.name == "output.weight" then has_output = true end end
        assert.equal(not s.tied, has_output)
        g:close()
        -- memory planning reads only the header
        local p = assert(llm.plan(out, { n_ctx = 4096, n_gpu_layers = 0, vram_budget = 0 }))
        assert.is_true(p.total_bytes > 0.9 * want_bytes)
        os.remove(out)
      end
    end)
  end

  it("writes the llama3 rope factors even when sparse", function()
    local tok = shared.need(LLAMA_TOK)
    if not tok then return end
    local out = tmp .. "/l8.gguf"
    assert(llm.synth("llama-8b", "Q4_0", out, { tokenizer = tok, sparse = true, layers = 1 }))
    local g = assert(core.gguf_open(out))
    local f = assert(g:dequantize("rope_freqs.weight"))
    assert.equal(64, #f)
    assert.equal(1, f[1])        -- high frequencies keep theirs
    assert.equal(8, f[64])       -- low ones are slowed by the factor
    for i = 2, 64 do assert.is_true(f[i] >= f[i - 1]) end
    g:close()
    os.remove(out)
  end)
end)

describe("synth values", function()
  local TYPES = { "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
    "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K" }
  it("have the requested spread in every type, and the same seed gives the same bytes", function()
    local out = tmp .. "/values.gguf"
    local w = core.gguf_writer()
    for _, t in ipairs(TYPES) do
      assert(core.synth_tensor(w, { name = t, type = t, shape = { 512, 64 }, std = 0.02, seed = 7, threads = 2 }))
    end
    assert(core.synth_tensor(w, { name = "norm", type = "F32", shape = { 512 }, mean = 1, std = 0.02 }))
    assert(w:write(out))
    local g = assert(core.gguf_open(out))
    for _, t in ipairs(TYPES) do
      local f = assert(g:dequantize(t))
      local n, s, ss = #f, 0, 0
      for i = 1, n do s = s + f[i] end
      local mean = s / n
      for i = 1, n do ss = ss + (f[i] - mean) ^ 2 end
      local sd = math.sqrt(ss / n)
      assert.is_true(sd > 0.015 and sd < 0.027, t .. " sd " .. sd)
      assert.is_true(math.abs(mean) < 0.01, t .. " mean " .. mean)
    end
    local nf = g:dequantize("norm")
    assert.is_true(math.abs(nf:sum() / #nf - 1) < 0.01)
    local a = g:tensor_bytes("Q4_K")
    g:close()
    -- one thread instead of two, same seed: the same bytes
    w = core.gguf_writer()
    assert(core.synth_tensor(w, { name = "Q4_K", type = "Q4_K", shape = { 512, 64 }, std = 0.02, seed = 7, threads = 1 }))
    assert(w:write(out))
    g = assert(core.gguf_open(out))
    assert.equal(a, g:tensor_bytes("Q4_K"))
    g:close()
    os.remove(out)
  end)
end)

describe("synth dense models", function()
  for _, ftype in ipairs({ "Q4_K_M", "Q8_0" }) do
    it("load in the engine and give finite logits: qwen-1.5b, 2 layers, " .. ftype, function()
      local tok = shared.need(QWEN_TOK)
      if not tok then return end
      local out = tmp .. "/dense.gguf"
      local r = assert(llm.synth("qwen-1.5b", ftype, out, { tokenizer = tok, layers = 2, seed = 3 }))
      assert.equal(r.bytes, file_size(out))
      local m = assert(core.model_load(out))
      local c = assert(core.context_new(m, { n_ctx = 64, threads = 2 }))
      assert(c:eval({ 151646, 9707, 11, 1879, 0 }))
      local l = c:logits_buf()
      assert.equal(151936, #l)
      local lo, hi = math.huge, -math.huge
      for i = 1, #l do
        local v = l[i]
        assert.is_true(v == v and v > -math.huge and v < math.huge, "logit " .. i .. " = " .. tostring(v))
        if v < lo then lo = v end
        if v > hi then hi = v end
      end
      assert.is_true(hi > lo) -- not a constant row
      c:close()
      m:close()
      os.remove(out)
    end)
  end
end)

describe("synth errors", function()
  it("returns nil, msg for a bad shape, type, layer count or tokenizer", function()
    local tok = shared.need(QWEN_TOK)
    if not tok then return end
    local out = tmp .. "/bad.gguf"
    local r, err = llm.synth("qwen-3b", "Q4_K_M", out, { tokenizer = tok })
    assert.is_nil(r)
    assert.matches("unknown shape 'qwen%-3b'", err)
    r, err = llm.synth("qwen-7b", "Q7_K", out, { tokenizer = tok })
    assert.is_nil(r)
    assert.matches("unknown type 'Q7_K'", err)
    r, err = llm.synth("qwen-7b", "Q4_0", out, { tokenizer = tok, layers = 0 })
    assert.is_nil(r)
    assert.matches("layers", err)
    r, err = llm.synth("qwen-7b", "Q4_0", out, {})
    assert.is_nil(r)
    assert.matches("tokenizer", err)
    r, err = llm.synth("qwen-7b", "Q4_0", out, { tokenizer = tmp .. "/missing.gguf" })
    assert.is_nil(r)
    assert.is_string(err)
    assert.is_nil(io.open(out, "rb"))
  end)

  it("leaves no file behind when the write fails", function()
    local tok = shared.need(QWEN_TOK)
    if not tok then return end
    local dir = tmp .. "/fail"
    os.execute("mkdir -p '" .. dir .. "/target.gguf'") -- a directory: the final rename fails
    local r, err = llm.synth("qwen-1.5b", "Q4_0", dir .. "/target.gguf", { tokenizer = tok, layers = 1, sparse = true })
    assert.is_nil(r)
    assert.matches("rename", err)
    assert.equal("target.gguf", files.listdir(dir))
    r, err = llm.synth("qwen-1.5b", "Q4_0", tmp .. "/no/such/dir/x.gguf", { tokenizer = tok, layers = 1 })
    assert.is_nil(r)
    assert.is_string(err)
  end)

  it("CLI: one-line error and a nonzero exit", function()
    local tok = shared.need(QWEN_TOK)
    if not tok then return end
    local out, e, rc = luallm("synth qwen-9b Q4_K_M " .. q(tmp .. "/c.gguf") .. " --tokenizer " .. q(tok))
    assert.equal("", out)
    assert.not_equal(0, rc)
    assert.matches("^luallm: synth: unknown shape 'qwen%-9b'", e)
    assert.equal(1, select(2, e:gsub("\n", "")))
    out, e, rc = luallm("synth qwen-7b Q9 " .. q(tmp .. "/c.gguf") .. " --tokenizer " .. q(tok))
    assert.not_equal(0, rc)
    assert.matches("unknown type", e)
    out, e, rc = luallm("synth qwen-7b Q4_K_M " .. q(tmp .. "/c.gguf"))
    assert.not_equal(0, rc)
    assert.matches("%-%-tokenizer", e)
    assert.is_nil(io.open(tmp .. "/c.gguf", "rb"))
  end)

  it("CLI: writes a sparse file and reports it", function()
    local tok = shared.need(QWEN_TOK)
    if not tok then return end
    local out, e, rc = luallm("synth QWEN-7B q4_k_m " .. q(tmp .. "/c.gguf") .. " --sparse --tokenizer " .. q(tok))
    assert.equal(0, rc, e)
    assert.matches("qwen%-7b Q4_K_M, 28 layers, 7%.616 G params, 4%.68 GB, sparse", out)
    os.remove(tmp .. "/c.gguf")
  end)
end)
