-- The GGUF reader on the two micro models: metadata values and types, tensor
-- shapes, counts, alignment and offsets.
local llm = require("luallm")
local shared = require("support.shared")

local MODELS = {
  qwen2 = {
    file = "models/micro-r1-qwen2-f16.gguf",
    file_size = 90034176, data_offset = 5934080, n_tensors = 50, n_params = 42045696,
    n_kv = 26, vocab = 151936, merges = 151387, bos = 151646, eos = 151643,
    pre = "deepseek-r1-qwen", freq_base = 1000000.0,
    first = { name = "token_embd.weight", type = "F16", shape = { 256, 151936 } },
    n_f16 = 29, n_f32 = 21,
  },
  llama = {
    file = "models/micro-r1-llama-f16.gguf",
    file_size = 79791136, data_offset = 7823264, n_tensors = 39, n_params = 35981600,
    n_kv = 30, vocab = 128256, merges = 280147, bos = 128000, eos = 128001,
    pre = "llama-bpe", freq_base = 500000.0,
    first = { name = "rope_freqs.weight", type = "F32", shape = { 32 } },
    n_f16 = 29, n_f32 = 10,
  },
}

for arch, m in pairs(MODELS) do
  describe("gguf reader on micro-r1-" .. arch, function()
    local g
    local function open()
      local p = shared.need(m.file)
      if not p then return nil end
      if not g then g = assert(llm.gguf.open(p)) end
      return g
    end
    teardown(function() if g then g:close() end end)

    it("reads the header figures", function()
      local f = open(); if not f then return end
      assert.equal(3, f.version)
      assert.equal(32, f.alignment)
      assert.equal(m.file_size, f.file_size)
      assert.equal(m.data_offset, f.data_offset)
      assert.equal(0, f.data_offset % f.alignment)
      assert.equal(m.n_tensors, f.n_tensors)
      assert.equal(m.n_tensors, #f.tensors)
    end)

    it("reads metadata values with their types", function()
      local f = open(); if not f then return end
      local md = f.metadata
      local n = 0
      for _ in pairs(md) do n = n + 1 end
      assert.equal(m.n_kv, n)
      assert.equal(arch, md["general.architecture"])
      assert.equal(1, md["general.file_type"])
      assert.equal("uint32", f:value_type("general.file_type"))
      assert.equal(4, md[arch .. ".block_count"])
      assert.equal(4096, md[arch .. ".context_length"])
      assert.equal(256, md[arch .. ".embedding_length"])
      assert.equal(768, md[arch .. ".feed_forward_length"])
      assert.equal(4, md[arch .. ".attention.head_count"])
      assert.equal(2, md[arch .. ".attention.head_count_kv"])
      assert.equal(m.freq_base, md[arch .. ".rope.freq_base"])
      assert.equal("float32", f:value_type(arch .. ".rope.freq_base"))
      assert.equal("float32", f:value_type(arch .. ".attention.layer_norm_rms_epsilon"))
      assert.equal("gpt2", md["tokenizer.ggml.model"])
      assert.equal(m.pre, md["tokenizer.ggml.pre"])
      assert.equal(m.bos, md["tokenizer.ggml.bos_token_id"])
      assert.equal(m.eos, md["tokenizer.ggml.eos_token_id"])
      assert.is_true(md["tokenizer.ggml.add_bos_token"])
      assert.is_false(md["tokenizer.ggml.add_eos_token"])
      assert.equal("bool", f:value_type("tokenizer.ggml.add_bos_token"))
      assert.equal(m.vocab, #md["tokenizer.ggml.tokens"])
      assert.equal(m.vocab, #md["tokenizer.ggml.token_type"])
      assert.equal(m.merges, #md["tokenizer.ggml.merges"])
      local t, e = f:value_type("tokenizer.ggml.tokens")
      assert.equal("array", t); assert.equal("string", e)
      t, e = f:value_type("tokenizer.ggml.token_type")
      assert.equal("array", t); assert.equal("int32", e)
      assert.equal("Ġ Ġ", md["tokenizer.ggml.merges"][1])
      assert.equal("!", md["tokenizer.ggml.tokens"][1])
      assert.truthy(md["tokenizer.chat_template"]:find("<｜Assistant｜>", 1, true))
      assert.is_nil(md["no.such.key"])
      assert.is_nil(f:value_type("no.such.key"))
      assert.is_nil(md["general.alignment"]) -- default alignment: no key
    end)

    it("reads tensor infos: names, types, shapes, sizes", function()
      local f = open(); if not f then return end
      local first = f.tensors[1]
      assert.equal(m.first.name, first.name)
      assert.equal(m.first.type, first.type)
      assert.same(m.first.shape, first.shape)
      local counts, total, names = {}, 0, {}
      for _, t in ipairs(f.tensors) do
        counts[t.type] = (counts[t.type] or 0) + 1
        local n = 1
        for _, d in ipairs(t.shape) do n = n * d end
        assert.equal(n, t.n_elements)
        assert.equal(n * (t.type == "F16" and 2 or 4), t.nbytes)
        assert.is_true(#t.shape >= 1 and #t.shape <= 4)
        assert.is_nil(names[t.name])
        names[t.name] = true
        total = total + n
      end
      assert.equal(m.n_f16, counts.F16)
      assert.equal(m.n_f32, counts.F32)
      assert.equal(m.n_params, total)
      for l = 0, 3 do
        for _, s in ipairs({ "attn_q", "attn_k", "attn_v", "attn_output", "ffn_up", "ffn_down", "ffn_gate" }) do
          assert.is_true(names["blk." .. l .. "." .. s .. ".weight"], s)
        end
      end
      assert.is_true(names["output_norm.weight"])
    end)

    it("lays tensors out aligned, inside the file, without overlap", function()
      local f = open(); if not f then return end
      local sorted = {}
      for _, t in ipairs(f.tensors) do sorted[#sorted + 1] = t end
      table.sort(sorted, function(a, b) return a.offset < b.offset end)
      local prev_end = f.data_offset
      for _, t in ipairs(sorted) do
        assert.equal(0, t.offset % f.alignment)
        assert.is_true(t.offset >= prev_end)
        prev_end = t.offset + t.nbytes
      end
      assert.is_true(prev_end <= f.file_size)
      assert.is_true(f.file_size - prev_end < f.alignment)
    end)

    it("gives tensor bytes and dequantized values that agree", function()
      local f = open(); if not f then return end
      local bytes = f:tensor_bytes("output_norm.weight")
      assert.equal(256 * 4, #bytes)
      local fb = assert(f:dequantize("output_norm.weight"))
      assert.equal(256, #fb)
      local unpack4 = string.unpack and function(i) return (string.unpack("<f", bytes, 4 * i - 3)) end
      if unpack4 then
        for i = 1, 256, 37 do assert.equal(unpack4(i), fb[i]) end
      end
      local nil_fb, msg = f:dequantize("no.such.tensor")
      assert.is_nil(nil_fb)
      assert.truthy(msg:find("no tensor", 1, true))
    end)
  end)
end

describe("gguf reader on the llama.cpp Q4_K_M file", function()
  it("reads the quant mix", function()
    local p = shared.need("models/quant/micro-r1-qwen2-q4_k_m.llamacpp.gguf")
    if not p then return end
    local g = assert(llm.gguf.open(p))
    assert.equal(15, g.metadata["general.file_type"])
    local counts = {}
    for _, t in ipairs(g.tensors) do counts[t.type] = (counts[t.type] or 0) + 1 end
    assert.equal(24, counts.Q4_K)
    assert.equal(5, counts.Q6_K)
    assert.equal(21, counts.F32)
    local t = g.tensors[2]
    assert.equal("token_embd.weight", t.name)
    assert.equal(151936 / 256 * 256 * 210, t.nbytes)
    g:close()
    assert.has_error(function() return g.metadata end)
  end)

  it("returns nil and a message for a missing file", function()
    local g, msg = llm.gguf.open("/nonexistent/x.gguf")
    assert.is_nil(g)
    assert.truthy(msg:find("cannot open", 1, true))
  end)
end)
