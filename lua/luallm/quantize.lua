-- llm.quantize(src, dst, type, {threads}): requantize a GGUF model. The
-- per-tensor choice of type follows the rules llama.cpp's llama-quantize
-- uses for its named mixes (so files compare tensor for tensor); the
-- conversion itself runs in C (csrc/quantize.c).
local core = require("luallm_core")

local M = {}

-- name -> {base type, general.file_type (llama.cpp's ftype numbering)}
M.FTYPES = {
  F32 = { "F32", 0 }, F16 = { "F16", 1 }, BF16 = { "BF16", 32 },
  Q4_0 = { "Q4_0", 2 }, Q4_1 = { "Q4_1", 3 }, Q8_0 = { "Q8_0", 7 },
  Q5_0 = { "Q5_0", 8 }, Q5_1 = { "Q5_1", 9 }, Q2_K = { "Q2_K", 10 },
  Q3_K_S = { "Q3_K", 11 }, Q3_K_M = { "Q3_K", 12 }, Q3_K_L = { "Q3_K", 13 },
  Q4_K_S = { "Q4_K", 14 }, Q4_K_M = { "Q4_K", 15 }, Q5_K_S = { "Q5_K", 16 },
  Q5_K_M = { "Q5_K", 17 }, Q6_K = { "Q6_K", 18 },
}

-- K-quant rows must be whole 256-blocks; narrower rows fall back to a
-- 32-block type of similar or higher precision.
local FALLBACK = { Q2_K = "Q5_0", Q3_K = "Q5_0", Q4_K = "Q5_0", Q5_K = "Q5_1", Q6_K = "Q8_0" }
local BLOCK = { Q2_K = 256, Q3_K = 256, Q4_K = 256, Q5_K = 256, Q6_K = 256,
  Q4_0 = 32, Q4_1 = 32, Q5_0 = 32, Q5_1 = 32, Q8_0 = 32, F16 = 1, BF16 = 1, F32 = 1 }

local function idiv(a, b) return math.floor(a / b) end

-- The layers that get more bits in the _M mixes: the first and last eighth
-- and every third layer in between.
local function more_bits(i, n)
  return i < idiv(n, 8) or i >= idiv(7 * n, 8) or (i - idiv(n, 8)) % 3 == 2
end
M.use_more_bits = more_bits

local function is_k(t) return BLOCK[t] == 256 end

--- Target type of one tensor. info: {name, shape, layer, n_layer, has_output, n_gqa}
function M.tensor_type(ftype, info)
  local base = M.FTYPES[ftype][1]
  local name, shape = info.name, info.shape
  if #shape < 2 or not name:match("weight$") then return "F32" end
  if not is_k(base) and base ~= "Q4_0" and base ~= "Q4_1" and base ~= "Q5_0" and base ~= "Q5_1"
      and base ~= "Q8_0" then
    return base -- F16 / BF16 / F32: no mix
  end
  local t = base
  local i, n = info.layer, info.n_layer
  if name == "output.weight" or (not info.has_output and name == "token_embd.weight") then
    if shape[1] % 256 ~= 0 then t = "Q8_0" elseif t ~= "Q8_0" then t = "Q6_K" end
  elseif name:match("attn_v%.weight$") then
    if ftype == "Q2_K" then t = info.n_gqa >= 4 and "Q4_K" or "Q3_K"
    elseif ftype == "Q3_K_M" then t = i < 2 and "Q5_K" or "Q4_K"
    elseif ftype == "Q3_K_L" then t = "Q5_K"
    elseif (ftype == "Q4_K_M" or ftype == "Q5_K_M") and more_bits(i, n) then t = "Q6_K"
    elseif ftype == "Q4_K_S" and i < 4 then t = "Q5_K"
    end
  elseif name:match("ffn_down%.weight$") then
    if ftype == "Q2_K" then t = "Q3_K"
    elseif ftype == "Q3_K_M" then
      t = i < idiv(n, 16) and "Q5_K" or "Q4_K"
    elseif ftype == "Q3_K_L" then t = "Q5_K"
    elseif (ftype == "Q4_K_M" or ftype == "Q5_K_M") and more_bits(i, n) then t = "Q6_K"
    elseif ftype == "Q4_K_S" and i < idiv(n, 8) then t = "Q5_K"
    end
  elseif name:match("attn_output%.weight$") then
    if ftype == "Q2_K" then t = "Q3_K"
    elseif ftype == "Q3_K_M" then t = "Q4_K"
    elseif ftype == "Q3_K_L" then t = "Q5_K"
    end
  end
  if shape[1] % BLOCK[t] ~= 0 then t = FALLBACK[t] or "F16" end
  if shape[1] % BLOCK[t] ~= 0 then t = "F16" end
  return t
end

--- The plan: {[tensor name] = type} for a source file opened with core.gguf_open.
function M.plan(g, ftype)
  local md = g.metadata
  local arch = md["general.architecture"] or "llama"
  local n_layer = tonumber(md[arch .. ".block_count"]) or 0
  local n_head = tonumber(md[arch .. ".attention.head_count"]) or 1
  local n_kv = tonumber(md[arch .. ".attention.head_count_kv"]) or n_head
  local has_output = false
  for _, t in ipairs(g.tensors) do
    if t.name == "output.weight" then has_output = true end
  end
  local types = {}
  for _, t in ipairs(g.tensors) do
    types[t.name] = M.tensor_type(ftype, {
      name = t.name, shape = t.shape, layer = tonumber(t.name:match("^blk%.(%d+)%.")) or 0,
      n_layer = n_layer, has_output = has_output, n_gqa = n_head / math.max(n_kv, 1),
    })
  end
  return types
end

--- llm.quantize(src, dst, type, {threads = N}) -> {types = {...}, file_type} | nil, msg
function M.quantize(src, dst, ftype, opts)
  opts = opts or {}
  if type(src) ~= "string" or type(dst) ~= "string" then
    return nil, "quantize: source and destination must be paths"
  end
  ftype = type(ftype) == "string" and ftype:upper() or ftype
  local ft = M.FTYPES[ftype]
  if not ft then return nil, "quantize: unknown type " .. tostring(ftype) end
  local g, err = core.gguf_open(src)
  if not g then return nil, err end
  -- fail before minutes of work when the destination directory is unusable
  local dir = dst:match("^(.*)/[^/]*$") or "."
  local probe = string.format("%s/.luallm-quantize-%d.probe", dir == "" and "/" or dir, math.random(1, 1e9))
  local pf, perr = io.open(probe, "wb")
  if not pf then
    g:close()
    return nil, "quantize: cannot write to " .. dst .. ": " .. tostring(perr)
  end
  pf:close()
  os.remove(probe)
  for _, t in ipairs(g.tensors) do
    if t.type ~= "F32" and t.type ~= "F16" and t.type ~= "BF16" then
      g:close()
      return nil, "quantize: source tensor " .. t.name .. " is " .. t.type .. " (need F32, F16 or BF16)"
    end
  end
  local types = M.plan(g, ftype)
  g:close()
  local ok
  ok, err = core.quantize_file(src, dst, { types = types, file_type = ft[2], threads = opts.threads or 1 })
  if not ok then return nil, err end
  return { types = types, file_type = ft[2] }
end

return M
