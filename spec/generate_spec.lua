-- Generation controls on the micro model: greedy answers, stop strings
-- across token boundaries (never emitted), max_tokens, the thinking budget,
-- an early stop from the per-token callback, statistics, m:chat's split.
local shared = require("support.shared")
local llm = require("luallm")

describe("generation", function()
  local m
  local function model()
    local p = shared.need("models/micro-r1-qwen2-f16.gguf")
    if not p then return nil end
    m = m or assert(llm.load(p, { n_ctx = 256 }))
    return m
  end
  local Q = "<｜begin▁of▁sentence｜><｜User｜>What is 713 - 39?<｜Assistant｜>"

  it("chat renders the template, answers greedily and splits the think block", function()
    if not model() then return end
    local r = assert(m:chat({ { role = "user", content = "What is 713 - 39?" } }, { temperature = 0 }))
    assert.are.equal("713 - 39 = **674**", r.content)
    assert.truthy(r.reasoning:find("So 713 - 39 = 674.", 1, true))
    assert.is_true(r.closed)
    assert.are.equal("eos", r.stop_reason)
    local st = r.stats
    for _, k in ipairs({ "load_ms", "prompt_n", "prompt_ms", "prompt_tps", "gen_n", "gen_ms", "gen_tps", "total_ms" }) do
      assert.is_number(st[k], k)
    end
    assert.are.equal(#r.tokens, st.gen_n)
  end)

  it("stops at a stop string matched across tokens and does not emit it", function()
    if not model() then return end
    local full = assert(m:complete(Q, { temperature = 0, max_tokens = 200 })).text
    local at = full:find("borrow", 1, true)
    assert.truthy(at)
    local r = assert(m:complete(Q, { temperature = 0, max_tokens = 200, stop = { "borrow" } }))
    assert.are.equal("stop", r.stop_reason)
    assert.are.equal(full:sub(1, at - 1), r.text)
    -- streaming yields the same text
    local pieces = {}
    for piece in m:generate(Q, { temperature = 0, max_tokens = 200, stop = { "borrow" } }) do
      pieces[#pieces + 1] = piece
    end
    assert.are.equal(r.text, table.concat(pieces))
  end)

  it("honours max_tokens and the per-token callback", function()
    if not model() then return end
    local r = assert(m:complete(Q, { temperature = 0, max_tokens = 5 }))
    assert.are.equal("length", r.stop_reason)
    assert.are.equal(5, #r.tokens)
    local n = 0
    r = assert(m:complete(Q, { temperature = 0, max_tokens = 50, on_token = function()
      n = n + 1
      return n < 3
    end }))
    assert.are.equal("callback", r.stop_reason)
    assert.are.equal(3, #r.tokens)
  end)

  it("closes the think block when the thinking budget is spent", function()
    if not model() then return end
    local r = assert(m:chat({ { role = "user", content = "What is 713 - 39?" } },
      { temperature = 0, max_reasoning_tokens = 6, max_tokens = 120 }))
    assert.is_true(r.closed)
    assert.is_true(#r.reasoning < 40, r.reasoning)
    assert.truthy(r.content:find("713", 1, true), r.content)
  end)

  it("is reproducible with a seeded sampler", function()
    if not model() then return end
    local a = assert(m:complete(Q, { temperature = 0.8, top_p = 0.95, seed = 7, max_tokens = 40 }))
    local b = assert(m:complete(Q, { temperature = 0.8, top_p = 0.95, seed = 7, max_tokens = 40 }))
    assert.are.same(a.tokens, b.tokens)
  end)

  it("rejects bad prompts and options", function()
    if not model() then return end
    local r, err = m:complete({ -5 }, {})
    assert.is_nil(r)
    assert.truthy(err:find("not a valid id", 1, true))
    r, err = m:complete(Q, { max_tokens = -1 })
    assert.is_nil(r)
    r, err = m:complete(Q, { temperature = "hot" })
    assert.is_nil(r)
    assert.truthy(err:find("temperature", 1, true))
  end)
end)
