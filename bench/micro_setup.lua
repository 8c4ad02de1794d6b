-- What the batched benches (batch_decode.lua, eval_throughput.lua) share:
-- the shared folder, comma lists from the environment, and the arith-dev
-- questions used as prompts. Loaded by path from those scripts (bench/ is
-- not on LUA_PATH).
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

return M
