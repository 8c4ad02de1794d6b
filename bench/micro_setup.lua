-- What the batched benches (batch_decode.lua, eval_throughput.lua) share:
-- the shared folder, comma lists from the environment, the arith-dev
-- questions used as prompts, and the loop over the micro models. Loaded by
-- path from those scripts (bench/ is not on LUA_PATH).
local json = require("luallm.json")

local M = {}

M.root = os.getenv("LUALLM_SHARED") or "../shared"

--- "1, 4,16" -> {"1", "4", "16"}
function M.list(s)
  local t = {}
  for x in s:gmatch("[^,%s]+") do t[#t + 1] = x end
  return t
end

--- The questions of eval/arith-dev.jsonl; nil (after printing that the
--- bench is skipped) when the file is absent.
function M.questions()
  local path = M.root .. "/eval/arith-dev.jsonl"
  local f = io.open(path, "rb")
  if not f then
    print("skipped: needs " .. path)
    return nil
  end
  local qs = {}
  for line in f:lines() do qs[#qs + 1] = json.decode(line).question end
  f:close()
  return qs
end

--- fn(name, model) for each micro model of BENCH_MODELS (default qwen2,llama);
--- a model that does not load gets a "skipped" row of a ncols-column table.
function M.each_model(threads, ncols, fn)
  local llm = require("luallm")
  for _, name in ipairs(M.list(os.getenv("BENCH_MODELS") or "qwen2,llama")) do
    local path = M.root .. "/models/micro-r1-" .. name .. "-f16.gguf"
    local m = llm.load(path, { threads = threads })
    if not m then
      print("| " .. name .. " | skipped (no " .. path .. ") |" .. string.rep(" |", ncols - 2))
    else
      fn(name, m)
    end
  end
end

return M
