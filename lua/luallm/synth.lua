-- llm.synth(shape, type, out, opts): a GGUF model with the exact tensor
-- names, shapes and metadata of a DeepSeek-R1-Distill model and random
-- weights of realistic scale (benchmarks and memory planning without the
-- real weights). The per-tensor types of a mix (Q4_K_M, ...) are the ones
-- llm.quantize chooses (lua/luallm/quantize.lua), so the file matches a
-- quantized real model tensor for tensor; the bytes are generated in C
-- while the GGUF writer streams the file (csrc/synth.c).
local core = require("luallm_core")
local quantize = require("luallm.quantize")

local M = {}

-- The published configurations (config.json of each model). tied: the
-- token embedding doubles as the output matrix (no output.weight), as in
-- the GGUF files of the 1.5B model.
M.SHAPES = {
  ["qwen-1.5b"] = { name = "DeepSeek-R1-Distill-Qwen-1.5B", arch = "qwen2", size = "1.5B",
    n_embd = 1536, n_layer = 28, n_head = 12, n_head_kv = 2, n_ff = 8960, n_vocab = 151936,
    tied = true, rope_base = 10000, rms_eps = 1e-6, n_ctx = 131072 },
  ["qwen-7b"] = { name = "DeepSeek-R1-Distill-Qwen-7B", arch = "qwen2", size = "7B",
    n_embd = 3584, n_layer = 28, n_head = 28, n_head_kv = 4, n_ff = 18944, n_vocab = 152064,
    rope_base = 10000, rms_eps = 1e-6, n_ctx = 131072 },
  ["qwen-14b"] = { name = "DeepSeek-R1-Distill-Qwen-14B", arch = "qwen2", size = "14B",
    n_embd = 5120, n_layer = 48, n_head = 40, n_head_kv = 8, n_ff = 13824, n_vocab = 152064,
    rope_base = 1000000, rms_eps = 1e-5, n_ctx = 131072 },
  ["qwen-32b"] = { name = "DeepSeek-R1-Distill-Qwen-32B", arch = "qwen2", size = "32B",
    n_embd = 5120, n_layer = 64, n_head = 40, n_head_kv = 8, n_ff = 27648, n_vocab = 152064,
    rope_base = 1000000, rms_eps = 1e-5, n_ctx = 131072 },
  ["llama-8b"] = { name = "DeepSeek-R1-Distill-Llama-8B", arch = "llama", size = "8B",
    n_embd = 4096, n_layer = 32, n_head = 32, n_head_kv = 8, n_ff = 14336, n_vocab = 128256,
    rope_base = 500000, rms_eps = 1e-5, n_ctx = 131072,
    llama3_rope = { factor = 8, low = 1, high = 4, orig_ctx = 8192 } },
  ["llama-70b"] = { name = "DeepSeek-R1-Distill-Llama-70B", arch = "llama", size = "70B",
    n_embd = 8192, n_layer = 80, n_head = 64, n_head_kv = 8, n_ff = 28672, n_vocab = 128256,
    rope_base = 500000, rms_eps = 1e-5, n_ctx = 131072,
    llama3_rope = { factor = 8, low = 1, high = 4, orig_ctx = 8192 } },
}
M.SHAPE_NAMES = { "qwen-1.5b", "qwen-7b", "qwen-14b", "qwen-32b", "llama-8b", "llama-70b" }

--- The shape table for a name: "qwen-7b", "Qwen-7B", "R1-Distill-Qwen-7B",
--- "DeepSeek-R1-Distill-Qwen-7B" (any case). nil, msg when unknown.
function M.shape(name)
  if type(name) ~= "string" then return nil, "synth: shape must be a string" end
  local key = name:lower():gsub("^deepseek%-", ""):gsub("^r1%-", ""):gsub("^distill%-", "")
  local s = M.SHAPES[key]
  if not s then
    return nil, "synth: unknown shape '" .. name .. "' (known: " .. table.concat(M.SHAPE_NAMES, ", ") .. ")"
  end
  return s, key
end

-- llama3 rope scaling as per-frequency divisors (the rope_freqs tensor):
-- wavelengths shorter than orig_ctx / high keep their frequency, longer
-- than orig_ctx / low are slowed by factor, and those between blend.
local function llama3_rope_freqs(s, head_dim)
  local r, out = s.llama3_rope, {}
  local lo_wl, hi_wl = r.orig_ctx / r.low, r.orig_ctx / r.high
  for i = 0, head_dim / 2 - 1 do
    local freq = 1 / s.rope_base ^ (2 * i / head_dim)
    local wl = 2 * math.pi / freq
    local f
    if wl < hi_wl then f = 1
    elseif wl > lo_wl then f = r.factor
    else
      local smooth = (r.orig_ctx / wl - r.low) / (r.high - r.low)
      f = 1 / ((1 - smooth) / r.factor + smooth)
    end
    out[#out + 1] = f
  end
  return out
end

--- The tensor list of a shape: {{name, shape = {ne0, ne1}, type, mean, std [, values]}, ...}
--- for weight type ftype (a quantize.FTYPES name) and n_layer layers.
function M.tensors(s, ftype, n_layer)
  local D, F, V = s.n_embd, s.n_ff, s.n_vocab
  local hd = D / s.n_head
  local Dkv = hd * s.n_head_kv
  local list = {}
  local function add(name, shape, mean, std, values)
    list[#list + 1] = { name = name, shape = shape, mean = mean or 0, std = std or 0.02, values = values }
  end
  if s.llama3_rope then add("rope_freqs.weight", { hd / 2 }, 0, 0, llama3_rope_freqs(s, hd)) end
  add("token_embd.weight", { D, V })
  for i = 0, n_layer - 1 do
    local p = "blk." .. i .. "."
    add(p .. "attn_norm.weight", { D }, 1, 0.02)
    add(p .. "attn_q.weight", { D, D })
    add(p .. "attn_k.weight", { D, Dkv })
    add(p .. "attn_v.weight", { D, Dkv })
    if s.arch == "qwen2" then
      add(p .. "attn_q.bias", { D })
      add(p .. "attn_k.bias", { Dkv })
      add(p .. "attn_v.bias", { Dkv })
    end
    add(p .. "attn_output.weight", { D, D })
    add(p .. "ffn_norm.weight", { D }, 1, 0.02)
    add(p .. "ffn_gate.weight", { D, F })
    add(p .. "ffn_up.weight", { D, F })
    add(p .. "ffn_down.weight", { F, D })
  end
  add("output_norm.weight", { D }, 1, 0.02)
  if not s.tied then add("output.weight", { D, V }) end
  for _, t in ipairs(list) do
    t.type = t.values and "F32" or quantize.tensor_type(ftype, {
      name = t.name, shape = t.shape, layer = tonumber(t.name:match("^blk%.(%d+)%.")) or 0,
      n_layer = n_layer, has_output = not s.tied, n_gqa = s.n_head / s.n_head_kv,
    })
  end
  return list
end

-- Metadata of the shape (llama.cpp's key names), tokenizer keys excluded.
local function model_metadata(s, ftype, n_layer)
  local a = s.arch .. "."
  local md = {
    { "general.architecture", s.arch, "string" },
    { "general.type", "model", "string" },
    { "general.name", "synth " .. s.name, "string" },
    { "general.size_label", s.size, "string" },
    { "general.file_type", quantize.FTYPES[ftype][2], "uint32" },
    { "general.quantization_version", 2, "uint32" },
    { a .. "context_length", s.n_ctx, "uint32" },
    { a .. "embedding_length", s.n_embd, "uint32" },
    { a .. "feed_forward_length", s.n_ff, "uint32" },
    { a .. "block_count", n_layer, "uint32" },
    { a .. "attention.head_count", s.n_head, "uint32" },
    { a .. "attention.head_count_kv", s.n_head_kv, "uint32" },
    { a .. "rope.freq_base", s.rope_base, "float32" },
    { a .. "attention.layer_norm_rms_epsilon", s.rms_eps, "float32" },
  }
  if s.arch == "llama" then
    local hd = s.n_embd / s.n_head
    md[#md + 1] = { a .. "vocab_size", s.n_vocab, "uint32" }
    md[#md + 1] = { a .. "rope.dimension_count", hd, "uint32" }
    md[#md + 1] = { a .. "attention.key_length", hd, "uint32" }
    md[#md + 1] = { a .. "attention.value_length", hd, "uint32" }
  end
  return md
end

-- Copies the tokenizer.* keys of g into w, the token list padded with
-- unused "[PAD<i>]" entries (or cut) to n_vocab entries.
local function copy_tokenizer(w, g, n_vocab)
  local ok, err = w:copy_metadata(g)
  if not ok then return nil, err end
  for k in pairs(g.metadata) do
    if k:sub(1, 10) ~= "tokenizer." then w:remove(k) end
  end
  local tokens = g.metadata["tokenizer.ggml.tokens"]
  if type(tokens) ~= "table" then return nil, "synth: the tokenizer file has no tokenizer.ggml.tokens" end
  local n = #tokens
  if n == n_vocab then return true end
  local UNUSED = 5 -- llama.cpp's token type of an unused slot
  local fill = {
    ["tokenizer.ggml.tokens"] = function(i) return "[PAD" .. (i - 1) .. "]" end,
    ["tokenizer.ggml.token_type"] = function() return UNUSED end,
    ["tokenizer.ggml.scores"] = function() return -1e9 end,
  }
  for key, pad in pairs(fill) do
    local src = g.metadata[key]
    if type(src) == "table" then
      local out = {}
      for i = 1, n_vocab do out[i] = i <= #src and src[i] or pad(i) end
      local _, elem = g:value_type(key)
      ok, err = w:set(key, out, "array", elem)
      if not ok then return nil, err end
    end
  end
  return true
end

local function normalize_type(ftype)
  if type(ftype) ~= "string" then return nil, "synth: type must be a string" end
  local t = ftype:upper()
  if not quantize.FTYPES[t] then
    local names = {}
    for k in pairs(quantize.FTYPES) do names[#names + 1] = k end
    table.sort(names)
    return nil, "synth: unknown type '" .. ftype .. "' (known: " .. table.concat(names, " ") .. ")"
  end
  return t
end

local function file_size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

--- llm.synth(shape, type, out, {tokenizer = path, sparse = bool, seed = N,
--- layers = N, threads = N}) -> {path, shape, type, file_type, n_params,
--- n_tensors, bytes, tensor_types = {[type] = count}} | nil, msg
function M.synth(shape, ftype, out, opts)
  opts = opts or {}
  if type(opts) ~= "table" then return nil, "synth: options must be a table" end
  local s, key = M.shape(shape)
  if not s then return nil, key end
  local t, err = normalize_type(ftype)
  if not t then return nil, err end
  if type(out) ~= "string" or out == "" then return nil, "synth: output path must be a non-empty string" end
  if type(opts.tokenizer) ~= "string" then return nil, "synth: a tokenizer GGUF (opts.tokenizer) is required" end
  local n_layer = s.n_layer
  if opts.layers ~= nil then
    n_layer = tonumber(opts.layers)
    if not n_layer or n_layer < 1 or n_layer % 1 ~= 0 then return nil, "synth: layers must be a positive integer" end
  end
  local seed = tonumber(opts.seed or 0)
  if not seed or seed < 0 or seed % 1 ~= 0 or seed >= 2 ^ 53 then return nil, "synth: seed must be a non-negative integer" end
  local threads = tonumber(opts.threads) or core.cpu_info().threads or 1

  local g
  g, err = core.gguf_open(opts.tokenizer)
  if not g then return nil, err end
  local w = core.gguf_writer()
  local ok
  ok, err = copy_tokenizer(w, g, s.n_vocab)
  g:close()
  if not ok then w:free(); return nil, err end
  if opts.sparse then w:set_sparse(true) end
  for _, kv in ipairs(model_metadata(s, t, n_layer)) do
    ok, err = w:set(kv[1], kv[2], kv[3])
    if not ok then w:free(); return nil, err end
  end
  local tensors = M.tensors(s, t, n_layer)
  local counts, n_params = {}, 0
  for _, x in ipairs(tensors) do
    ok, err = core.synth_tensor(w, { name = x.name, type = x.type, shape = x.shape, mean = x.mean,
      std = x.std, values = x.values, seed = seed, threads = threads })
    if not ok then w:free(); return nil, err end
    counts[x.type] = (counts[x.type] or 0) + 1
    local n = 1
    for _, d in ipairs(x.shape) do n = n * d end
    n_params = n_params + n
  end
  ok, err = w:write(out)
  w:free()
  if not ok then return nil, err end
  return { path = out, shape = key, type = t, file_type = quantize.FTYPES[t][2], n_params = n_params,
    n_layer = n_layer, n_tensors = #tensors, bytes = file_size(out), tensor_types = counts, sparse = opts.sparse and true or false }
end

return M
