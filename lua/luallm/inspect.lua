-- llm.inspect(path) -> summary table of a GGUF file, without loading weights:
--   arch, name, gguf_version, alignment, file_size, n_tensors, n_params,
--   tensor_bytes, bpw (bits per weight over all tensors), file_type (llama.cpp
--   ftype name, e.g. "MOSTLY_Q4_K_M"), file_type_id, quant = {TYPE = {tensors, bytes}},
--   context_length, n_layers, n_embd, n_ff, n_head, n_head_kv, vocab_size,
--   tokenizer_model, tokenizer_pre, chat_template (bool).
-- Keys whose metadata is absent are left nil.
local M = {}

-- general.file_type values, numbered as llama.cpp's llama_ftype.
local FTYPES = {
  [0] = "ALL_F32", [1] = "MOSTLY_F16", [2] = "MOSTLY_Q4_0", [3] = "MOSTLY_Q4_1",
  [4] = "MOSTLY_Q4_1_SOME_F16", [7] = "MOSTLY_Q8_0", [8] = "MOSTLY_Q5_0",
  [9] = "MOSTLY_Q5_1", [10] = "MOSTLY_Q2_K", [11] = "MOSTLY_Q3_K_S",
  [12] = "MOSTLY_Q3_K_M", [13] = "MOSTLY_Q3_K_L", [14] = "MOSTLY_Q4_K_S",
  [15] = "MOSTLY_Q4_K_M", [16] = "MOSTLY_Q5_K_S", [17] = "MOSTLY_Q5_K_M",
  [18] = "MOSTLY_Q6_K", [19] = "MOSTLY_IQ2_XXS", [20] = "MOSTLY_IQ2_XS",
  [21] = "MOSTLY_Q2_K_S", [22] = "MOSTLY_IQ3_XS", [23] = "MOSTLY_IQ3_XXS",
  [24] = "MOSTLY_IQ1_S", [25] = "MOSTLY_IQ4_NL", [26] = "MOSTLY_IQ3_S",
  [27] = "MOSTLY_IQ3_M", [28] = "MOSTLY_IQ2_S", [29] = "MOSTLY_IQ2_M",
  [30] = "MOSTLY_IQ4_XS", [31] = "MOSTLY_IQ1_M", [32] = "MOSTLY_BF16",
  [36] = "MOSTLY_TQ1_0", [37] = "MOSTLY_TQ2_0", [38] = "MOSTLY_MXFP4_MOE",
}
M.FTYPES = FTYPES

--- Name of a general.file_type value ("MOSTLY_Q4_K_M"); "UNKNOWN_<n>" when unlisted.
function M.ftype_name(id)
  if id == nil then return nil end
  return FTYPES[id] or ("UNKNOWN_" .. tostring(id))
end

local function summarize(g)
  local md = g.metadata
  local arch = md["general.architecture"]
  local function a(key)
    if type(arch) ~= "string" then return nil end
    return md[arch .. "." .. key]
  end
  local n_params, bytes, quant = 0, 0, {}
  for _, t in ipairs(g.tensors) do
    n_params = n_params + t.n_elements
    bytes = bytes + t.nbytes
    local q = quant[t.type]
    if not q then q = { tensors = 0, bytes = 0 }; quant[t.type] = q end
    q.tensors = q.tensors + 1
    q.bytes = q.bytes + t.nbytes
  end
  local tokens = md["tokenizer.ggml.tokens"]
  local vocab = a("vocab_size") or (type(tokens) == "table" and #tokens or nil)
  local ftype = md["general.file_type"]
  local bpw
  if n_params > 0 then bpw = math.floor(bytes * 8 / n_params * 1000 + 0.5) / 1000 end
  return {
    arch = arch,
    name = md["general.name"],
    gguf_version = g.version,
    alignment = g.alignment,
    file_size = g.file_size,
    n_tensors = g.n_tensors,
    n_params = n_params,
    tensor_bytes = bytes,
    bpw = bpw,
    file_type = M.ftype_name(ftype),
    file_type_id = ftype,
    quant = quant,
    context_length = a("context_length"),
    n_layers = a("block_count"),
    n_embd = a("embedding_length"),
    n_ff = a("feed_forward_length"),
    n_head = a("attention.head_count"),
    n_head_kv = a("attention.head_count_kv"),
    vocab_size = vocab,
    tokenizer_model = md["tokenizer.ggml.model"],
    tokenizer_pre = md["tokenizer.ggml.pre"],
    chat_template = type(md["tokenizer.chat_template"]) == "string",
  }
end

--- path -> summary table | nil, msg
function M.inspect(path)
  if type(path) ~= "string" then return nil, "inspect: path must be a string" end
  local llm = require("luallm")
  local g, err = llm.gguf.open(path)
  if not g then return nil, err end
  local ok, res = pcall(summarize, g)
  g:close()
  if not ok then return nil, "inspect: " .. tostring(res) end
  return res
end

return M
