-- Memory planning: will this model fit, and how should it be split between
-- the CPU and the GPU? The byte counts come from the C core (csrc/plan.c,
-- from the GGUF header alone); this module applies budgets and gives advice.
--
--   llm.plan(path, {n_ctx = 4096, n_gpu_layers = "auto" | N, vram_budget = bytes,
--                   ram_budget = bytes, kv_type = "f16", n_seq = 1, n_batch = 512,
--                   threads = N}) -> plan | nil, msg
--   plan.auto_layers(path, opts) -> N | nil, msg
--
-- Budgets: vram_budget defaults to the free memory of CUDA device 0 (0 when
-- there is none); ram_budget to MemAvailable of /proc/meminfo (unchecked when
-- unreadable). The GPU keeps a safety margin of 5% of its budget + 256 MiB for
-- what no formula here sees (the CUDA runtime and cuBLAS workspaces,
-- fragmentation): layers are placed only within budget - margin.
local core = require("luallm_core")

local M = {}

M.MARGIN_FRACTION = 0.05
M.MARGIN_BYTES = 256 * 1024 * 1024

local GiB = 1024 * 1024 * 1024

-- Typical bits per weight of whole files at each quantization (mixes such as
-- Q4_K_M keep some tensors at a higher type, hence the fractions).
M.QUANTS = {
  { name = "Q8_0", bpw = 8.5 },
  { name = "Q6_K", bpw = 6.56 },
  { name = "Q5_K_M", bpw = 5.7 },
  { name = "Q4_K_M", bpw = 4.85 },
  { name = "Q4_0", bpw = 4.55 },
  { name = "Q3_K_M", bpw = 3.9 },
  { name = "Q2_K", bpw = 3.35 },
}

local function gib(n)
  if n < GiB then return string.format("%.1f MiB", n / (1024 * 1024)) end
  return string.format("%.1f GiB", n / GiB)
end

--- "8G", "512M", "64GiB", "1.5T", "123456" -> bytes (binary units); nil when unreadable.
function M.parse_size(s)
  if type(s) == "number" then return math.floor(s) end
  if type(s) ~= "string" then return nil end
  local num, unit = s:match("^%s*([%d%.]+)%s*([KkMmGgTt]?)[Ii]?[Bb]?%s*$")
  num = tonumber(num)
  if not num then return nil end
  local mul = ({ k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4 })[unit:lower()] or 1
  return math.floor(num * mul)
end

local function read_meminfo(key)
  local f = io.open("/proc/meminfo", "r")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  local kb = s:match(key .. ":%s*(%d+)")
  return kb and tonumber(kb) * 1024 or nil
end

local function default_vram()
  local ok, llm = pcall(require, "luallm")
  if not ok or type(llm) ~= "table" or not llm.backends then return 0 end
  local cuda = llm.backends().cuda
  local d = cuda and cuda.devices and cuda.devices[1]
  return d and d.mem_free or 0
end

--- The GPU bytes layers may use out of a budget (budget minus the safety margin).
function M.usable_vram(budget)
  if budget <= 0 then return 0 end
  local u = budget - budget * M.MARGIN_FRACTION - M.MARGIN_BYTES
  return u > 0 and math.floor(u) or 0
end

local function raw_plan(path, opts, overrides)
  local o = {
    n_ctx = opts.n_ctx, n_seq = opts.n_seq, n_batch = opts.n_batch,
    threads = opts.threads, kv_type = opts.kv_type, n_gpu_layers = 0,
  }
  for k, v in pairs(overrides or {}) do o[k] = v end
  if type(path) ~= "string" then return nil, "plan: path must be a string" end
  return core.plan(path, o)
end

-- The most GPU layers whose device bytes fit in vram, the host bytes within
-- ram (nil: unchecked); weights scaled by r (a different quantization).
-- Returns n, host, device or nil.
local function best_split(raw, vram, ram, r)
  r = r or 1
  for n = raw.n_layer, 0, -1 do
    local b = raw.by_ngl[n + 1]
    local h = b.host_bytes - b.weights_host * (1 - r)
    local d = b.device_bytes - b.weights_device * (1 - r)
    if d <= vram and (not ram or h <= ram) then return n, h, d end
  end
  return nil
end

local function budgets(opts)
  local vram = opts.vram_budget
  if vram == nil then vram = default_vram() end
  vram = M.parse_size(vram) or 0
  local ram = opts.ram_budget
  if ram == nil then ram = read_meminfo("MemAvailable") end
  ram = ram and M.parse_size(ram)
  return vram, ram
end

local function auto_from(raw, vram)
  local usable = M.usable_vram(vram)
  for n = raw.n_layer, 1, -1 do
    if raw.by_ngl[n + 1].device_bytes <= usable then return n end
  end
  return 0
end

--- The largest number of (last) layers whose GPU bytes fit in
--- opts.vram_budget (default: free memory of CUDA device 0, else 0) minus the margin.
function M.auto_layers(path, opts)
  opts = opts or {}
  local raw, err = raw_plan(path, opts)
  if not raw then return nil, err end
  local vram = budgets(opts)
  return auto_from(raw, vram)
end

local function split_string(host, device)
  if device == 0 then return "100% CPU" end
  if host == 0 then return "100% GPU" end
  local cpu = math.floor(host * 100 / (host + device) + 0.5)
  return string.format("%d%%/%d%% CPU/GPU", cpu, 100 - cpu)
end
M.split_string = split_string

local function advise(path, opts, raw, p, vram, ram)
  local advice = {}
  local usable = M.usable_vram(vram)
  local cur_bpw = raw.n_params > 0 and raw.weights_bytes * 8 / raw.n_params or 16
  -- a smaller quantization of the same model: weights scale with bits per weight
  local smallest
  for _, q in ipairs(M.QUANTS) do
    if q.bpw < cur_bpw - 0.05 then
      local r = q.bpw / cur_bpw
      local n = best_split(raw, usable, ram, r)
      smallest = { q = q, r = r }
      if n then
        advice[#advice + 1] = string.format(
          "a %s file (~%.2f bits/weight, ~%s of weights) would fit with %d of %d layers on the GPU",
          q.name, q.bpw, gib(raw.weights_bytes * r), n, raw.n_layer)
        break
      end
    end
  end
  if smallest and #advice == 0 then
    advice[#advice + 1] = string.format("even %s (~%s of weights) does not fit", smallest.q.name,
      gib(raw.weights_bytes * smallest.r))
  end
  -- a shorter context
  local n_ctx = p.n_ctx
  while n_ctx > 512 do
    n_ctx = math.floor(n_ctx / 2)
    local r2 = raw_plan(path, opts, { n_ctx = n_ctx })
    if r2 and best_split(r2, usable, ram) then
      advice[#advice + 1] = string.format("a context of %d tokens (n_ctx = %d) would fit", n_ctx, n_ctx)
      break
    end
    if n_ctx <= 512 then
      advice[#advice + 1] = "a shorter context alone is not enough (tried down to 512 tokens)"
    end
  end
  -- a Q8_0 KV cache (CPU layers; the GPU keeps F16)
  if p.kv_type == "F16" and p.kv_bytes > 0 then
    local r3 = raw_plan(path, opts, { kv_type = "q8_0" })
    if r3 then
      local n = best_split(r3, usable, ram)
      local saved = raw.kv_host - r3.kv_host
      if n then
        advice[#advice + 1] = string.format("kv_type = \"q8_0\" would fit (saves %s of KV cache on the CPU)", gib(saved))
      elseif saved > 0 then
        advice[#advice + 1] = string.format("kv_type = \"q8_0\" saves %s of KV cache on the CPU, not enough alone", gib(saved))
      end
    end
  end
  return advice
end

--- llm.plan(path, opts) -> plan | nil, msg (see the top of this file and docs/plan.md).
function M.plan(path, opts)
  opts = opts or {}
  if type(opts) ~= "table" then return nil, "plan: options must be a table" end
  local raw, err = raw_plan(path, opts)
  if not raw then return nil, err end
  local vram, ram = budgets(opts)
  local ngl = opts.n_gpu_layers or 0
  if ngl == "auto" then
    ngl = auto_from(raw, vram)
  elseif type(ngl) ~= "number" then
    return nil, "plan: n_gpu_layers must be a number or \"auto\""
  elseif ngl < 0 or ngl > raw.n_layer then
    ngl = raw.n_layer
  end
  ngl = math.floor(ngl)
  local b = raw.by_ngl[ngl + 1]
  local usable = M.usable_vram(vram)
  local p = {
    path = path, arch = raw.arch, n_layer = raw.n_layer, n_params = raw.n_params,
    n_ctx = raw.n_ctx, n_seq = raw.n_seq, n_batch = raw.n_batch, threads = raw.threads,
    kv_type = raw.kv_type, file_size = raw.file_size,
    gpu_layers = b.gpu_layers, cpu_layers = b.cpu_layers, output_on_gpu = b.output_on_gpu,
    weights_bytes = b.weights_host + b.weights_device,
    kv_bytes = b.kv_host + b.kv_device,
    compute_bytes = b.compute_host + b.compute_device,
    host_bytes = b.host_bytes, device_bytes = b.device_bytes,
    total_bytes = b.host_bytes + b.device_bytes,
    host = { weights = b.weights_host, kv = b.kv_host, compute = b.compute_host },
    device = { weights = b.weights_device, kv = b.kv_device, compute = b.compute_device },
    embd_bytes = raw.embd_bytes, output_bytes = raw.output_bytes, tied_output = raw.tied_output,
    vram_budget = vram, vram_usable = usable, ram_budget = ram,
    margin = "5% of the VRAM budget + 256 MiB",
  }
  -- per layer, for the split chosen (core.plan lists them for all on the CPU)
  p.per_layer = {}
  for i, l in ipairs(raw.per_layer) do
    local gpu = l.index >= b.cpu_layers
    p.per_layer[i] = {
      index = l.index, device = gpu and "gpu" or "cpu", weights = l.weights,
      kv = gpu and b.kv_device / b.gpu_layers or b.kv_host / b.cpu_layers,
    }
  end
  p.split = split_string(p.host_bytes, p.device_bytes)
  local over_host = ram and math.max(0, p.host_bytes - ram) or 0
  local over_dev = math.max(0, p.device_bytes - usable)
  p.over_bytes = over_host + over_dev
  p.fits = p.over_bytes == 0
  p.advice = {}
  if not p.fits then
    local parts = {}
    if over_host > 0 then
      parts[#parts + 1] = string.format("host needs %s, RAM budget is %s", gib(p.host_bytes), gib(ram))
    end
    if over_dev > 0 then
      parts[#parts + 1] = string.format("GPU needs %s, usable VRAM is %s", gib(p.device_bytes), gib(usable))
    end
    local n_best = best_split(raw, usable, ram)
    if n_best then
      p.advice[#p.advice + 1] = string.format("does not fit as asked (%s): n_gpu_layers = %d would fit",
        table.concat(parts, "; "), n_best)
    else
      -- nothing fits: report the shortfall of the best split
      local nb = auto_from(raw, vram)
      local bb = raw.by_ngl[nb + 1]
      local short = (ram and math.max(0, bb.host_bytes - ram) or 0) + math.max(0, bb.device_bytes - usable)
      p.advice[#p.advice + 1] = string.format(
        "does not fit: needs %s (%s RAM + %s VRAM with %d GPU layers), budgets are %s RAM + %s usable VRAM; short by %s",
        gib(bb.host_bytes + bb.device_bytes), gib(bb.host_bytes), gib(bb.device_bytes), nb,
        ram and gib(ram) or "?", gib(usable), gib(short))
      p.short_bytes = short
      for _, a in ipairs(advise(path, opts, raw, p, vram, ram)) do p.advice[#p.advice + 1] = a end
    end
  end
  return p
end

return M
