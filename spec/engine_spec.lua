-- The CPU engine's own invariants: batched prompt evaluation (the sgemm path
-- for long batches) agrees with token-by-token evaluation, KV operations
-- (fork, trim, clear) behave, and bad input is an error, not a crash.
local shared = require("support.shared")
local core = require("luallm_core")

local function maxdiff(a, b)
  local w = 0
  for i = 1, #a do
    local d = math.abs(a[i] - b[i])
    if d > w then w = d end
  end
  return w
end

describe("CPU engine", function()
  local m
  local function model()
    local p = shared.need("models/micro-r1-qwen2-f16.gguf")
    if not p then return nil end
    m = m or assert(core.model_load(p))
    return m
  end
  local ids = {}
  for i = 1, 100 do ids[i] = (i * 7919) % 5000 + 100 end

  it("evaluates a long batch like token-by-token steps", function()
    if not model() then return end
    local c1 = assert(core.context_new(m, { n_ctx = 256, n_batch = 64 }))
    assert(c1:eval(ids))
    local a = c1:logits_buf()
    local c2 = assert(core.context_new(m, { n_ctx = 256 }))
    for i = 1, #ids do assert(c2:eval({ ids[i] })) end
    local b = c2:logits_buf()
    assert.is_true(maxdiff(a, b) < 2e-3, "max diff " .. maxdiff(a, b))
    assert.are.equal(100, c1:pos(0))
  end)

  it("fork shares the prefix and continues identically", function()
    if not model() then return end
    local c = assert(core.context_new(m, { n_ctx = 256, n_seq = 2 }))
    assert(c:eval({ table.unpack(ids, 1, 40) }, { seq = 0 }))
    c:fork(0, 1)
    assert.are.equal(40, c:pos(1))
    assert(c:eval({ 11 }, { seq = 1 }))
    local a = c:logits_buf()
    assert(c:eval({ 11 }, { seq = 0 }))
    local b = c:logits_buf()
    assert.is_true(maxdiff(a, b) < 1e-5)
    assert.are.equal(42, c:info().used) -- 40 shared cells + one appended per sequence
  end)

  it("trims and clears sequences", function()
    if not model() then return end
    local c = assert(core.context_new(m, { n_ctx = 64 }))
    assert(c:eval({ table.unpack(ids, 1, 20) }))
    c:trim(0, 10)
    assert.are.equal(10, c:pos(0))
    assert.are.equal(10, c:info().used)
    c:clear(0)
    assert.are.equal(0, c:pos(0))
    assert.are.equal(0, c:info().used)
  end)

  it("reports context overflow and bad ids as errors", function()
    if not model() then return end
    local c = assert(core.context_new(m, { n_ctx = 16 }))
    local ok, err = c:eval(ids)
    assert.is_nil(ok)
    assert.truthy(err:find("context overflow", 1, true))
    assert.are.equal(0, c:info().used) -- nothing half-appended
    ok, err = c:eval({ 1e9 })
    assert.is_nil(ok)
    assert.truthy(err:find("out of range", 1, true))
    ok, err = c:eval({ -1 })
    assert.is_nil(ok)
    local bad, e2 = core.context_new(m, { kv_type = "q3" })
    assert.is_nil(bad)
    assert.truthy(e2:find("kv_type", 1, true))
  end)

  it("runs with f32 and q8_0 KV caches close to f16", function()
    if not model() then return end
    local out = {}
    for _, kt in ipairs({ "f16", "f32", "q8_0" }) do
      local c = assert(core.context_new(m, { n_ctx = 128, kv_type = kt }))
      assert(c:eval({ table.unpack(ids, 1, 50) }))
      out[kt] = c:logits_buf()
    end
    assert.is_true(maxdiff(out.f16, out.f32) < 1e-2)
    assert.is_true(maxdiff(out.f16, out.q8_0) < 0.1)
  end)

  it("rejects files it cannot run with a clear message", function()
    local p = shared.need("tokenizer/ggml-vocab-gpt-2.gguf")
    if not p then return end
    local mm, err = core.model_load(p)
    assert.is_nil(mm)
    assert.truthy(err:find("model:", 1, true), err)
  end)
end)
