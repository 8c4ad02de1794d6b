-- Background generation: a Job wraps core.job_start, which runs the C loop
-- (csrc/generate.c) on a thread of its own. Nothing here blocks except
-- job:wait(), so an event loop (Neovim's) can poll it from a timer.
--
--   local job = m:start(prompt, {max_tokens = 256, temperature = 0})
--   local piece = job:poll()   -- text since the last poll, "" when none
--   job.done, job.stats        -- live
--   job:cancel()               -- stops after the token being computed
--   local r = job:wait()       -- {text, tokens, stop_reason, stats, error?}
local M = {}

local Job = {}

local function index(self, k)
  if k == "done" then return self._j.done end
  if k == "stats" then return self._j.stats end
  return Job[k]
end

--- Wraps the core job; model is the luallm Model (its load_ms goes in stats).
function M.wrap(j, model)
  return setmetatable({ _j = j, _model = model }, { __index = index })
end

--- job:poll() -> text produced since the last poll ("" when none).
function Job:poll()
  return self._j:poll()
end

--- job:cancel(): asks the thread to stop; job.done turns true soon after.
function Job:cancel()
  self._j:cancel()
end

--- job:wait() -> {text, tokens, stop_reason, stats, error?}; blocks until done.
--- stop_reason: "eos", "length", "stop", "cancel" or "error".
function Job:wait()
  if not self.result then
    local r = self._j:wait()
    r.stats.load_ms = self._model and self._model.load_ms
    self.result = r
  end
  return self.result
end

return M
