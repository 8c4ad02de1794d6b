local llm = require("luallm")
local S = llm.sampler

local capture = require("support.sampling").capture

local function ids_of(seen)
  local t = {}
  for i, c in ipairs(seen) do t[i] = c.id end
  return t
end

local function sorted_ids(seen)
  local t = ids_of(seen)
  table.sort(t)
  return t
end

-- logits whose softmax is exactly `probs`
local function logits_for(probs)
  local t = {}
  for i, p in ipairs(probs) do t[i] = math.log(p) end
  return t
end

local function softmax(l)
  local m, z, p = -math.huge, 0, {}
  for _, v in ipairs(l) do if v > m then m = v end end
  for i, v in ipairs(l) do p[i] = math.exp(v - m); z = z + p[i] end
  for i = 1, #p do p[i] = p[i] / z end
  return p
end

-- A deterministic pseudo-random vocabulary (LCG, no dependence on math.random).
local function fake_logits(n, seed)
  local t, x = {}, seed
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    -- multiples of 2^-10: exact in float, so C and Lua order ties alike
    t[i] = math.floor((x / 2147483648) * 20480) / 1024 - 10
  end
  return t
end

local function sample_seq(s, logits, n)
  local out = {}
  for i = 1, n do out[i] = assert(s:sample(logits)) end
  return out
end

describe("sampler RNG", function()
  it("has pinned first values (xoshiro256** seeded by splitmix64)", function()
    -- uniform() * 2^53 is an exact integer on every platform and Lua
    local pins = {
      [0] = { 5415695640260286, 6735350249106120, 927921571702396, 3752300831360421 },
      [42] = { 755370490430936, 3413550631330343, 6125286505004179, 8328893607999084 },
    }
    for seed, want in pairs(pins) do
      local r = S.rng(seed)
      for i = 1, #want do
        assert.are.equal(want[i], r:uniform() * 2 ^ 53)
      end
    end
  end)

  it("stays in [0, 1)", function()
    local r = S.rng(7)
    for _ = 1, 10000 do
      local u = r:uniform()
      assert.is_true(u >= 0 and u < 1)
    end
  end)
end)

describe("sampler determinism", function()
  local logits = fake_logits(1000, 3)

  it("gives the same sequence for the same seed, another for another seed", function()
    local a = sample_seq(S({ temperature = 1.5, seed = 42 }), logits, 50)
    local b = sample_seq(S({ temperature = 1.5, seed = 42 }), logits, 50)
    local c = sample_seq(S({ temperature = 1.5, seed = 43 }), logits, 50)
    assert.are.same(a, b)
    assert.are_not.same(a, c)
  end)

  it("reset() replays the sequence", function()
    local s = S({ temperature = 1.5, seed = 5, repeat_penalty = 1.3 })
    local a = {}
    for i = 1, 20 do a[i] = s:sample(logits); s:accept(a[i]) end
    s:reset()
    local b = {}
    for i = 1, 20 do b[i] = s:sample(logits); s:accept(b[i]) end
    assert.are.same(a, b)
  end)

  it("draws a pinned sequence from fixed logits", function()
    local s = S.dist(42)
    local l = logits_for({ 0.1, 0.2, 0.3, 0.4 })
    -- u = 0.0839, 0.379, 0.680, 0.925 ... against cumulative 0.1 0.3 0.6 1.0
    assert.are.same({ 0, 2, 3, 3 }, sample_seq(s, l, 4))
  end)

  it("gives a stage copied into two chains independent state", function()
    local d = S.dist(9)
    local c1, c2 = S.chain({ d }), S.chain({ d })
    local l = fake_logits(50, 1)
    assert.are.same(sample_seq(c1, l, 20), sample_seq(c2, l, 20))
  end)
end)

describe("sampler stages", function()
  local probs = { 0.5, 0.3, 0.15, 0.05 }
  local l4 = logits_for(probs)

  it("greedy picks the argmax, lowest id on ties", function()
    assert.are.equal(2, S.greedy():sample({ 1, 3, 7, -2 }))
    assert.are.equal(1, S.greedy():sample({ 1, 7, 7, -2 }))
    assert.are.equal(0, S.greedy():sample({ 5 }))
    -- NaN counts as -inf; nothing above -inf gives 0; rows past the top-k scan's 128-logit blocks
    local nan = 0 / 0
    assert.are.equal(1, S.greedy():sample({ nan, -3, -5 }))
    assert.are.equal(0, S.greedy():sample({ nan, -math.huge, nan }))
    local long = {}
    for i = 1, 1001 do long[i] = math.sin(i) end
    long[997] = 2; long[1000] = 2
    assert.are.equal(996, S.greedy():sample(long))
    long[3] = nan
    assert.are.equal(996, S.greedy():sample(long))
  end)

  it("top_k keeps the k best", function()
    local seen = capture({ S.top_k(2) }, { 1, 9, 3, 8, -1 })
    assert.are.same({ 1, 3 }, ids_of(seen)) -- sorted best first
    assert.are.equal(5, #capture({ S.top_k(10) }, { 1, 9, 3, 8, -1 }))
  end)

  it("top_k on a 152k vocabulary matches a full sort", function()
    local l = fake_logits(152064, 11)
    local idx = {}
    for i = 1, #l do idx[i] = i end
    table.sort(idx, function(a, b) return l[a] > l[b] or (l[a] == l[b] and a < b) end)
    local seen = capture({ S.top_k(40) }, S.logits_from_table(l))
    assert.are.equal(40, #seen)
    for i = 1, 40 do assert.are.equal(idx[i] - 1, seen[i].id) end
  end)

  it("top_p keeps the smallest set reaching p", function()
    assert.are.same({ 0 }, ids_of(capture({ S.top_p(0.45) }, l4)))
    assert.are.same({ 0, 1 }, ids_of(capture({ S.top_p(0.75) }, l4)))
    assert.are.same({ 0, 1, 2 }, ids_of(capture({ S.top_p(0.81) }, l4)))
    assert.are.same({ 0, 1, 2, 3 }, ids_of(capture({ S.top_p(1.0) }, l4)))
  end)

  it("top_p on a 152k vocabulary matches a reference nucleus", function()
    local l = fake_logits(152064, 5)
    for i = 1, 30 do l[i * 97] = 14 - i * 0.3 end -- a peaked head
    local p = softmax(l)
    local idx = {}
    for i = 1, #l do idx[i] = i end
    table.sort(idx, function(a, b) return l[a] > l[b] or (l[a] == l[b] and a < b) end)
    local cum, want = 0, 0
    for i = 1, #idx do
      cum = cum + p[idx[i]]
      if cum >= 0.9 then want = i break end
    end
    local seen = capture({ S.top_p(0.9) }, S.logits_from_table(l))
    assert.is_true(math.abs(#seen - want) <= 1) -- float vs double rounding at the edge
    for i = 1, math.min(#seen, want) do assert.are.equal(idx[i] - 1, seen[i].id) end
  end)

  it("min_p keeps probabilities >= p * max", function()
    assert.are.same({ 0, 1 }, sorted_ids(capture({ S.min_p(0.5) }, l4)))
    assert.are.same({ 0, 1, 2 }, sorted_ids(capture({ S.min_p(0.2) }, l4)))
    assert.are.same({ 0 }, sorted_ids(capture({ S.min_p(1.0) }, l4)))
    assert.are.equal(4, #capture({ S.min_p(0) }, l4))
  end)

  it("typical keeps the most typical tokens until mass p", function()
    local pr = { 0.4, 0.25, 0.2, 0.1, 0.05 }
    local h = 0
    for _, p in ipairs(pr) do h = h - p * math.log(p) end
    local order = { 1, 2, 3, 4, 5 }
    table.sort(order, function(a, b)
      return math.abs(-math.log(pr[a]) - h) < math.abs(-math.log(pr[b]) - h)
    end)
    for _, mass in ipairs({ 0.3, 0.5, 0.7, 0.9 }) do
      local want, cum = {}, 0
      for _, i in ipairs(order) do
        want[#want + 1] = i - 1
        cum = cum + pr[i]
        if cum >= mass then break end
      end
      assert.are.same(want, ids_of(capture({ S.typical(mass) }, logits_for(pr))))
    end
  end)

  it("applies repeat, frequency and presence penalties over the last N tokens", function()
    local pen = S.penalties({ repeat_ = 2, frequency = 0.1, presence = 0.5, last_n = 3 })
    local seen
    local s = S.chain({ pen, S.custom(function(c)
      seen = {}
      for i = 1, #c do seen[c:id(i)] = c:logit(i) end
    end) })
    local l = { 2, -2, 1, 0.5 }
    s:sample(l)
    assert.are.same({ [0] = 2, [1] = -2, [2] = 1, [3] = 0.5 }, seen)
    s:accept(0); s:accept(1); s:accept(0)
    s:sample(l)
    assert.is_true(math.abs(seen[0] - (2 / 2 - 2 * 0.1 - 0.5)) < 1e-6)  -- positive: divided
    assert.is_true(math.abs(seen[1] - (-2 * 2 - 0.1 - 0.5)) < 1e-6)     -- negative: multiplied
    assert.are.equal(1, seen[2])
    s:accept(3); s:accept(3) -- window is now {0, 3, 3}: id 1 left it
    s:sample(l)
    assert.are.equal(-2, seen[1])
    assert.is_true(math.abs(seen[3] - (0.5 / 2 - 0.2 - 0.5)) < 1e-6)
    s:reset()
    s:sample(l)
    assert.are.equal(2, seen[0])
  end)

  it("logit_bias adds deltas and can ban a token", function()
    assert.are.equal(1, S.chain({ S.logit_bias({ [2] = -math.huge }), S.greedy() }):sample({ 1, 5, 9 }))
    local seen = capture({ S.logit_bias({ [0] = 1.5, [7] = 3 }) }, { 1, 5, 9 })
    local by = {}
    for _, c in ipairs(seen) do by[c.id] = c.logit end
    assert.are.equal(2.5, by[0])
    assert.are.equal(5, by[1])
  end)

  it("temperature divides logits; 0 means argmax", function()
    local seen = capture({ S.temperature(0.5) }, { 1, -3, 2 })
    assert.are.same({ 2, -6, 4 }, { seen[1].logit, seen[2].logit, seen[3].logit })
    assert.are.equal(1, #capture({ S.temperature(0) }, { 1, -3, 2 }))
    assert.are.equal(2, S.temperature(0):sample({ 1, -3, 2 }))
  end)

  it("dist follows softmax (chi-square over 20000 draws)", function()
    local l = { 1.0, 0.2, -0.5, 2.0, 0.0 }
    local p = softmax(l)
    local s = S.dist(1234)
    local n, counts = 20000, { 0, 0, 0, 0, 0 }
    for _ = 1, n do
      local id = s:sample(l)
      counts[id + 1] = counts[id + 1] + 1
    end
    local chi2 = 0
    for i = 1, 5 do chi2 = chi2 + (counts[i] - n * p[i]) ^ 2 / (n * p[i]) end
    assert.is_true(chi2 < 18.47, "chi2 = " .. chi2) -- 4 d.o.f., p = 0.001
  end)

  it("dist refuses when every token is banned", function()
    local s = S.chain({ S.logit_bias({ [0] = -math.huge, [1] = -math.huge }), S.dist(1) })
    local id, err = s:sample({ 1, 2 })
    assert.is_nil(id)
    assert.truthy(err:find("-inf", 1, true))
  end)
end)

describe("sampler chains", function()
  it("llm.sampler{} builds the usual order and leaves off no-op stages", function()
    local s = S({ temperature = 0.6, top_p = 0.95, top_k = 40, min_p = 0.05,
                  repeat_penalty = 1.1, repeat_last_n = 32, seed = 42 })
    assert.are.same({ "penalties(repeat=1.1, frequency=0, presence=0, last_n=32)", "top_k(40)",
                      "top_p(0.95)", "min_p(0.05)", "temperature(0.6)", "dist(42)" }, s:stages())
    assert.are.same({ "greedy()" }, S({ temperature = 0 }):stages())
    assert.are.same({ "temperature(1)", "dist(0)" }, S():stages())
    assert.truthy(tostring(s):find("top_k(40) -> top_p(0.95)", 1, true))
  end)

  it("r1_defaults are DeepSeek's recommendation", function()
    assert.are.same({ temperature = 0.6, top_p = 0.95 }, S.r1_defaults())
    assert.are.same({ "top_p(0.95)", "temperature(0.6)", "dist(0)" }, S(S.r1_defaults()):stages())
  end)

  it("composes stages in order", function()
    -- top_k(2) keeps ids 2 and 1; the bias then makes 1 the best
    local s = S.chain({ S.top_k(2), S.logit_bias({ [1] = 10 }), S.greedy() })
    assert.are.equal(1, s:sample({ 0, 5, 9, -1 }))
    local s2 = S.chain({ S.logit_bias({ [1] = 10 }), S.top_k(1), S.dist(3) })
    assert.are.equal(1, s2:sample({ 0, 5, 9, -1 }))
  end)

  it("flattens chains of chains", function()
    local inner = S.chain({ S.top_k(3), S.temperature(2) })
    assert.are.same({ "top_k(3)", "temperature(2)", "dist(1)" }, S.chain({ inner, S.dist(1) }):stages())
  end)

  it("a chain without a selecting stage returns its best candidate", function()
    assert.are.equal(2, S.top_k(2):sample({ 1, 3, 7 }))
  end)

  it("samples from a Logits object as from a table", function()
    local t = fake_logits(500, 8)
    local a = sample_seq(S({ temperature = 1, seed = 1 }), t, 10)
    local b = sample_seq(S({ temperature = 1, seed = 1 }), S.logits_from_table(t), 10)
    assert.are.same(a, b)
  end)
end)

describe("custom stages", function()
  it("see and change the candidates in place", function()
    local s = S.chain({ S.custom(function(c)
      for i = 1, #c do
        if c:id(i) == 2 then c:set_logit(i, -math.huge) end
      end
    end), S.greedy() })
    assert.are.equal(1, s:sample({ 1, 5, 9 }))
  end)

  it("can be given as a bare function in a chain", function()
    local calls = 0
    local s = S.chain({ function() calls = calls + 1 end, S.greedy() })
    s:sample({ 1, 2 })
    assert.are.equal(1, calls)
  end)

  it("computes p on demand, sorts and resizes", function()
    local ps, n
    local s = S.chain({ S.custom(function(c)
      c:sort()
      c:resize(2)
      n = #c
      ps = { c:p(1), c:p(2) }
    end) })
    assert.are.equal(1, s:sample({ 0, math.log(3), 0, -5 })) -- kept ids 1, 0
    assert.are.equal(2, n)
    assert.is_true(math.abs(ps[1] - 0.75) < 1e-6 and math.abs(ps[2] - 0.25) < 1e-6)
  end)

  it("raise errors from s:sample with a clear message", function()
    local s = S.chain({ S.custom(function() error("boom") end), S.greedy() })
    local ok, err = pcall(s.sample, s, { 1, 2 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("custom stage failed", 1, true))
    assert.truthy(tostring(err):find("boom", 1, true))
    -- the sampler still works afterwards (nothing left half-done)
    local s2 = S.chain({ S.custom(function(c) c:resize(0) end) })
    ok, err = pcall(s2.sample, s2, { 1, 2 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("resize", 1, true))
  end)

  it("guard the view once the call returned", function()
    local kept
    local s = S.chain({ S.custom(function(c) kept = c end) })
    s:sample({ 1, 2 })
    local ok, err = pcall(function() return #kept end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("only valid during", 1, true))
    assert.are.equal("luallm.cand(expired)", tostring(kept))
  end)

  it("check indices", function()
    local s = S.chain({ S.custom(function(c) return c:id(#c + 1) end) })
    local ok, err = pcall(s.sample, s, { 1, 2 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("out of range", 1, true))
  end)

  it("may not re-enter their own sampler", function()
    local s, inner, err
    s = S.chain({ S.custom(function() inner, err = s:sample({ 1 }) end) })
    assert.are.equal(1, s:sample({ 1, 2 }))
    assert.is_nil(inner)
    assert.truthy(err:find("again from inside", 1, true))
  end)
end)

describe("Logits object", function()
  local l = S.logits_from_table({ 0.5, 3, -1, 3, 2 })
  it("has length, get, argmax and topk", function()
    assert.are.equal(5, #l)
    assert.are.equal(-1, l:get(2))
    assert.are.equal(1, l:argmax())
    local ids, vals = l:topk(3)
    assert.are.same({ 1, 3, 4 }, ids)
    assert.are.same({ 3, 3, 2 }, vals)
    assert.are.equal(5, #(l:topk(99)))
    assert.truthy(tostring(l):find("luallm.logits(5)", 1, true))
  end)
  it("reports bad ids and k", function()
    local v, err = l:get(5)
    assert.is_nil(v)
    assert.truthy(err:find("out of range", 1, true))
    assert.is_nil((l:get(-1)))
    assert.is_nil((l:topk(0)))
    assert.is_nil((S.logits_from_table({ 1, "x" })))
    assert.is_nil((S.logits_from_table({})))
  end)
end)

describe("sampler argument checks", function()
  local cases = {
    { "top_p(0)", function() return S.top_p(0) end, "top_p" },
    { "top_p(1.5)", function() return S.top_p(1.5) end, "(0, 1]" },
    { "top_p('x')", function() return S.top_p("x") end, "must be a number" },
    { "top_k(0)", function() return S.top_k(0) end, "top_k" },
    { "top_k(2.5)", function() return S.top_k(2.5) end, "integer" },
    { "temperature(-1)", function() return S.temperature(-1) end, ">= 0" },
    { "min_p(2)", function() return S.min_p(2) end, "min_p" },
    { "typical(0)", function() return S.typical(0) end, "typical" },
    { "penalties repeat 0", function() return S.penalties({ repeat_ = 0 }) end, "repeat" },
    { "penalties last_n -1", function() return S.penalties({ last_n = -1 }) end, "last_n" },
    { "penalties typo", function() return S.penalties({ frequncy = 1 }) end, "unknown field" },
    { "logit_bias id -1", function() return S.logit_bias({ [-1] = 1 }) end, "token ids" },
    { "logit_bias delta", function() return S.logit_bias({ [1] = "x" }) end, "number" },
    { "dist(-1)", function() return S.dist(-1) end, "seed" },
    { "dist(1.5)", function() return S.dist(1.5) end, "seed" },
    { "custom(42)", function() return S.custom(42) end, "function" },
    { "chain({})", function() return S.chain({}) end, "at least one" },
    { "chain({1})", function() return S.chain({ 1 }) end, "element 1" },
    { "sampler typo", function() return S({ topp = 0.9 }) end, "unknown option 'topp'" },
    { "sampler bad type", function() return S({ temperature = "hot" }) end, "must be a number" },
    { "sampler bad top_p", function() return S({ top_p = 2 }) end, "top_p" },
  }
  for _, c in ipairs(cases) do
    it("returns nil, msg for " .. c[1], function()
      local v, err = c[2]()
      assert.is_nil(v)
      assert.is_string(err)
      assert.truthy(err:find(c[3], 1, true), err)
    end)
  end

  it("returns nil, msg for bad logits and raises for a bad accept", function()
    local s = S.greedy()
    local v, err = s:sample({ 1, "x" })
    assert.is_nil(v)
    assert.truthy(err:find("logits[2]", 1, true))
    assert.is_nil((s:sample({})))
    assert.has_error(function() s:sample("nope") end)
    assert.has_error(function() s:accept(-1) end)
  end)
end)
