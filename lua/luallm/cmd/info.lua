-- luallm info MODEL [--json]: what a GGUF file holds (see luallm/inspect.lua).
local json = require("luallm.json")
local inspect = require("luallm.inspect")

local M = {
  usage = "info MODEL [--ctx N] [--ngl N|auto] [--vram 8G] [--ram 64G] [--json]  architecture, size, quant mix, context and memory plan of a GGUF file",
  flags = { json = true },
}

local function human_bytes(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
  return i == 1 and string.format("%d B", n) or string.format("%.2f %s", n, units[i])
end

local function human_count(n)
  if n >= 1e9 then return string.format("%.2fB", n / 1e9) end
  if n >= 1e6 then return string.format("%.2fM", n / 1e6) end
  if n >= 1e3 then return string.format("%.2fK", n / 1e3) end
  return tostring(n)
end

local function int(n) return n and string.format("%d", n) or nil end

-- The memory plan as rows of the same table (see luallm/plan.lua).
local function plan_rows(p)
  local rows = {
    { "plan", string.format("%s, %d/%d layers on the GPU, %s (n_ctx %d, kv %s, batch %d)",
      p.fits and "fits" or "DOES NOT FIT", p.gpu_layers, p.n_layer, p.split, p.n_ctx, p.kv_type, p.n_batch) },
    { "memory", string.format("weights %s, KV cache %s, compute %s, total %s", human_bytes(p.weights_bytes),
      human_bytes(p.kv_bytes), human_bytes(p.compute_bytes), human_bytes(p.total_bytes)) },
    { "host memory", string.format("%s (RAM budget %s)", human_bytes(p.host_bytes),
      p.ram_budget and human_bytes(p.ram_budget) or "?") },
    { "gpu memory", string.format("%s (VRAM budget %s, usable %s)", human_bytes(p.device_bytes),
      human_bytes(p.vram_budget), human_bytes(p.vram_usable)) },
  }
  for _, a in ipairs(p.advice) do rows[#rows + 1] = { "advice", a } end
  return rows
end

local function lines(info)
  local qtypes = {}
  for t in pairs(info.quant) do qtypes[#qtypes + 1] = t end
  table.sort(qtypes, function(x, y) return info.quant[x].bytes > info.quant[y].bytes end)
  local mix = {}
  for _, t in ipairs(qtypes) do
    local q = info.quant[t]
    mix[#mix + 1] = string.format("%s x%d (%s)", t, q.tensors, human_bytes(q.bytes))
  end
  local rows = {
    { "arch", info.arch },
    { "name", info.name },
    { "file type", info.file_type and (info.file_type .. " (" .. int(info.file_type_id) .. ")") },
    { "params", string.format("%s (%d)", human_count(info.n_params), info.n_params) },
    { "bits per weight", info.bpw and string.format("%.3f", info.bpw) },
    { "quant mix", table.concat(mix, ", ") },
    { "file size", string.format("%s (%d bytes)", human_bytes(info.file_size), info.file_size) },
    { "tensors", int(info.n_tensors) },
    { "context length", int(info.context_length) },
    { "layers", int(info.n_layers) },
    { "embedding", int(info.n_embd) },
    { "feed forward", int(info.n_ff) },
    { "heads", info.n_head and (int(info.n_head) .. " (kv " .. (int(info.n_head_kv) or "?") .. ")") },
    { "vocab size", int(info.vocab_size) },
    { "tokenizer", info.tokenizer_model and (info.tokenizer_model .. (info.tokenizer_pre and (" / " .. info.tokenizer_pre) or "")) },
    { "chat template", info.chat_template and "yes" or "no" },
    { "gguf version", int(info.gguf_version) },
    { "alignment", int(info.alignment) },
  }
  if info.plan then
    for _, r in ipairs(plan_rows(info.plan)) do rows[#rows + 1] = r end
  end
  local w = 0
  for _, r in ipairs(rows) do if #r[1] > w then w = #r[1] end end
  local out = {}
  for _, r in ipairs(rows) do
    if r[2] ~= nil then out[#out + 1] = string.format("%-" .. (w + 1) .. "s %s", r[1] .. ":", tostring(r[2])) end
  end
  return table.concat(out, "\n")
end

function M.run(pos, opt)
  local path = pos[1]
  if not path then return nil, "usage: luallm " .. M.usage end
  local info, err = inspect.inspect(path)
  if not info then return nil, err end
  -- The memory plan, once the build has one (llm.plan lives elsewhere).
  local llm = require("luallm")
  if type(llm.plan) == "function" then
    local size = require("luallm.plan").parse_size
    local ngl = opt.ngl or opt.n_gpu_layers
    local popts = { n_ctx = tonumber(opt.ctx), n_gpu_layers = ngl == "auto" and "auto" or tonumber(ngl) or "auto",
                    vram_budget = opt.vram and size(opt.vram), ram_budget = opt.ram and size(opt.ram) }
    local ok, plan = pcall(llm.plan, path, popts)
    if ok and type(plan) == "table" then info.plan = plan end
  end
  if opt.json then
    io.write(json.encode(info), "\n")
  else
    io.write(lines(info), "\n")
  end
  return 0
end

return M
