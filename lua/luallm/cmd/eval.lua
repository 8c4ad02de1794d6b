-- luallm eval MODEL PROBLEMS.jsonl: sampled accuracy (pass@1, majority vote,
-- pass@k) of a model on problems with known answers (see luallm.eval).
local json = require("luallm.json")

local M = {
  usage = "eval MODEL PROBLEMS.jsonl [--samples K] [--parallel N] [--temperature T] [--top-p P]"
    .. " [--seed S] [--max-tokens N] [--limit N] [--shard I/N] [--greedy] [--results FILE] [--json]"
    .. " [--mpi] (under mpirun: problems sharded over the ranks)",
  flags = { json = true, greedy = true, mpi = true },
}

local function num(opt, name, int, min)
  local v = opt[name]
  if v == nil then return nil end
  local n = tonumber(v)
  if not n or (int and n % 1 ~= 0) or (min and n < min) then
    error("--" .. name:gsub("_", "-") .. " must be " .. (int and "an integer" or "a number")
      .. (min and (" >= " .. min) or "") .. " (got '" .. tostring(v) .. "')", 0)
  end
  return n
end

local function read_problems(path, limit)
  local f, err = io.open(path, "rb")
  if not f then error("cannot open " .. tostring(err), 0) end
  local probs, lineno = {}, 0
  for line in f:lines() do
    lineno = lineno + 1
    if line:match("%S") then
      local ok, p = pcall(json.decode, line)
      if not ok or type(p) ~= "table" then
        f:close()
        error(path .. ":" .. lineno .. ": not a JSON object", 0)
      end
      probs[#probs + 1] = p
      if limit and #probs >= limit then break end
    end
  end
  f:close()
  if #probs == 0 then error(path .. ": no problems", 0) end
  return probs
end

-- One rank of an MPI run: its own model and shard (eval_mpi); every rank
-- reaches the gather even when loading or running failed, so none waits.
-- Threads default to this host's cores shared among its ranks.
local function run_mpi(llm, comm, path, probs, o)
  local eval_mpi = require("luallm.eval_mpi")
  local core = require("luallm_core")
  if not o.threads then
    o.threads = math.max(1, math.floor(core.cpu_info().threads / math.max(1, comm.local_size)))
  end
  local t0 = core.now_ms()
  local ok, m, err = pcall(llm.load, path, { threads = o.threads })
  if ok and m then return eval_mpi.run(comm, m, probs, o, t0) end
  return eval_mpi.combine(comm, probs, o, nil, ok and err or m, t0)
end

local function pct(x) return x and string.format("%.1f%%", x * 100) or "-" end

function M.run(pos, opt)
  if #pos ~= 2 then return nil, "usage: luallm " .. M.usage end
  local known = { samples = 1, parallel = 1, temperature = 1, top_p = 1, seed = 1, max_tokens = 1,
                  limit = 1, results = 1, json = 1, greedy = 1, shard = 1, threads = 1, mpi = 1 }
  for k in pairs(opt) do
    if not known[k] then return nil, "unknown option --" .. k:gsub("_", "-") end
  end
  local o = {
    samples = num(opt, "samples", true, 1) or 1,
    parallel = num(opt, "parallel", true, 1),
    temperature = num(opt, "temperature", false, 0),
    top_p = num(opt, "top_p", false, 0),
    seed = num(opt, "seed", true, 0),
    max_tokens = num(opt, "max_tokens", true, 0),
    threads = num(opt, "threads", true, 0),
    results_path = opt.results,
    greedy = opt.greedy or nil,
  }
  if o.parallel and o.parallel > 64 then return nil, "--parallel must be at most 64" end
  if opt.shard then
    local i, n = tostring(opt.shard):match("^(%d+)/(%d+)$")
    if not i then return nil, "--shard must be I/N (e.g. 1/4)" end
    o.shard = { tonumber(i), tonumber(n) }
  end
  local limit = num(opt, "limit", true, 1)
  local probs = read_problems(pos[2], limit)
  local llm = require("luallm")
  local r, err
  if opt.mpi or llm.mpi.launched() then
    if o.shard then return nil, "--shard and MPI do not combine (the ranks are the shards)" end
    local comm, e = llm.mpi.init()
    if not comm then return nil, e end
    r, err = run_mpi(llm, comm, pos[1], probs, o)
    comm.finalize()
    -- Rank 0 reports, errors of every rank included, and its exit status is
    -- the job's. The other ranks exit 0: a non-zero exit makes mpirun kill
    -- the job at once, before rank 0 has written the message.
    if comm.rank ~= 0 then return 0 end
  else
    local m
    m, err = llm.load(pos[1], { threads = o.threads })
    if not m then return nil, err end
    r, err = llm.eval.run(m, probs, o)
  end
  if not r then return nil, err end
  if opt.json then
    local tasks
    if r.tasks then
      tasks = json.object({})
      for t, v in pairs(r.tasks) do tasks[t] = v end
    end
    print(json.encode({
      pass1 = r.pass1, cons = r.cons, pass_k = r.pass_k, k = r.k, greedy = r.greedy,
      n_problems = r.n_problems, samples = r.samples, tokens = r.tokens, tokens_total = r.tokens_total,
      seconds = r.seconds, tokens_per_s = r.tokens_per_s, resumed = r.resumed, tasks = tasks,
      ranks = r.ranks,
    }))
  else
    print(string.format("%d problems x %d samples: pass@1 %s  cons@%d %s  pass@%d %s%s",
      r.n_problems, r.samples, pct(r.pass1), r.k, pct(r.cons), r.k, pct(r.pass_k),
      r.greedy and ("  greedy " .. pct(r.greedy)) or ""))
    if r.tasks then
      local names = {}
      for t in pairs(r.tasks) do names[#names + 1] = t end
      table.sort(names)
      for _, t in ipairs(names) do
        local v = r.tasks[t]
        print(string.format("  %-20s n=%-4d pass@1 %s  cons %s  pass@k %s%s", t, v.n_problems,
          pct(v.pass1), pct(v.cons), pct(v.pass_k), v.greedy and ("  greedy " .. pct(v.greedy)) or ""))
      end
    end
    print(string.format("%d tokens in %.1f s (%.1f tokens/s)%s%s", r.tokens, r.seconds, r.tokens_per_s,
      r.resumed > 0 and string.format(", %d samples resumed", r.resumed) or "",
      r.ranks and string.format(", %d MPI ranks", r.ranks) or ""))
  end
  return 0
end

return M
