-- Batched decoding: forked prompt prefixes (shared KV cells, same positions,
-- same outputs as recomputing the prompt) and the continuous-batching
-- scheduler (greedy tokens identical to one-at-a-time generation).
local shared = require("support.shared")

local llm = require("luallm")
local batch = require("luallm.batch")

local MODEL = "models/micro-r1-qwen2-f16.gguf"

describe("batch", function()
  local m

  local function model()
    local p = shared.need(MODEL)
    if not p then return nil end
    if not m then m = assert(llm.load(p)) end
    return m
  end

  -- Rows agree to float rounding: attention multiplies the queries of a chunk
  -- of tokens in one sgemm, whose summation order can depend on the chunk
  -- size, so a prompt evaluated with or without its next token can differ in
  -- the last bits (seen: 2e-6 on logits of magnitude ~10).
  local TOL = 1e-4
  local function same_row(c1, i1, c2, i2)
    local a, b = c1:logits_buf(i1), c2:logits_buf(i2)
    for k = 1, #a do
      if math.abs(a[k] - b[k]) > TOL then return false, string.format("logit %d: %.9g vs %.9g", k - 1, a[k], b[k]) end
    end
    return true
  end

  it("fork shares the prompt's cells and positions; outputs equal recomputing the prompt", function()
    if not model() then return end
    local ids = assert(m:_prompt_ids(m:chat_template({ { role = "user", content = "What is 2 + 3?" } })))
    local c = assert(m:context({ n_ctx = 128, n_seq = 3 }))
    assert(c:eval(ids, { seq = 0 }))
    local used = c:info().used
    c:fork(0, 1)
    c:fork(0, 2)
    assert.equal(#ids, c:pos(0))
    assert.equal(#ids, c:pos(1))
    assert.equal(#ids, c:pos(2))
    assert.equal(used, c:info().used) -- no cell copied
    -- one batched step over the three sequences, different next tokens
    local nexts = { 100, 200, 300 }
    assert.equal(3, c:decode(nexts, { 0, 1, 2 }, { true, true, true }))
    assert.equal(used + 3, c:info().used)
    -- reference: a fresh context per sequence, prompt recomputed
    for s = 0, 2 do
      local r = assert(m:context({ n_ctx = 64 }))
      local all = {}
      for i, id in ipairs(ids) do all[i] = id end
      all[#all + 1] = nexts[s + 1]
      assert(r:eval(all))
      local ok, why = same_row(c, s + 1, r, 1)
      assert.is_true(ok, why)
    end
    -- clearing a fork keeps the shared prefix for the others
    c:clear(1)
    assert.equal(used + 2, c:info().used)
    assert.equal(#ids + 1, c:pos(2))
    -- fork of a longer sequence, trimmed back to the prompt
    c:fork(2, 1)
    c:trim(1, #ids)
    assert.equal(#ids, c:pos(1))
    assert.equal(#ids + 1, c:pos(2))
    assert.equal(used + 2, c:info().used)
  end)

  it("continuous batching: greedy tokens equal unbatched generation", function()
    if not model() then return end
    local N = 6
    local prompts = {}
    for i, q in ipairs({ "What is 60 + 1791?", "Multiply 9 by 3.", "What is 7851 + 3?" }) do
      prompts[i] = m:chat_template({ { role = "user", content = q } })
    end
    -- 6 requests on 3 slots: a prompt forked to two slots in one admission,
    -- slots reused, a waiting member takes over a finished member's prefix
    local reqs = { 1, 1, 1, 2, 3, 3 }
    local b = assert(batch.new(m, { parallel = 3 }))
    for _, pi in ipairs(reqs) do
      assert(b:add({ prompt = prompts[pi], greedy = true, max_tokens = N }))
    end
    local order = {}
    local res, st = b:run({ on_done = function(_, r) order[#order + 1] = r.index end })
    assert.is_table(res, st)
    assert.equal(6, #order)
    assert.equal(6 * N, st.gen_tokens)
    -- each distinct prompt prefix evaluated once per group activation (3 groups)
    local plen = 0
    for _, p in ipairs(prompts) do plen = plen + #assert(m:_prompt_ids(p)) - 1 end
    assert.equal(plen, st.prompt_tokens)
    for i, pi in ipairs(reqs) do
      local ref = assert(m:complete(prompts[pi], { temperature = 0, max_tokens = N }))
      assert.same(ref.tokens, res[i].tokens)
      assert.equal(ref.text, res[i].text)
      assert.equal("length", res[i].stop_reason)
    end
  end)

  -- Seeded samples must not depend on the batch: every step's matmuls use
  -- the same kernels at any parallel (vec_dot_n is bit-identical to vec_dot,
  -- sgemm only above 64 tokens), each prompt is prefilled alone, and
  -- c:sample draws each row as s:sample would. Both the F16 model and a
  -- quantized one (Q8_K activations, where sgemm would differ most).
  for _, path in ipairs({ MODEL, "models/quant/micro-r1-qwen2-q4_k_m.llamacpp.gguf" }) do
    it("seeded samples are the same at parallel 1, 3 and 7 (" .. path .. ")", function()
      local p = shared.need(path)
      if not p then return end
      local mm = path == MODEL and model() or assert(llm.load(p))
      local qs = { "What is 12 + 7?", "How many r in strawberry?", "What is 3 * 4?", "Spell cat backwards.",
                   "What is 100 - 1?", "Multiply 9 by 3.", "What is 7851 + 3?" }
      local function run(par)
        local b = assert(batch.new(mm, { parallel = par }))
        for i, q in ipairs(qs) do
          assert(b:add({ prompt = mm:chat_template({ { role = "user", content = q } }), max_tokens = 24,
                         sampler = { temperature = 0.6, top_p = 0.95, seed = i } }))
        end
        return assert(b:run())
      end
      local r1, r3, r7 = run(1), run(3), run(7)
      for i = 1, #qs do
        assert.same(r1[i].tokens, r3[i].tokens)
        assert.same(r1[i].tokens, r7[i].tokens)
      end
    end)
  end

  it("handles max_tokens = 0, stop strings and bad requests", function()
    if not model() then return end
    local b = assert(batch.new(m, { parallel = 2 }))
    local p = m:chat_template({ { role = "user", content = "What is 60 + 1791?" } })
    assert(b:add({ prompt = p, greedy = true, max_tokens = 0 }))
    assert(b:add({ prompt = p, greedy = true, max_tokens = 8, stop = { " +" } }))
    local res = assert(b:run())
    assert.equal(0, res[1].n)
    assert.equal("length", res[1].stop_reason)
    assert.equal("stop", res[2].stop_reason)
    assert.is_nil(res[2].text:find(" +", 1, true))
    assert.is_true(res[2].n < 8)
    assert.is_nil((batch.new(m, { parallel = 65 })))
    assert.is_nil((b:add({ prompt = 42 })))
    assert.is_nil((b:add({ prompt = "x", max_tokens = -1 })))
    assert.is_nil((b:add({ prompt = "x", sampler = { temprature = 1 } })))
  end)
end)
