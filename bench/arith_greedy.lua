-- Greedy accuracy on ../shared/eval/arith-dev.jsonl for one or more models:
--   lua5.4 bench/arith_greedy.lua MODEL.gguf [MODEL2.gguf ...] [--limit N] [--threads N] [--json]
-- Each problem's `prompt` (R1 template text, BOS included) is completed with
-- greedy sampling; the answer is the last **bold** span after the think
-- block, else the last number; correct when it equals `gold`.
local llm = require("luallm")
local json = require("luallm.json")

local models, limit, threads, as_json = {}, math.huge, nil, false
local i = 1
while i <= #arg do
  if arg[i] == "--limit" then limit = tonumber(arg[i + 1]); i = i + 2
  elseif arg[i] == "--threads" then threads = tonumber(arg[i + 1]); i = i + 2
  elseif arg[i] == "--json" then as_json = true; i = i + 1
  else models[#models + 1] = arg[i]; i = i + 1 end
end
local shared = os.getenv("LUALLM_SHARED") or "../shared"
local problems = {}
for line in io.lines(shared .. "/eval/arith-dev.jsonl") do
  if #problems >= limit then break end
  problems[#problems + 1] = assert(json.decode(line))
end

local function extract(text)
  local content = llm.reasoning.split(text, { open = false }).content
  local last
  for b in content:gmatch("%*%*(.-)%*%*") do last = b end
  if not last then for n in content:gmatch("%-?%d+") do last = n end end
  return last and (last:gsub("^%s+", ""):gsub("%s+$", "")) or nil
end

for _, path in ipairs(models) do
  local m = assert(llm.load(path, { threads = threads }))
  local ok, tokens, t0 = 0, 0, os.time()
  for _, p in ipairs(problems) do
    local r = assert(m:complete(p.prompt, { temperature = 0, max_tokens = 200, n_ctx = 256 }))
    tokens = tokens + r.stats.gen_n
    if extract(r.text) == p.gold then ok = ok + 1 end
  end
  if as_json then
    print(json.encode({ model = path, correct = ok, n = #problems, accuracy = ok / #problems,
                        tokens = tokens, seconds = os.time() - t0 }))
  else print(string.format("%s: greedy %d/%d correct (%.1f%%), %d tokens, %ds",
    path:match("[^/]*$"), ok, #problems, 100 * ok / #problems, tokens, os.time() - t0)) end
end
