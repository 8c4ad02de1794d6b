-- llm.eval: metrics math on synthetic records, seeds, answer extraction, and
-- real runs on a few arith-dev problems with the qwen2 micro model: greedy
-- batched == unbatched token for token, sampled results independent of
-- parallel and problem order, resumption after an interrupted run, the CLI.
-- Generation budgets are tiny because the CPU kernels may be the scalar
-- reference; LUALLM_SPEC_EVAL_TOKENS raises them (e.g. 120).
local shared = require("support.shared")

local llm = require("luallm")
local ev = require("luallm.eval")
local json = require("luallm.json")

local T = tonumber(os.getenv("LUALLM_SPEC_EVAL_TOKENS") or "") or 10

local function close(a, b) return math.abs(a - b) < 1e-12 end

describe("eval metrics", function()
  it("pass@k is the unbiased estimator 1 - C(n-c,k)/C(n,k)", function()
    assert.equal(0, ev.pass_at_k(5, 0, 1))
    assert.equal(1, ev.pass_at_k(5, 5, 3))
    assert.is_true(close(0.25, ev.pass_at_k(4, 1, 1)))
    assert.is_true(close(1 - 1 / 6, ev.pass_at_k(4, 2, 2)))     -- C(2,2)/C(4,2)
    assert.is_true(close(1 - 10 / 56, ev.pass_at_k(8, 3, 3)))   -- C(5,3)/C(8,3)
    assert.equal(1, ev.pass_at_k(8, 1, 8))
    assert.equal(1, ev.pass_at_k(2, 1, 5))                      -- k > n: k = n
  end)

  it("majority vote normalizes answers and breaks ties by first vote", function()
    assert.equal("1851", (ev.majority({ "1,851", "7", "1851.0" })))
    assert.equal("7", (ev.majority({ "7", "8", "8", "7" })))     -- tie: 7 voted first
    assert.equal("8", (ev.majority({ false, "8", "7", "7", "8" }, 5)))
    local a, n = ev.majority({ false, false }, 2)
    assert.is_nil(a)
    assert.equal(0, n)
    assert.equal("abc", (ev.majority({ " ABC ", "abc.", "x" })))
  end)

  it("extracts the last bold span, else the last number; checks numerically", function()
    assert.equal("7854", ev.extract("7851 + 3 = **7854**"))
    assert.equal("b", ev.extract("**a** then **b** 99"))
    assert.equal("1,851", ev.extract("so it is 12 then 1,851."))
    assert.is_nil(ev.extract("no answer here"))
    assert.is_true(ev.check("1,851", "1851"))
    assert.is_true(ev.check(" 3.0 ", "3"))
    assert.is_true(ev.check("$42$", "42"))
    assert.is_false(ev.check("41", "42"))
    assert.is_false(ev.check(nil, "42"))
  end)

  it("summarizes records: pass1, cons, pass_k, greedy, tasks, items", function()
    local probs = {
      { id = "a", gold = "1", task = "add" },
      { id = "b", gold = "2", task = "add" },
      { id = "c", gold = "3", task = "mul" },
    }
    local recs = {}
    local function rec(id, s, ans, gold, greedy)
      recs[#recs + 1] = { id = id, sample = s, greedy = greedy, answer = ans,
                          correct = ev.check(ans, gold), n_tokens = 10 }
    end
    rec("a", 1, "1", "1"); rec("a", 2, "1", "1"); rec("a", 3, "5", "1"); rec("a", 4, "5", "1")
    rec("b", 1, "2", "2"); rec("b", 2, "9", "2"); rec("b", 3, "9", "2"); rec("b", 4, nil, "2")
    rec("c", 1, "4", "3"); rec("c", 2, "4", "3"); rec("c", 3, "4", "3"); rec("c", 4, "4", "3")
    rec("a", 0, "1", "1", true); rec("c", 0, "3", "3", true)
    local r = ev.summarize(probs, recs, { samples = 4 })
    assert.is_true(close((2 / 4 + 1 / 4 + 0) / 3, r.pass1))
    -- majorities: a -> "1" (tie with 5, first vote), b -> "9", c -> "4"
    assert.same({ "1", "9", "4" }, { r.items[1].majority, r.items[2].majority, r.items[3].majority })
    assert.is_true(close(1 / 3, r.cons))
    assert.is_true(close((1 + 1 + 0) / 3, r.pass_k)) -- k = n = 4: any correct
    assert.equal(1, r.greedy)                         -- 2 of 2 greedy records correct
    assert.equal(2, r.items[1].correct)
    assert.same({ "2", "9", "9", false }, r.items[2].answers)
    assert.equal(3, r.n_problems)
    assert.equal(140, r.tokens_total)
    assert.is_true(close(0.5 * (2 / 4 + 1 / 4), r.tasks.add.pass1))
    assert.equal(0, r.tasks.mul.pass1)
    assert.equal(1, r.tasks.mul.greedy)
    assert.equal(2, r.tasks.add.n_problems)
  end)

  it("derives sample seeds from (seed, id, index), stable across Lua versions", function()
    assert.equal(723252146, ev.seed_for(0, 0, 1))
    assert.equal(723252147, ev.seed_for(0, "0", 2))
    assert.equal(1970652899, ev.seed_for(42, "abc", 7))
    assert.equal(816139230, ev.seed_for(2 ^ 40, "x", 1))
    assert.equal(1427888189, ev.str_hash("hello"))
    assert.are_not.equal(ev.seed_for(0, "a", 1), ev.seed_for(0, "b", 1))
    assert.are_not.equal(ev.seed_for(0, "a", 1), ev.seed_for(1, "a", 1))
  end)
end)

describe("eval on arith-dev (qwen2 micro)", function()
  local m, probs, full

  local function setup()
    local mp = shared.need("models/micro-r1-qwen2-f16.gguf")
    local dp = shared.need("eval/arith-dev.jsonl")
    if not mp or not dp then return false end
    if m then return true end
    m = assert(llm.load(mp))
    probs = {}
    for line in io.lines(dp) do
      probs[#probs + 1] = json.decode(line)
      if #probs == 2 then break end
    end
    return true
  end

  local base = function(extra)
    local o = { samples = 2, parallel = 3, max_tokens = T, greedy = true, seed = 7,
                progress = false, keep_tokens = true }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  local function by_key(records)
    local t = {}
    for _, r in ipairs(records) do t[tostring(r.id) .. "/" .. (r.greedy and "g" or r.sample)] = r end
    return t
  end

  it("greedy batched equals unbatched token for token", function()
    if not setup() then return end
    full = assert(ev.run(m, probs, base()))
    assert.equal(2, full.n_problems)
    assert.equal(6, #full.records)
    local sum = 0
    for _, r in ipairs(full.records) do sum = sum + r.n_tokens end
    assert.equal(sum, full.tokens)
    local recs = by_key(full.records)
    for _, p in ipairs(probs) do
      local ref = assert(m:complete(m:chat_template({ { role = "user", content = p.question } }),
        { temperature = 0, max_tokens = T }))
      local g = recs[tostring(p.id) .. "/g"]
      assert.same(ref.tokens, g.tokens)
      assert.equal(ref.text, g.text)
    end
  end)

  it("sampled results do not depend on parallel or problem order", function()
    if not setup() then return end
    assert.is_table(full)
    local rev = { probs[2], probs[1] }
    local r = assert(ev.run(m, rev, base({ parallel = 1, greedy = false })))
    local a, b = by_key(full.records), by_key(r.records)
    local n = 0
    for k, rec in pairs(b) do
      assert.same(a[k].tokens, rec.tokens)
      assert.equal(a[k].seed, rec.seed)
      n = n + 1
    end
    assert.equal(4, n)
  end)

  it("resumes an interrupted run from its results file to the same result", function()
    if not setup() then return end
    assert.is_table(full)
    local dir = shared.tmpdir()
    local path = dir .. "/results.jsonl"
    local seen = 0
    local part = assert(ev.run(m, probs, base({
      results_path = path, on_sample = function() seen = seen + 1; return seen < 2 end,
    })))
    assert.is_true(part.stopped)
    -- samples finishing in the same step as the stop are kept too
    assert.is_true(#part.records >= 2 and #part.records < 6)
    -- a kill while writing leaves a partial line
    local f = assert(io.open(path, "ab")); f:write('{"id": 1, "sam'); f:close()
    local res = assert(ev.run(m, probs, base({ results_path = path })))
    assert.equal(#part.records, res.resumed)
    assert.equal(full.tokens, part.tokens + res.tokens)
    for _, key in ipairs({ "pass1", "cons", "pass_k", "greedy", "n_problems", "tokens_total" }) do
      assert.equal(full[key], res[key])
    end
    for i = 1, 2 do
      assert.same(full.items[i].answers, res.items[i].answers)
      assert.equal(full.items[i].majority, res.items[i].majority)
    end
    local a, b = by_key(full.records), by_key(res.records)
    for k, rec in pairs(a) do assert.equal(rec.text, b[k].text) end
    -- the file now holds every sample once (plus the partial line)
    local n = 0
    for line in io.lines(path) do
      local ok, v = pcall(json.decode, line)
      if ok and type(v) == "table" then n = n + 1 end
    end
    assert.equal(6, n)
    -- a finished run does nothing more; other settings are refused
    local again = assert(ev.run(m, probs, base({ results_path = path })))
    assert.equal(0, again.tokens)
    assert.equal(full.pass1, again.pass1)
    local bad, msg = ev.run(m, probs, base({ results_path = path, temperature = 1 }))
    assert.is_nil(bad)
    assert.matches("other settings", msg)
    os.remove(path)
    os.remove(dir)
  end)

  it("luallm eval: JSON summary; errors are one line and exit 1", function()
    if not setup() then return end
    local cli = require("luallm.cli")
    local out, err = {}, {}
    local real_print, real_stderr = print, io.stderr
    _G.print = function(...) out[#out + 1] = table.concat({ ... }, "\t") end
    io.stderr = { write = function(self, ...) for _, s in ipairs({ ... }) do err[#err + 1] = s end return self end }
    local ok, codes = pcall(function()
      local dp = shared.path("eval/arith-dev.jsonl")
      return {
        cli.main({ "eval", m.path, dp, "--limit", "1", "--max-tokens", "3", "--parallel", "2", "--json" }),
        cli.main({ "eval", m.path, dp, "--samples", "0" }),
        cli.main({ "eval", m.path, "/nonexistent.jsonl" }),
        cli.main({ "eval", m.path }),
      }
    end)
    _G.print, io.stderr = real_print, real_stderr
    assert.is_true(ok, tostring(codes))
    assert.same({ 0, 1, 1, 1 }, codes)
    local j = json.decode(out[1])
    assert.equal(1, j.n_problems)
    assert.equal(1, j.samples)
    assert.equal(3, j.tokens)
    for _, k in ipairs({ "pass1", "cons", "pass_k", "seconds", "tokens_per_s" }) do
      assert.is_number(j[k])
    end
    local lines = table.concat(err):gsub("\n$", "")
    assert.equal(3, select(2, lines:gsub("\n", "")) + 1)
  end)
end)
