-- Batch evaluation of a model on problems with known answers.
--
--   local r = llm.eval.run(model, problems, {samples = 8, parallel = 16})
--   print(r.pass1, r.cons, r.pass_k, r.greedy)
--
-- problems: {id =, prompt = | question =, gold =, task = (optional)}. With a
-- question the model's chat template is applied (and the R1 "<think>" it
-- opens is taken into account when the answer is extracted).
-- Generations run through luallm.batch: the k samples of a problem share one
-- evaluation of the prompt, and all slots advance in one forward pass per step.
--
-- Sample seeds are a pure function of (seed, problem id, sample index) (see
-- M.seed_for), so results do not depend on parallel, order or sharding, and a
-- killed run resumes from its results file to the same final numbers.
local core = require("luallm_core")
local batch = require("luallm.batch")
local json = require("luallm.json")
local reasoning = require("luallm.reasoning")

local M = {}

local MOD = 2147483647 -- 2^31 - 1: every product below stays under 2^53 (exact in doubles and integers)

local function mix(h, v)
  v = math.floor(v) % MOD
  return (h * 1000003 + v + 1) % MOD
end

--- Hash of a string: polynomial over its bytes modulo 2^31 - 1.
function M.str_hash(s)
  local h = 5381
  for i = 1, #s do h = (h * 65599 + s:byte(i)) % MOD end
  return h
end

--- The sampler seed of sample `index` of problem `id`:
---   h = mix(mix(mix(20240229, seed), str_hash(tostring(id))), index)
---   mix(h, v) = (h * 1000003 + (v mod M) + 1) mod M,  M = 2^31 - 1.
--- Same value in Lua 5.4 and LuaJIT (all intermediates are exact).
function M.seed_for(seed, id, index)
  local h = mix(20240229, seed or 0)
  h = mix(h, M.str_hash(tostring(id)))
  h = mix(h, index)
  return math.floor(h)
end

--- Unbiased pass@k estimator (Chen et al. 2021) for n samples of which c are
--- correct: 1 - C(n-c, k) / C(n, k), as a product to stay exact-ish.
function M.pass_at_k(n, c, k)
  if k > n then k = n end
  if n - c < k then return 1.0 end
  local p = 1.0
  for i = n - c + 1, n do p = p * (1 - k / i) end
  return 1.0 - p
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

--- Canonical form of an answer for comparison and voting: trimmed, without
--- surrounding $ or a final period; numbers without thousands separators
--- ("1,851.0" -> "1851"); other strings lower-cased.
function M.normalize(a)
  if a == nil then return nil end
  local s = trim(tostring(a))
  s = s:gsub("^%$+", ""):gsub("%$+$", "")
  s = trim(s):gsub("%.$", "")
  local num = s
  if num:match("^%-?%d[%d,]*%.?%d*$") then num = num:gsub(",", "") end
  local n = tonumber(num)
  if n and n == n and n ~= math.huge and n ~= -math.huge then
    if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return string.format("%d", n) end
    return string.format("%.12g", n)
  end
  return s:lower()
end

--- Default check: normalized equality (numeric when both are numbers).
function M.check(answer, gold)
  if answer == nil or gold == nil then return false end
  return M.normalize(answer) == M.normalize(gold)
end

--- Default answer extraction from the content (after the reasoning block):
--- the last **bold** span, else the last number; nil when there is neither.
function M.extract(content)
  local last
  for b in content:gmatch("%*%*(.-)%*%*") do
    if b:match("%S") then last = b end
  end
  if last then return trim(last) end
  for n in content:gmatch("%-?%d[%d,]*%.?%d*") do last = n end
  if last then return (last:gsub("[,.]+$", "")) end
  return nil
end

--- Majority answer of a list (entries may be nil/false: no vote). Votes go to
--- normalized answers; a tie goes to the answer whose first vote came first.
--- -> normalized answer | nil, its vote count
function M.majority(answers, n)
  local count, first, order = {}, {}, 0
  for i = 1, n or #answers do
    local a = answers[i]
    if a then
      local k = M.normalize(a)
      if count[k] == nil then
        order = order + 1
        count[k], first[k] = 0, order
      end
      count[k] = count[k] + 1
    end
  end
  local best, bc
  for k, c in pairs(count) do
    if best == nil or c > bc or (c == bc and first[k] < first[best]) then best, bc = k, c end
  end
  return best, bc or 0
end

local function key_of(id, sample) return tostring(id) .. "\0" .. tostring(sample) end

--- Metrics from per-sample records (pure; used by run and by tests).
--- records: {id, sample (1..k; 0 = greedy), greedy = bool, answer, correct, n_tokens}
--- -> {pass1, cons, pass_k, k, greedy, n_problems, samples, tasks = {[task] = {...}}, items}
function M.summarize(problems, records, opts)
  opts = opts or {}
  local check = opts.check or function(a, g) return M.check(a, g) end
  local k = opts.samples or 1
  local by = {}
  for _, r in ipairs(records) do by[key_of(r.id, r.greedy and "g" or r.sample)] = r end
  local items = {}
  local function new_acc() return { n = 0, pass1 = 0, cons = 0, pass_k = 0, greedy = 0, n_greedy = 0 } end
  local all, tasks = new_acc(), {}
  local total_tokens = 0
  for _, p in ipairs(problems) do
    local answers, n, c, ntok = {}, 0, 0, 0
    for j = 1, k do
      local r = by[key_of(p.id, j)]
      if r then
        n = n + 1
        answers[j] = r.answer or false
        if r.correct then c = c + 1 end
        ntok = ntok + (r.n_tokens or 0)
      else
        answers[j] = false
      end
    end
    local maj = M.majority(answers, k)
    local item = {
      id = p.id, task = p.task, gold = p.gold, answers = answers, n = n, correct = c,
      majority = maj, majority_correct = maj ~= nil and check(maj, p.gold, p) and true or false,
      pass_k = n > 0 and M.pass_at_k(n, c, k) or 0, tokens = ntok,
    }
    local g = by[key_of(p.id, "g")]
    if g then
      item.greedy_answer = g.answer
      item.greedy_correct = g.correct and true or false
      ntok = ntok + (g.n_tokens or 0)
    end
    total_tokens = total_tokens + ntok
    items[#items + 1] = item
    local accs = { all }
    if p.task ~= nil then
      local t = tostring(p.task)
      tasks[t] = tasks[t] or new_acc()
      accs[2] = tasks[t]
    end
    for _, a in ipairs(accs) do
      if n > 0 then
        a.n = a.n + 1
        a.pass1 = a.pass1 + c / n
        a.cons = a.cons + (item.majority_correct and 1 or 0)
        a.pass_k = a.pass_k + item.pass_k
      end
      if g then
        a.n_greedy = a.n_greedy + 1
        a.greedy = a.greedy + (item.greedy_correct and 1 or 0)
      end
    end
  end
  local function fin(a)
    local o = { n_problems = a.n }
    if a.n > 0 then
      o.pass1, o.cons, o.pass_k = a.pass1 / a.n, a.cons / a.n, a.pass_k / a.n
    end
    if a.n_greedy > 0 then o.greedy = a.greedy / a.n_greedy end
    return o
  end
  local res = fin(all)
  res.n_problems = #problems
  res.samples, res.k = k, k
  res.items = items
  res.tokens_total = total_tokens
  local any = false
  for t, a in pairs(tasks) do
    res.tasks = res.tasks or {}
    res.tasks[t] = fin(a)
    any = true
  end
  if not any then res.tasks = nil end
  return res
end

-- Is stderr a terminal? (The shell run by os.execute inherits our stderr.)
local function stderr_is_tty()
  local ok, r = pcall(os.execute, "test -t 2")
  return ok and (r == true or r == 0)
end

local function fmt_time(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%dh%02dm", math.floor(s / 3600), math.floor(s % 3600 / 60)) end
  if s >= 60 then return string.format("%dm%02ds", math.floor(s / 60), s % 60) end
  return s .. "s"
end

local function progress_line(done, total, tokens, secs)
  local w = 30
  local f = total > 0 and done / total or 1
  local bar = string.rep("#", math.floor(f * w)) .. string.rep(".", w - math.floor(f * w))
  local eta = (done > 0 and done < total) and fmt_time(secs / done * (total - done)) or "-"
  return string.format("\r[%s] %d/%d samples  %.1f tok/s  elapsed %s  ETA %s ", bar, done, total,
    secs > 0 and tokens / secs or 0, fmt_time(secs), eta)
end

-- Records of a previous run: the last complete record of each (id, sample).
local function read_results(path, cfg)
  local f = io.open(path, "rb")
  if not f then return {}, false end
  local data = f:read("a")
  f:close()
  local recs, lineno = {}, 0
  for line in data:gmatch("[^\n]+") do
    lineno = lineno + 1
    local ok, r = pcall(json.decode, line)
    -- a run killed while writing leaves a partial last line: skip it
    if ok and type(r) == "table" and r.id ~= nil then
      if r.cfg ~= cfg then
        return nil, string.format("%s:%d was written with other settings (%s; now %s)",
          path, lineno, tostring(r.cfg), cfg)
      end
      recs[#recs + 1] = r
    end
  end
  return recs, #data > 0 and data:sub(-1) ~= "\n"
end

local function validate(problems)
  if type(problems) ~= "table" then return nil, "eval: problems must be a list" end
  local seen = {}
  for i, p in ipairs(problems) do
    if type(p) ~= "table" then return nil, "eval: problem " .. i .. " is not a table" end
    if p.id == nil then return nil, "eval: problem " .. i .. " has no id" end
    local k = tostring(p.id)
    if seen[k] then return nil, "eval: duplicate problem id " .. k end
    seen[k] = true
    if type(p.question) ~= "string" and type(p.prompt) ~= "string" then
      return nil, "eval: problem " .. k .. " has neither question nor prompt"
    end
  end
  return true
end

--- llm.eval.run(model, problems, opts) -> summary | nil, msg. opts:
---   samples = 1 (k), parallel = 16 (slots), temperature = 0.6, top_p = 0.95,
---   top_k, min_p, seed = 0, max_tokens = 256, greedy = false (also one greedy
---   pass per problem: summary.greedy), results_path (JSONL, one line per
---   sample as it finishes; read first, finished samples are skipped),
---   results_readonly = false (only read results_path: MPI workers, see eval_mpi),
---   shard = {i, n} (problems i, i+n, ... 1-based), extract(text, problem,
---   content) -> answer, check(answer, gold, problem) -> bool, progress
---   (false: no bar; the bar shows only when stderr is a terminal),
---   on_sample(record) -> false stops the run early (summary.stopped),
---   prefer_prompt = false (use problem.prompt even when it has a question),
---   keep_tokens = false (records also hold the generated token ids),
---   n_ctx_seq, threads.
--- summary: pass1, cons, pass_k (k = samples), greedy, n_problems, samples,
---   tasks[task] = {pass1, cons, pass_k, greedy, n_problems}, items[i] = {id,
---   answers, correct, n, majority, majority_correct, pass_k, greedy_answer,
---   greedy_correct}, tokens (generated by this call), tokens_total, seconds,
---   tokens_per_s, resumed (samples read from results_path).
function M.run(model, problems, opts)
  opts = opts or {}
  local ok, err = validate(problems)
  if not ok then return nil, err end
  local k = opts.samples or 1
  if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then return nil, "eval: samples must be an integer >= 1" end
  local max_tokens = opts.max_tokens or 256
  local temp = opts.temperature or 0.6
  local top_p = opts.top_p or 0.95
  local seed = opts.seed or 0
  if opts.shard then
    local si, sn = opts.shard[1] or opts.shard.i, opts.shard[2] or opts.shard.n
    if type(si) ~= "number" or type(sn) ~= "number" or si < 1 or si > sn then
      return nil, "eval: shard must be {i, n} with 1 <= i <= n"
    end
    local sel = {}
    for i, p in ipairs(problems) do
      if (i - 1) % sn == si - 1 then sel[#sel + 1] = p end
    end
    problems = sel
  end
  local cfg = string.format("temperature=%g top_p=%g top_k=%s min_p=%s seed=%s max_tokens=%d",
    temp, top_p, tostring(opts.top_k or 0), tostring(opts.min_p or 0), tostring(seed), max_tokens)
  local check = opts.check or function(a, g) return M.check(a, g) end
  local records, resumed = {}, 0
  local done = {}
  local out
  if opts.results_path then
    local prev, partial = read_results(opts.results_path, cfg)
    if not prev then return nil, "eval: " .. partial end
    local wanted = {}
    for _, p in ipairs(problems) do wanted[tostring(p.id)] = true end
    for _, r in ipairs(prev) do
      local key = key_of(r.id, r.greedy and "g" or r.sample)
      local in_range = r.greedy or (type(r.sample) == "number" and r.sample >= 1 and r.sample <= k)
      if wanted[tostring(r.id)] and in_range and not done[key] then
        done[key] = true
        records[#records + 1] = r
        resumed = resumed + 1
      end
    end
    if not opts.results_readonly then
      local e2
      out, e2 = io.open(opts.results_path, "ab")
      if not out then return nil, "eval: " .. tostring(e2) end
      if partial then out:write("\n") end
    end
  end

  local b, e3 = batch.new(model, { parallel = opts.parallel or 16, n_ctx_seq = opts.n_ctx_seq,
                                   threads = opts.threads })
  if not b then if out then out:close() end return nil, e3 end
  local sopts = { temperature = temp, top_p = top_p, top_k = opts.top_k, min_p = opts.min_p }
  local n_req = 0
  for _, p in ipairs(problems) do
    local prompt, open
    if p.question and not (opts.prefer_prompt and p.prompt) then
      local e4
      prompt, e4 = model:chat_template({ { role = "user", content = p.question } })
      if not prompt then if out then out:close() end return nil, "eval: " .. tostring(e4) end
    else
      prompt = p.prompt
    end
    open = prompt:match("<think>%s*$") ~= nil
    local function add(sample, greedy)
      if done[key_of(p.id, greedy and "g" or sample)] then return true end
      local so
      if greedy then
        so = { temperature = 0 }
      else
        so = {}
        for kk, v in pairs(sopts) do so[kk] = v end
        so.seed = M.seed_for(seed, p.id, sample)
      end
      n_req = n_req + 1
      return b:add({ prompt = prompt, group = tostring(p.id), sampler = so, max_tokens = max_tokens,
                     data = { p = p, sample = sample, greedy = greedy, open = open, seed = so.seed } })
    end
    if opts.greedy then
      local r, e5 = add(0, true)
      if not r then if out then out:close() end return nil, e5 end
    end
    for j = 1, k do
      local r, e5 = add(j, false)
      if not r then if out then out:close() end return nil, e5 end
    end
  end

  local show = opts.progress ~= false and n_req > 0 and stderr_is_tty()
  local t0 = core.now_ms()
  local gen, n_new, stopped = 0, 0, false
  local function on_done(req, res)
    local d = req.data
    local parts = reasoning.split(res.text, { open = d.open })
    local answer
    if opts.extract then
      answer = opts.extract(res.text, d.p, parts.content)
    else
      answer = M.extract(parts.content)
    end
    local rec = {
      id = d.p.id, sample = d.sample, greedy = d.greedy or nil, task = d.p.task,
      answer = answer, gold = d.p.gold, correct = check(answer, d.p.gold, d.p) and true or false,
      n_tokens = res.n, stop_reason = res.stop_reason, closed = parts.closed, seed = d.seed,
      text = res.text, cfg = cfg, tokens = opts.keep_tokens and res.tokens or nil,
    }
    records[#records + 1] = rec
    gen = gen + res.n
    n_new = n_new + 1
    if out then
      out:write(json.encode(rec), "\n")
      out:flush()
    end
    if show then
      io.stderr:write(progress_line(n_new, n_req, gen, (core.now_ms() - t0) / 1000))
    end
    if opts.on_sample and opts.on_sample(rec) == false then
      stopped = true
      return false
    end
  end
  local stats
  if n_req > 0 then
    local results
    results, stats = b:run({ on_done = on_done })
    if show then io.stderr:write("\n") end
    if not results then if out then out:close() end return nil, "eval: " .. tostring(stats) end
  end
  if out then out:close() end
  local secs = (core.now_ms() - t0) / 1000
  local sum = M.summarize(problems, records, { samples = k, check = check })
  sum.tokens = gen
  sum.seconds = secs
  sum.tokens_per_s = secs > 0 and gen / secs or 0
  sum.resumed = resumed
  sum.stopped = stopped or nil
  sum.steps = stats and stats.steps or 0
  sum.records = records
  return sum
end

return M
