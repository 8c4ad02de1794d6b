-- luallm synth SHAPE TYPE OUT --tokenizer GGUF: a random-weight model with
-- the exact shapes and metadata of a DeepSeek-R1-Distill model (benchmarks,
-- memory planning); --sparse leaves the data section a hole.
local llm = require("luallm")
local json = require("luallm.json")
local core = require("luallm_core")

local M = {
  usage = "synth SHAPE TYPE OUT --tokenizer GGUF [--sparse] [--seed N] [--layers N] [--threads N] [--json]"
    .. "   (SHAPE: qwen-1.5b qwen-7b qwen-14b qwen-32b llama-8b llama-70b)",
  flags = { json = true, sparse = true },
}

function M.run(pos, opt)
  local shape, ty, out = pos[1], pos[2], pos[3]
  if not shape or not ty or not out or pos[4] then return nil, "usage: luallm " .. M.usage end
  if not opt.tokenizer then return nil, "synth: --tokenizer GGUF is required (a model whose vocabulary to use)" end
  local num = {}
  for _, k in ipairs({ "seed", "layers", "threads" }) do
    if opt[k] ~= nil then
      num[k] = tonumber(opt[k])
      if not num[k] then return nil, "synth: --" .. k .. " needs a number" end
    end
  end
  local t0 = core.now_ms()
  local r, err = llm.synth(shape, ty, out, { tokenizer = opt.tokenizer, sparse = opt.sparse,
    seed = num.seed, layers = num.layers, threads = num.threads })
  if not r then return nil, err end
  local ms = core.now_ms() - t0
  if opt.json then
    r.ms = ms
    io.stdout:write(json.encode(r), "\n")
    return 0
  end
  local parts = {}
  for t, n in pairs(r.tensor_types) do parts[#parts + 1] = string.format("%s: %d", t, n) end
  table.sort(parts)
  local gb = (r.bytes or 0) / 1e9
  print(string.format("wrote %s (%s %s, %d layer%s, %.3f G params, %.2f GB%s) in %.1f s%s; tensors %s",
    out, r.shape, r.type, r.n_layer, r.n_layer == 1 and "" or "s", r.n_params / 1e9, gb, r.sparse and ", sparse" or "", ms / 1000,
    (not r.sparse and ms > 0) and string.format(" (%.1f GB/min)", gb / (ms / 60000)) or "",
    table.concat(parts, ", ")))
  return 0
end

return M
