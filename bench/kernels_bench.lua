-- Single-thread vec_dot throughput: GB/s of weights streamed, per type and
-- ISA, over a weight matrix larger than L3 (default 64 MB), one activation
-- row quantized once (as the engine does per token).
--   lua bench/kernels_bench.lua [MB] [n] [seconds] [--write]
-- --write replaces the "## CPU kernels" section of bench/RESULTS.md.
local core = require("luallm").core

local args = { ... }
local write = false
local pos = {}
for _, a in ipairs(args) do
  if a == "--write" then write = true else pos[#pos + 1] = tonumber(a) end
end
local mb = pos[1] or 64
local n = pos[2] or 4096
local secs = pos[3] or 1.0

local types = { "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K" }
local isas = {}
for _, isa in ipairs({ "scalar", "avx2", "avx512" }) do
  if core.kernels_info(isa) then isas[#isas + 1] = isa end
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
local function cmd_out(c)
  local h = io.popen(c)
  if not h then return "?" end
  local s = h:read("*a") or "?"
  h:close()
  return trim(s)
end

local lines = {}
local function out(s)
  print(s)
  lines[#lines + 1] = s
end

local header = "| type |"
local rule = "|------|"
for _, isa in ipairs(isas) do
  header = header .. " " .. isa .. " GB/s |"
  rule = rule .. "------:|"
end
out(header)
out(rule)
for _, ty in ipairs(types) do
  local row = "| " .. ty .. " |"
  for _, isa in ipairs(isas) do
    local s, bytes = assert(core.bench_vec_dot(ty, isa, mb * 1024 * 1024, n, secs))
    row = row .. (" %.2f |"):format(bytes / s / 1e9)
  end
  out(row)
end

if write then
  local cpu = cmd_out("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
  local section = {
    "## CPU kernels",
    "",
    ("Date: %s. Machine: %s, %d cores, kernels %s (best level). Single thread."):format(
      os.date("!%Y-%m-%d %H:%M UTC"), cpu, core.cpu_info().threads, core.kernels_info().isa),
    ("Command: `make && LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' " ..
      "lua5.4 bench/kernels_bench.lua %d %d %g --write`"):format(mb, n, secs),
    ("Weights: %d MB matrix (> L3) of rows of n = %d, one activation row; GB/s = weight bytes" ..
      " streamed by vec_dot per second. Reference: DRAM bandwidth measured 30.5 GB/s with 2 threads."):format(mb, n),
    "",
  }
  for _, l in ipairs(lines) do section[#section + 1] = l end
  local path = "bench/RESULTS.md"
  local f = io.open(path, "rb")
  local old = f and f:read("*a") or "# Benchmarks\n"
  if f then f:close() end
  local body = table.concat(section, "\n") .. "\n"
  local s, e = old:find("## CPU kernels\n", 1, true)
  local new
  if s then
    local nxt = old:find("\n## ", e, true)
    new = old:sub(1, s - 1) .. body .. (nxt and old:sub(nxt) or "")
  else
    new = old:gsub("\n*$", "\n\n") .. body
  end
  f = assert(io.open(path, "wb"))
  f:write(new)
  f:close()
end
