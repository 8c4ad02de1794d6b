-- luallm bench MODEL: prompt processing and generation speed, as llama-bench
-- measures them (pp: one batch of P tokens; tg: N single-token steps).
local llm = require("luallm")
local json = require("luallm.json")
local common = require("luallm.cmd.common")
local core = require("luallm_core")

local M = {
  usage = "bench MODEL [-p 512] [-n 128] [-r 3] [--threads N] [--ngl N|auto] [--vram-budget 8G] [--tag T] [--json]",
  flags = { json = true },
}

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return 0 end
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

--- Runs the benchmark; returns {pp_tps, tg_tps, pp = {...}, tg = {...}, ...}.
function M.measure(m, P, N, R, threads)
  local ctx, err = m:context({ n_ctx = math.max(P, N) + 1, n_batch = math.max(P, 1), threads = threads })
  if not ctx then return nil, err end
  local V = m.n_vocab
  local ids = {}
  local x = 12345
  for i = 1, math.max(P, 1) do
    x = (x * 1103515245 + 12345) % 2147483648
    ids[i] = x % math.min(V, 32000)
  end
  local pp, tg = {}, {}
  -- As llama-bench: pp times one batch of P tokens from an empty cache, and
  -- tg times N single-token steps from an empty cache (positions 0..N-1).
  for r = 0, R do -- run 0 warms up (page cache, thread start, CUDA graphs)
    local ok
    if P > 0 then
      ctx:clear()
      local t0 = core.now_ms()
      ok, err = ctx:eval(ids)
      if not ok then return nil, err end
      if r > 0 then pp[#pp + 1] = P * 1000 / (core.now_ms() - t0) end
    end
    if N > 0 then
      ctx:clear()
      local tok = ids[1]
      local t0 = core.now_ms()
      for _ = 1, N do
        ok, err = ctx:eval({ tok })
        if not ok then return nil, err end
        tok = ctx:argmax()
      end
      if r > 0 then tg[#tg + 1] = N * 1000 / (core.now_ms() - t0) end
    end
  end
  local function spread(t)
    local lo, hi = math.huge, -math.huge
    for _, v in ipairs(t) do lo = math.min(lo, v); hi = math.max(hi, v) end
    return lo, hi
  end
  local ppl, pph = spread(pp)
  local tgl, tgh = spread(tg)
  return { pp_tps = median(pp), tg_tps = median(tg), pp = pp, tg = tg,
           pp_min = ppl, pp_max = pph, tg_min = tgl, tg_max = tgh, p = P, n = N, reps = R }
end

function M.run(pos, opt)
  local path = pos[1]
  if not path then return nil, "usage: luallm " .. M.usage end
  local P = tonumber(opt.p or 512)
  local N = tonumber(opt.n or 128)
  local R = tonumber(opt.r or 3)
  if not P or not N or not R or P < 0 or N < 0 or R < 1 then return nil, "bench: -p, -n, -r need numbers" end
  local m, err = llm.load(path, common.load_opts(opt))
  if not m then return nil, err end
  local threads = tonumber(opt.threads) or llm.backends().cpu.threads
  local res
  res, err = M.measure(m, P, N, R, threads)
  if not res then return nil, err end
  res.model = path
  res.file_size = m.file_size
  res.threads = threads
  local pl = m:placement()
  res.processor = pl.split
  res.gpu_layers, res.n_layers = pl.gpu_layers, pl.gpu_layers + pl.cpu_layers
  res.cpu_bytes, res.gpu_bytes = pl.cpu_bytes, pl.gpu_bytes
  res.tag = opt.tag
  if opt.json then
    io.stdout:write(json.encode(res), "\n")
  else
    print(string.format("%-40s %12s %14s", "model", "test", "t/s"))
    local name = path:match("[^/]*$")
    if P > 0 then print(string.format("%-40s %12s %8.2f ± %.2f", name, "pp" .. P, res.pp_tps, (res.pp_max - res.pp_min) / 2)) end
    if N > 0 then print(string.format("%-40s %12s %8.2f ± %.2f", name, "tg" .. N, res.tg_tps, (res.tg_max - res.tg_min) / 2)) end
  end
  return 0
end

return M
