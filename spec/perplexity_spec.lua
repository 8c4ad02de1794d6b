-- Perplexity: the scoring math on hand-made rows, and llm.perplexity on a
-- few windows of the dev text (the full-file figure is a report, not a test:
-- it takes minutes).
local llm = require("luallm")
local core = require("luallm_core")
local shared = require("support.shared")

describe("perplexity math", function()
  it("computes -log softmax of the target", function()
    local row = core.logits_from_table({ 1, 2, 3, 0 })
    local lse = math.log(math.exp(1) + math.exp(2) + math.exp(3) + math.exp(0))
    assert.is_near(lse - 3, core.ppl_nll(row, 2), 1e-6)
    assert.is_near(lse - 0, core.ppl_nll(row, 3), 1e-6)
    assert.is_nil((core.ppl_nll(row, 4)))
  end)

  it("is stable for large logits", function()
    local row = core.logits_from_table({ 1000, 1000 })
    assert.is_near(math.log(2), core.ppl_nll(row, 0), 1e-9)
  end)

  it("gives KL divergence 0 for equal rows and the textbook value otherwise", function()
    local a = core.logits_from_table({ 0.5, -1, 2 })
    local kld, same = core.ppl_kld(a, a)
    assert.equal(0, kld)
    assert.is_true(same)
    -- p = (0.5, 0.5), q = (0.8, 0.2) as logits log(p), log(q)
    local p = core.logits_from_table({ math.log(0.5), math.log(0.5) })
    local q = core.logits_from_table({ math.log(0.8), math.log(0.2) })
    local want = 0.5 * math.log(0.5 / 0.8) + 0.5 * math.log(0.5 / 0.2)
    kld, same = core.ppl_kld(p, q)
    assert.is_near(want, kld, 1e-6)
    assert.is_true(same) -- ties resolve to the lowest id
    local _, same2 = core.ppl_kld(core.logits_from_table({ 0, 1 }), core.logits_from_table({ 1, 0 }))
    assert.is_false(same2)
  end)
end)

describe("llm.perplexity", function()
  local path = shared.need("models/micro-r1-qwen2-f16.gguf")
  local text = shared.read("eval/ppl-dev.txt")
  if not path or not text then
    pending("micro qwen2 model or eval text missing")
    return
  end
  local m = assert(llm.load(path, { threads = 2 }))

  it("scores two windows, against itself: finite PPL, KLD 0, same top-1", function()
    local seen = 0
    local r = assert(llm.perplexity(m, text, {
      n_ctx = 256, n_batch = 128, limit_chunks = 2, against = m,
      progress = function(done, total) seen = done; assert.equal(2, total) end,
    }))
    assert.equal(2, r.n_chunks)
    assert.equal(2, seen)
    assert.equal(2 * 127, r.tokens) -- positions 128..254 of each window predict 129..255
    assert.is_true(r.ppl > 1 and r.ppl < 100, "ppl " .. r.ppl)
    assert.is_true(r.stderr > 0 and r.stderr < r.ppl)
    assert.is_near(math.exp(r.nll), r.ppl, 1e-9)
    assert.is_true(r.kld < 1e-9)
    assert.equal(1, r.same_top)
  end)

  it("refuses a text shorter than one window", function()
    local r, err = llm.perplexity(m, "too short", { n_ctx = 256 })
    assert.is_nil(r)
    assert.matches("need at least 256 tokens", err)
  end)
end)
