-- luallm quantize IN OUT TYPE: requantize an F32/F16/BF16 GGUF model to a
-- type or llama.cpp-style mix (Q4_K_M, ...).
local llm = require("luallm")
local json = require("luallm.json")
local quantize = require("luallm.quantize")
local core = require("luallm_core")

local M = {
  usage = "quantize IN OUT TYPE [--threads N] [--json]   (TYPE: F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S/M/L Q4_K_S/M Q5_K_S/M Q6_K)",
  flags = { json = true },
}

function M.run(pos, opt)
  local src, dst, ty = pos[1], pos[2], pos[3]
  if not src or not dst or not ty then return nil, "usage: luallm " .. M.usage end
  local threads = tonumber(opt.threads or 0)
  if not threads then return nil, "quantize: --threads needs a number" end
  if threads < 1 then threads = core.cpu_info().threads or 1 end
  local t0 = core.now_ms()
  local r, err = llm.quantize(src, dst, ty, { threads = threads })
  if not r then return nil, err end
  local counts = {}
  for _, t in pairs(r.types) do counts[t] = (counts[t] or 0) + 1 end
  local ms = core.now_ms() - t0
  if opt.json then
    io.stdout:write(json.encode({ path = dst, type = ty:upper(), file_type = r.file_type,
      tensor_types = counts, ms = ms }), "\n")
  else
    local parts = {}
    for t, n in pairs(counts) do parts[#parts + 1] = string.format("%s: %d", t, n) end
    table.sort(parts)
    print(string.format("wrote %s (%s, file_type %d) in %.1f s; tensors %s", dst, ty:upper(),
      r.file_type, ms / 1000, table.concat(parts, ", ")))
  end
  return 0
end

M.types = quantize.FTYPES
return M
