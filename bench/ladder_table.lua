-- Formats bench/ladder.sh's measurements: one markdown table per model, with
-- each type's PPL and KLD as a ratio to llama.cpp's file of the same type
-- (the perplexity section of $LUALLM_SHARED/anchors.md), and writes
-- DIR/results.jsonl, one line per model/type.
--   lua5.4 bench/ladder_table.lua DIR MODEL [MODEL ...]
local json = require("luallm.json")

local TYPES = { "F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1", "Q5_0", "Q4_K_M",
                "Q4_K_S", "Q4_1", "Q4_0", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K" }

local function read_json(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  local ok, v = pcall(json.decode, s)
  return ok and type(v) == "table" and v or nil
end

-- anchors[model] = {f16_ppl = x, [type] = {mb, ppl, kld, same}}
local function read_anchors(path)
  local out, cur = {}, nil
  local f = io.open(path, "rb")
  if not f then return out end
  for line in f:lines() do
    local m, p = line:match("^(micro%-r1%-[%w]+) %(F16 perplexity ([%d.]+)")
    if m then cur = { f16_ppl = tonumber(p) }; out[m] = cur
    elseif cur then
      local t, mb, ppl, kld, same = line:match("^| ([%w_]+) | ([%d.]+) | ([%d.]+) | ([%d.]+) | ([%d.]+)%% |")
      if t then cur[t] = { mb = tonumber(mb), ppl = tonumber(ppl), kld = tonumber(kld), same = tonumber(same) / 100 }
      elseif line:match("^#") then cur = nil end
    end
  end
  f:close()
  return out
end

-- The file of type t matching pattern (one numeric capture): the first
-- listed, or with `largest` the one whose number is largest (the arith run
-- over the most problems).
local function first_match(dir, t, pattern, largest)
  local p = io.popen('ls "' .. dir .. '" 2>/dev/null')
  local best, best_n
  for name in p:lines() do
    local n = tonumber(name:match("^" .. t:gsub("_", "%%_") .. pattern))
    if n and (not best or (largest and n > best_n)) then best, best_n = name, n end
  end
  p:close()
  return best and read_json(dir .. "/" .. best), best
end

local dir = arg[1] or "/tmp/ladder"
local shared = os.getenv("LUALLM_SHARED") or "../shared"
local anchors = read_anchors(shared .. "/anchors.md")
local results = assert(io.open(dir .. "/results.jsonl", "wb"))

local function f(fmt, v) return v and string.format(fmt, v) or "-" end

for i = 2, #arg do
  local model = arg[i]
  local d = dir .. "/" .. model
  local anc = anchors[model] or {}
  print(string.format("\n### %s\n", model))
  print("| type | MB | bpw | PPL | KLD vs F16 | same top | arith greedy | tg t/s | PPL / llama.cpp | KLD / llama.cpp |")
  print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  local rows = {}
  for _, t in ipairs(TYPES) do rows[#rows + 1] = { t = t, label = t } end
  for _, t in ipairs({ "Q4_K_M" }) do
    if read_json(d .. "/llamacpp-" .. t .. ".ppl.json") then
      rows[#rows + 1] = { t = t, label = t .. " (llama.cpp's file)", ref = true }
    end
  end
  for _, row in ipairs(rows) do
    local t = row.t
    local r = { model = model, type = t, llamacpp_file = row.ref or nil }
    local info = read_json(d .. "/" .. (row.ref and "llamacpp-" or "") .. t .. ".info.json")
    if info then r.file_size, r.bpw = info.file_size, info.bpw end
    local ppl, chunks_note
    if row.ref then ppl = read_json(d .. "/llamacpp-" .. t .. ".ppl.json")
    else
      ppl = read_json(d .. "/" .. t .. ".ppl.json")
      if not ppl then
        local name
        ppl, name = first_match(d, t, "%.ppl%-c(%d+)%.json$")
        if ppl then chunks_note = "*" end
      end
    end
    if ppl then r.ppl, r.ppl_stderr, r.kld, r.same_top, r.ppl_chunks = ppl.ppl, ppl.stderr, ppl.kld, ppl.same_top, ppl.n_chunks end
    local ar = not row.ref and first_match(d, t, "%.arith(%d+)%.json$", true)
    if ar then r.arith_correct, r.arith_n = ar.correct, ar.n end
    local b = not row.ref and read_json(d .. "/" .. t .. ".bench.json")
    if b then r.tg_tps = b.tg_tps end
    local a = anc[t] or (t == "F16" and anc.f16_ppl and { ppl = anc.f16_ppl, kld = 0 }) or nil
    if a and r.ppl and not chunks_note then
      r.ppl_ratio = r.ppl / a.ppl
      r.kld_ratio = a.kld > 0 and r.kld / a.kld or nil
    end
    results:write(json.encode(r), "\n")
    if r.file_size or r.ppl then
      print(string.format("| %s | %s | %s | %s%s | %s | %s | %s | %s | %s | %s |", row.label,
        f("%.1f", r.file_size and r.file_size / 1e6), f("%.2f", r.bpw),
        f("%.4f", r.ppl), chunks_note or "", f("%.6f", r.kld), f("%.2f%%", r.same_top and r.same_top * 100),
        r.arith_n and string.format("%d/%d", r.arith_correct, r.arith_n) or "-",
        f("%.1f", r.tg_tps), f("%.4f", r.ppl_ratio), f("%.3f", r.kld_ratio)))
    end
  end
end
results:close()
