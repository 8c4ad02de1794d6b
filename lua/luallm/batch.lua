-- Batched decoding: many generations in one context, one forward pass per step.
--
--   local batch = require("luallm.batch")
--   local b = batch.new(model, {parallel = 16})
--   b:add({prompt = "...", sampler = {temperature = 0.6, top_p = 0.95, seed = 1},
--          max_tokens = 200, stop = {"\n\n"}, data = anything})
--   local results, stats = b:run({on_done = function(req, res) end})
--
-- The context has `parallel` sequence slots. Every step, each busy slot adds
-- its next token to ONE c:decode call, so the weights are read once per step
-- for all of them. A finished request frees its KV cells (c:clear) and the
-- next waiting request takes the slot (continuous batching).
--
-- Shared prompts: requests of one group (req.group, default: the prompt
-- itself when it is a string) evaluate the prompt once. The prompt minus its
-- last token is decoded in one slot; other slots of the group c:fork that slot
-- (KV cells shared, nothing recomputed) and c:trim back to the prompt, also
-- when they start later while a group member is still running. The last prompt
-- token is each slot's first token of the step loop, so every request samples
-- its first token from its own row of logits. A slot whose request ends while
-- more of its group wait is trimmed back to the prompt instead of cleared.
--
-- Each request owns its sampler (RNG, penalties), stop conditions (end of
-- generation token, max_tokens, stop strings) and detokenizer stream. The CPU
-- path computes each token's row on its own, so a request's tokens do not
-- depend on what else is in the batch (batch_spec/eval_spec check this).
local core = require("luallm_core")
local sampler_mod = require("luallm.sampler")

local M = {}

local Batch = {}
Batch.__index = Batch

--- batch.new(model, {parallel = 4, n_ctx_seq = N, threads = N, kv_type = "f16"})
--- n_ctx_seq: KV cells per slot (default: the longest prompt + max_tokens
--- among the requests, known when run starts).
function M.new(model, opts)
  opts = opts or {}
  local parallel = opts.parallel or 4
  if type(parallel) ~= "number" or parallel < 1 or parallel > 64 or parallel % 1 ~= 0 then
    return nil, "batch: parallel must be an integer from 1 to 64"
  end
  return setmetatable({
    m = model, parallel = parallel, n_ctx_seq = opts.n_ctx_seq, threads = opts.threads,
    kv_type = opts.kv_type, queue = {}, groups = {},
  }, Batch)
end

--- b:add(req) -> index | nil, msg. req = {prompt = string | {ids}, group = key,
--- sampler = sampler | options table, greedy = bool, max_tokens = 256,
--- stop = {strings}, data = any}
function Batch:add(req)
  if type(req) ~= "table" then return nil, "batch: request must be a table" end
  local key = req.group
  if key == nil then
    if type(req.prompt) == "string" then key = req.prompt else key = {} end
  end
  local g = self.groups[key]
  if not g then
    local ids, err = self.m:_prompt_ids(req.prompt)
    if not ids then return nil, "batch: " .. err end
    g = { ids = ids, holders = {} }
    self.groups[key] = g
  end
  local mt = req.max_tokens or 256
  if type(mt) ~= "number" or mt < 0 then return nil, "batch: max_tokens must be a number >= 0" end
  local s = req.sampler
  if s == nil or type(s) == "table" then
    local so = s or (req.greedy and { temperature = 0 }) or sampler_mod.r1_defaults()
    local err
    s, err = sampler_mod.new(so)
    if not s then return nil, "batch: " .. err end
  end
  local stops = req.stop or {}
  if type(stops) == "string" then stops = { stops } end
  local r = { req = req, g = g, sampler = s, max_tokens = mt, stops = stops, index = #self.queue + 1 }
  self.queue[#self.queue + 1] = r
  return r.index
end

-- The context, sized for the queued requests: parallel slots of n_ctx_seq cells.
function Batch:_context()
  local need = 1
  for _, r in ipairs(self.queue) do
    local n = #r.g.ids + r.max_tokens
    if n > need then need = n end
  end
  local per = self.n_ctx_seq or need
  if per < need then
    return nil, string.format("batch: a request needs %d KV cells, n_ctx_seq is %d", need, per)
  end
  if self.ctx and self.ctx_cells >= per * self.parallel then return self.ctx end
  self.ctx = nil
  collectgarbage()
  local c, err = self.m:context({
    n_ctx = per * self.parallel, n_seq = self.parallel, threads = self.threads,
    n_batch = math.max(512, self.parallel), kv_type = self.kv_type,
  })
  if not c then return nil, err end
  self.ctx, self.ctx_cells = c, per * self.parallel
  return c
end

local function finish(self, s, reason)
  local sl = self.slots[s]
  self.slots[s] = nil
  self.busy = self.busy - 1
  local g = sl.r.g
  if g.queued > 0 and #g.ids > 1 then
    -- more of this group are waiting: keep the prompt prefix for them
    self.ctx:trim(s, #g.ids - 1)
    self.kept[s] = g
  else
    self.ctx:clear(s)
    g.holders[s] = nil
  end
  local tail = sl.stream:flush() or ""
  if reason ~= "stop" and #tail > 0 then sl.text[#sl.text + 1] = tail end
  local res = {
    text = table.concat(sl.text), tokens = sl.tokens, n = #sl.tokens, stop_reason = reason,
    prompt_n = #sl.r.g.ids, index = sl.r.index,
  }
  self.results[sl.r.index] = res
  self.n_done = self.n_done + 1
  if self.on_done and self.on_done(sl.r.req, res) == false then self.stopped = true end
end

-- A result without a slot (max_tokens == 0).
local function finish_empty(self, r)
  local res = { text = "", tokens = {}, n = 0, stop_reason = "length", prompt_n = #r.g.ids, index = r.index }
  self.results[r.index] = res
  self.n_done = self.n_done + 1
  if self.on_done and self.on_done(r.req, res) == false then self.stopped = true end
end

-- Fills free slots from the queue: one decode call per new prompt prefix (no
-- logits kept; alone, so its numbers never depend on the other prompts
-- admitted with it), then forks for the requests whose prefix a slot holds.
function Batch:_admit()
  local c = self.ctx
  local prefills, forks, fresh = {}, {}, {}
  for s = 0, self.parallel - 1 do
    if self.slots[s] == nil then
      local r
      while self.qi <= #self.queue and not self.stopped do
        r = self.queue[self.qi]
        self.qi = self.qi + 1
        r.g.queued = r.g.queued - 1
        if r.max_tokens > 0 then break end
        finish_empty(self, r)
        r = nil
      end
      if not r then break end
      local ids = r.g.ids
      local P = #ids
      local kept = self.kept[s]
      self.kept[s] = nil
      if kept and kept ~= r.g then
        c:clear(s)
        kept.holders[s] = nil
      end
      if P > 1 and kept ~= r.g then
        -- a holder whose cells exist now (not prefilled or forked by this call)
        local ready, root
        for h in pairs(r.g.holders) do
          if fresh[h] == "prefill" then root = h elseif not fresh[h] then ready = h end
        end
        if ready then
          -- fork now, before a later slot of this loop may clear the source
          c:fork(ready, s)
          c:trim(s, P - 1)
        elseif root then
          forks[#forks + 1] = { root, s, P - 1 }
          fresh[s] = "fork"
        else
          fresh[s] = "prefill"
          local toks, seqs, want = {}, {}, {}
          for i = 1, P - 1 do
            toks[i] = ids[i]; seqs[i] = s; want[i] = false
          end
          prefills[#prefills + 1] = { toks, seqs, want }
          self.prompt_tokens = self.prompt_tokens + P - 1
        end
        r.g.holders[s] = true
      end
      self.slots[s] = {
        r = r, next = ids[P], tokens = {}, text = {}, pending = "",
        stream = self.m.tokenizer:stream({ special = true }),
      }
      self.busy = self.busy + 1
    end
  end
  for _, p in ipairs(prefills) do
    local ok, err = c:decode(p[1], p[2], p[3])
    if not ok then return nil, err end
  end
  for _, f in ipairs(forks) do
    c:fork(f[1], f[2])
    c:trim(f[2], f[3])
  end
  return true
end

-- Text of a slot after a new piece, with stop strings applied: returns true
-- when a stop string ended the request.
local function feed_text(sl, piece)
  if #sl.r.stops == 0 then
    if #piece > 0 then sl.text[#sl.text + 1] = piece end
    return false
  end
  local buf = sl.pending .. piece
  for _, st in ipairs(sl.r.stops) do
    local a = buf:find(st, 1, true)
    if a then
      if a > 1 then sl.text[#sl.text + 1] = buf:sub(1, a - 1) end
      sl.pending = ""
      return true
    end
  end
  -- hold back a suffix that may start a stop string
  local hold = 0
  for _, st in ipairs(sl.r.stops) do
    for n = math.min(#st - 1, #buf), 1, -1 do
      if n > hold and buf:sub(-n) == st:sub(1, n) then hold = n break end
    end
  end
  local out = buf:sub(1, #buf - hold)
  sl.pending = buf:sub(#buf - hold + 1)
  if #out > 0 then sl.text[#sl.text + 1] = out end
  return false
end

-- One forward pass over the next token of every busy slot, then sampling:
-- all rows in one c:sample call (in parallel, logits read in place), or row
-- by row when a sampler has Lua stages. The step's tables are reused.
function Batch:_step()
  local c, tk = self.ctx, self.m.tokenizer
  local st = self.step_t
  if not st then
    st = { toks = {}, seqs = {}, want = {}, order = {}, samplers = {}, ids = {} }
    self.step_t = st
  end
  local toks, seqs, want, order, samplers = st.toks, st.seqs, st.want, st.order, st.samplers
  local n = 0
  for s = 0, self.parallel - 1 do
    local sl = self.slots[s]
    if sl then
      n = n + 1
      toks[n] = sl.next; seqs[n] = s; want[n] = true; order[n] = s; samplers[n] = sl.r.sampler
    end
  end
  for i = n + 1, #toks do
    toks[i], seqs[i], want[i], order[i], samplers[i] = nil, nil, nil, nil, nil
  end
  if n == 0 then return true end
  local ok, err = c:decode(toks, seqs, want)
  if not ok then return nil, err end
  self.steps = self.steps + 1
  local ids = c:sample(samplers, st.ids)
  for i = 1, n do
    local s = order[i]
    local sl = self.slots[s]
    local id
    if ids then
      id = ids[i]
    else
      id = sl.r.sampler:sample(c:logits(i))
    end
    if tk:is_eog(id) then
      if #sl.pending > 0 then sl.text[#sl.text + 1] = sl.pending end
      finish(self, s, "eos")
    else
      sl.r.sampler:accept(id)
      sl.tokens[#sl.tokens + 1] = id
      self.gen_tokens = self.gen_tokens + 1
      if feed_text(sl, sl.stream:feed(id) or "") then
        finish(self, s, "stop")
      elseif #sl.tokens >= sl.r.max_tokens then
        if #sl.pending > 0 then sl.text[#sl.text + 1] = sl.pending end
        finish(self, s, "length")
      else
        sl.next = id
      end
    end
  end
  return true
end

--- b:run({on_done = fn(req, res) -> false stops, on_step = fn(b)}) ->
--- results (in add order; nil for requests not run when stopped), stats
--- res = {text, tokens, n, stop_reason = "eos"|"length"|"stop", prompt_n, index}
--- stats = {steps, gen_tokens, prompt_tokens, seconds, tokens_per_s, stopped,
---          prefill_seconds (admitting requests: prompt prefixes, forks)}
function Batch:run(opts)
  opts = opts or {}
  local c, err = self:_context()
  if not c then return nil, err end
  c:clear()
  for _, g in pairs(self.groups) do g.holders, g.queued = {}, 0 end
  for _, r in ipairs(self.queue) do r.g.queued = r.g.queued + 1 end
  self.slots, self.kept, self.busy, self.qi, self.results = {}, {}, 0, 1, {}
  self.on_done, self.stopped, self.n_done = opts.on_done, false, 0
  self.steps, self.gen_tokens, self.prompt_tokens, self.admit_ms = 0, 0, 0, 0
  local t0 = core.now_ms()
  local ok, e2 = pcall(function()
    while true do
      if not self.stopped then
        local a0 = core.now_ms()
        assert(self:_admit())
        self.admit_ms = self.admit_ms + core.now_ms() - a0
      end
      if self.busy == 0 or self.stopped then break end
      assert(self:_step())
      if opts.on_step then opts.on_step(self) end
    end
  end)
  c:clear()
  if not ok then return nil, tostring(e2) end
  local secs = (core.now_ms() - t0) / 1000
  return self.results, {
    steps = self.steps, gen_tokens = self.gen_tokens, prompt_tokens = self.prompt_tokens,
    seconds = secs, tokens_per_s = secs > 0 and self.gen_tokens / secs or 0, stopped = self.stopped,
    prefill_seconds = self.admit_ms / 1000,
    done = self.n_done, total = #self.queue,
  }
end

--- Requests queued (for progress displays): done, total.
function Batch:progress()
  return self.n_done or 0, #self.queue
end

return M
