-- Sampling a whole decode step in C: the top_p fast path (nucleus straight
-- from the raw logits) must equal the candidate-array path exactly, and
-- c:sample(samplers) must give every sampler what s:sample(c:logits(i))
-- would, whatever the batch and thread split.
local shared = require("support.shared")

local llm = require("luallm")
local S = llm.sampler

local capture = require("support.sampling").capture

local function lcg(seed)
  return function()
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  end
end

local function logit_sets()
  local sets = {}
  local rnd = lcg(11)
  local t = {}
  for i = 1, 3000 do t[i] = (rnd() + rnd() + rnd() - 1.5) * 6 end
  sets.random = t
  local r = {}
  for i = 1, 3000 do r[i] = math.floor(t[i] * 2) / 2 end -- many ties
  sets.ties = r
  local f = {}
  for i = 1, 3000 do f[i] = 0 end -- flat: the nucleus needs most ids
  sets.flat = f
  local odd = {}
  for i = 1, 3000 do odd[i] = t[i] end
  odd[5], odd[77], odd[2999] = 0 / 0, -math.huge, 0 / 0
  sets.nan_inf = odd
  local peak = {}
  for i = 1, 3000 do peak[i] = -math.huge end
  peak[1234] = 3
  sets.one_finite = peak
  local plus = {}
  for i = 1, 3000 do plus[i] = t[i] end
  plus[42] = math.huge
  sets.plus_inf = plus
  return sets
end

describe("top_p from raw logits", function()
  it("keeps the same candidates, order and probabilities as the candidate-array path", function()
    for name, t in pairs(logit_sets()) do
      local logits = llm.core.logits_from_table(t)
      for _, p in ipairs({ 0.3, 0.9, 0.95, 0.999 }) do
        local fast = capture({ S.top_p(p) }, logits)
        -- temperature(1) first: logits unchanged, but top_p then runs on the array
        local slow = capture({ S.temperature(1), S.top_p(p) }, logits)
        assert.are.equal(#slow, #fast, name .. " p=" .. p)
        for i = 1, #slow do
          for _, k in ipairs({ "id", "logit", "p" }) do
            local a, b = fast[i][k], slow[i][k]
            assert.is_true(a == b or (a ~= a and b ~= b), ("%s p=%g cand %d %s: %s vs %s"):format(
              name, p, i, k, tostring(a), tostring(b)))
          end
        end
      end
    end
  end)

  it("draws the same seeded tokens as before (R1 chain)", function()
    local t = logit_sets().random
    local logits = llm.core.logits_from_table(t)
    local a = S.chain({ S.top_p(0.95), S.temperature(0.6), S.dist(7) })
    local b = S.chain({ S.temperature(1), S.top_p(0.95), S.temperature(0.6), S.dist(7) })
    for _ = 1, 50 do
      local x, y = a:sample(logits), b:sample(logits)
      assert.are.equal(y, x)
    end
  end)
end)

describe("c:sample", function()
  local MODEL = "models/micro-r1-qwen2-f16.gguf"
  local m

  local function setup(T)
    local p = shared.need(MODEL)
    if not p then return nil end
    m = m or assert(llm.load(p))
    local c = assert(m:context({ n_ctx = 64 * T, n_seq = T, threads = 2 }))
    local toks, seqs, want = {}, {}, {}
    for i = 1, T do toks[i], seqs[i], want[i] = 300 + 17 * i, i - 1, true end
    assert(c:decode(toks, seqs, want))
    return c
  end

  it("gives each sampler what s:sample(c:logits(i)) gives it", function()
    local T = 9
    local c = setup(T)
    if not c then return end
    local a, b = {}, {}
    for i = 1, T do
      local o = i % 3 == 0 and { temperature = 0 } or { temperature = 0.6, top_p = 0.95, seed = i }
      if i % 4 == 0 then o = { temperature = 0.8, top_k = 40, min_p = 0.05, seed = i } end
      a[i], b[i] = assert(S.new(o)), assert(S.new(o))
    end
    local out = {}
    for _ = 1, 5 do
      assert.are.equal(out, assert(c:sample(a, out)))
      for i = 1, T do
        assert.are.equal(b[i]:sample(c:logits(i)), out[i])
        a[i]:accept(out[i])
        b[i]:accept(out[i])
      end
    end
    -- a reused table with fewer samplers loses the extra ids
    assert(c:sample({ a[1], a[2] }, out))
    assert.are.equal(2, #out)
  end)

  it("samples a sampler given twice in order, and refuses Lua stages and bad input", function()
    local c = setup(3)
    if not c then return end
    local s = assert(S.new({ temperature = 0.6, top_p = 0.95, seed = 3 }))
    local s2 = assert(S.new({ temperature = 0.6, top_p = 0.95, seed = 3 }))
    local ids = assert(c:sample({ s, s, s }))
    for i = 1, 3 do assert.are.equal(s2:sample(c:logits(i)), ids[i]) end
    local lua_stage = S.chain({ S.custom(function() end), S.greedy() })
    local r, msg = c:sample({ s, lua_stage })
    assert.is_nil(r)
    assert.truthy(msg:find("samplers[2]", 1, true))
    local r2, msg2 = c:sample({ s, s, s, s })
    assert.is_nil(r2)
    assert.truthy(msg2:find("logits rows", 1, true))
  end)
end)
