-- An evaluation sharded over MPI ranks (see luallm.mpi): problem i runs on
-- rank (i - 1) % size, each rank with its own model; rank 0 gathers every
-- per-sample record and computes the metrics with the same eval.summarize
-- a single process uses over the problems in their original order, so the
-- numbers are the same as a one-process run with the same seed (sample seeds
-- depend only on (seed, problem id, sample index)).
--
--   local comm = assert(llm.mpi.init())
--   local r, err = eval_mpi.run(comm, model, problems, opts) -- same opts as eval.run
--   -- rank 0: the summary (r.ranks = size); other ranks: true; errors on
--   -- any rank: nil, msg on every rank
--   comm.finalize()
--
-- Only rank 0 writes results_path: the others read it at start (finished
-- samples are skipped, as in eval.run) and send their new records with the
-- gather; rank 0 appends them after its own.
local eval = require("luallm.eval")
local json = require("luallm.json")
local core = require("luallm_core")

local M = {}

--- The eval.run options of this rank's shard.
function M.shard_opts(comm, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.shard = { comm.rank + 1, comm.size }
  if comm.rank ~= 0 then
    o.results_readonly = true
    o.progress = false
    o.on_sample = nil
  end
  return o
end

local function payload(r, err)
  if not r then return json.encode({ error = tostring(err or "failed") }) end
  return json.encode({
    records = r.records, resumed = r.resumed, tokens = r.tokens, steps = r.steps,
    seconds = r.seconds, stopped = r.stopped,
  })
end

-- Rank 0: appends the records other ranks made in this run to the results file.
local function append(path, parts)
  local f, err = io.open(path, "ab")
  if not f then return nil, "eval: " .. tostring(err) end
  for i = 2, #parts do
    local p = parts[i]
    for j = (p.resumed or 0) + 1, #p.records do f:write(json.encode(p.records[j]), "\n") end
  end
  f:close()
  return true
end

--- Every rank calls this once with its eval.run result (r) or error (err);
--- t0: core.now_ms() at the start (summary.seconds is rank 0's wall time).
--- Rank 0 -> the summary of all ranks | nil, msg; others -> true | nil, msg.
function M.combine(comm, problems, opts, r, err, t0)
  local all = comm.gather(payload(r, err))
  local res, msg
  if comm.rank == 0 then
    local parts, errs = {}, {}
    for i, s in ipairs(all) do
      local ok, p = pcall(json.decode, s)
      if not ok or type(p) ~= "table" then p = { error = "unreadable result" } end
      if p.error then errs[#errs + 1] = "rank " .. (i - 1) .. ": " .. p.error end
      p.records = p.records or {}
      parts[i] = p
    end
    if #errs > 0 then
      msg = table.concat(errs, "; ")
    elseif opts.results_path and not opts.results_readonly then
      local ok, e = append(opts.results_path, parts)
      if not ok then msg = e end
    end
    if not msg then
      local records, tokens, resumed, steps, stopped = {}, 0, 0, 0, false
      for _, p in ipairs(parts) do
        for _, rec in ipairs(p.records) do records[#records + 1] = rec end
        tokens = tokens + (p.tokens or 0)
        resumed = resumed + (p.resumed or 0)
        steps = steps + (p.steps or 0)
        stopped = stopped or p.stopped or false
      end
      res = eval.summarize(problems, records, { samples = opts.samples or 1, check = opts.check })
      local secs = (core.now_ms() - t0) / 1000
      res.tokens, res.seconds = tokens, secs
      res.tokens_per_s = secs > 0 and tokens / secs or 0
      res.resumed, res.steps, res.stopped = resumed, steps, stopped or nil
      res.records = records
      res.ranks = comm.size
    end
  end
  -- every rank ends with the same outcome (rank 0's), so all exit alike
  local outcome = comm.bcast(comm.rank == 0 and (msg and ("E" .. msg) or "OK") or nil)
  if outcome ~= "OK" then return nil, outcome:sub(2) end
  return comm.rank == 0 and res or true
end

--- eval.run of this rank's shard, then combine (see above). t0: the start
--- of the run's wall time (default now; `luallm eval` counts the model load).
function M.run(comm, model, problems, opts, t0)
  t0 = t0 or core.now_ms()
  local ok, r, err = pcall(eval.run, model, problems, M.shard_opts(comm, opts))
  if not ok then r, err = nil, r end
  return M.combine(comm, problems, opts or {}, r, err, t0)
end

return M
