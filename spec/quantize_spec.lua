-- llm.quantize: the llama.cpp-style mix rules, whole-file quantization of the
-- micro model (types per tensor, metadata, a correct greedy answer), error
-- quality per type against llama.cpp's own quantized tensors, and a failed
-- write that leaves nothing behind.
local llm = require("luallm")
local core = require("luallm_core")
local quantize = require("luallm.quantize")
local shared = require("support.shared")

local tmp = shared.tmpdir()
teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)

local listdir = require("support.files").listdir

describe("quantize rules", function()
  it("gives more bits to the first, last and every third layer", function()
    local got = {}
    for i = 0, 15 do if quantize.use_more_bits(i, 16) then got[#got + 1] = i end end
    assert.same({ 0, 1, 4, 7, 10, 13, 14, 15 }, got)
  end)

  it("keeps 1-D tensors F32 and falls back for rows that are not 256-blocks", function()
    local info = { shape = { 256 }, layer = 0, n_layer = 4, has_output = true, n_gqa = 2 }
    info.name = "blk.0.attn_norm.weight"
    assert.equal("F32", quantize.tensor_type("Q4_K_M", info))
    info.name, info.shape = "blk.0.ffn_up.weight", { 96, 64 }
    assert.equal("Q5_0", quantize.tensor_type("Q4_K_M", info))
    assert.equal("Q8_0", quantize.tensor_type("Q6_K", info))
    info.name, info.shape = "output.weight", { 512, 1000 }
    assert.equal("Q6_K", quantize.tensor_type("Q4_0", info))
    assert.equal("Q8_0", quantize.tensor_type("Q8_0", info))
    assert.equal("F16", quantize.tensor_type("F16", info))
  end)

  it("rejects unknown types", function()
    local r, err = llm.quantize("x.gguf", "y.gguf", "Q7_K")
    assert.is_nil(r)
    assert.matches("unknown type", err)
  end)
end)

describe("quantization error vs llama.cpp", function()
  local src_path = shared.need("models/micro-r1-qwen2-f16.gguf")
  local zoo_path = shared.need("models/quant/quant-zoo.gguf")
  if not src_path or not zoo_path then return end
  local function rms(a, b)
    local s = 0
    for i = 1, #a do local d = a[i] - b[i]; s = s + d * d end
    return math.sqrt(s / #a)
  end
  it("is within 1% of llama.cpp's for every zoo type", function()
    local src = assert(core.gguf_open(src_path))
    local zoo = assert(core.gguf_open(zoo_path))
    for _, t in ipairs(zoo.tensors) do
      local ty, orig = t.name:match("^([^.]+)%.(.*)$")
      local x = assert(src:dequantize(orig))
      local theirs = rms(x, assert(zoo:dequantize(t.name)))
      local ours = rms(x, core.dequantize(ty, core.quantize(ty, x)))
      assert.is_true(ours <= theirs * 1.01 + 1e-12,
        string.format("%s: rms %.4e vs llama.cpp %.4e", ty, ours, theirs))
    end
    src:close()
    zoo:close()
  end)
end)

describe("llm.quantize on the micro model", function()
  local src = shared.need("models/micro-r1-qwen2-f16.gguf")
  if not src then return end
  local ref_path = shared.path("models/quant/micro-r1-qwen2-q4_k_m.llamacpp.gguf")

  it("writes Q8_0: every matrix Q8_0, vectors F32, metadata carried over", function()
    local dst = tmp .. "/m-q8_0.gguf"
    local r = assert(llm.quantize(src, dst, "Q8_0", { threads = 2 }))
    assert.equal(7, r.file_type)
    local g = assert(core.gguf_open(dst))
    local s = assert(core.gguf_open(src))
    for _, t in ipairs(g.tensors) do
      assert.equal(#t.shape == 1 and "F32" or "Q8_0", t.type, t.name)
    end
    assert.equal(7, g.metadata["general.file_type"])
    assert.equal(s.metadata["tokenizer.chat_template"], g.metadata["tokenizer.chat_template"])
    assert.equal(s.metadata["qwen2.block_count"], g.metadata["qwen2.block_count"])
    assert.equal(s.n_tensors, g.n_tensors)
    g:close()
    s:close()
  end)

  it("writes Q4_K_M with llama.cpp's per-tensor types and answers correctly", function()
    local dst = tmp .. "/m-q4_k_m.gguf"
    local r = assert(llm.quantize(src, dst, "q4_k_m", { threads = 2 }))
    assert.equal(15, r.file_type)
    local g = assert(core.gguf_open(dst))
    local counts = {}
    for _, t in ipairs(g.tensors) do counts[t.type] = (counts[t.type] or 0) + 1 end
    assert.is_true(counts.Q4_K > 0 and counts.Q6_K > 0)
    if ref_path then
      local ref = assert(core.gguf_open(ref_path))
      for _, t in ipairs(ref.tensors) do
        assert.equal(t.type, r.types[t.name], t.name)
      end
      -- what llama.cpp reads back: the same tensor names and shapes, and every
      -- metadata key of its own file (general.file_type, tokenizer.*) equal
      local ours = {}
      for _, t in ipairs(g.tensors) do ours[t.name] = t end
      assert.equal(ref.n_tensors, g.n_tensors)
      for _, t in ipairs(ref.tensors) do
        assert.is_truthy(ours[t.name], t.name)
        assert.same(t.shape, ours[t.name].shape, t.name)
      end
      for k, v in pairs(ref.metadata) do
        if type(v) == "table" then
          assert.equal(#v, #g.metadata[k], k)
          assert.equal(v[1], g.metadata[k][1], k)
          assert.equal(v[#v], g.metadata[k][#v], k)
        else
          assert.equal(v, g.metadata[k], k)
        end
      end
      assert.is_string(g.metadata["tokenizer.ggml.model"])
      ref:close()
    end
    g:close()
    local m = assert(llm.load(dst, { threads = 2 }))
    local out = assert(m:chat({ { role = "user", content = "What is 713 - 39?" } },
      { temperature = 0, max_tokens = 150 }))
    assert.matches("674", out.content)
  end)

  it("fails cleanly for an unwritable destination", function()
    local dir = tmp .. "/fail"
    os.execute("mkdir -p '" .. dir .. "' && touch '" .. dir .. "/notadir'")
    local r, err = llm.quantize(src, dir .. "/notadir/x.gguf", "Q8_0")
    assert.is_nil(r)
    assert.is_string(err)
    assert.equal("notadir", listdir(dir))
    r, err = llm.quantize(src, dir .. "/missing/x.gguf", "Q8_0")
    assert.is_nil(r)
    assert.is_string(err)
    assert.equal("notadir", listdir(dir))
  end)
end)
