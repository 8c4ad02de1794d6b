-- Loaded models: llm.load(path, opts) -> Model. Generation is composed here
-- in Lua from the C pieces (context, tokenizer, sampler); each step crosses
-- into C a few times, which costs microseconds against a forward pass.
local core = require("luallm_core")
local sampler_mod = require("luallm.sampler")
local reasoning = require("luallm.reasoning")
local chat_mod = require("luallm.chat")

local M = {}

local Model = {}
Model.__index = Model

local function now_ms()
  return core.now_ms()
end

--- llm.load(path, {n_gpu_layers = 0 | N | -1 | "auto", threads = N, n_ctx = N,
---                 progress = function(frac) end}) -> Model | nil, msg
function M.load(path, opts)
  opts = opts or {}
  if type(path) ~= "string" then return nil, "load: path must be a string" end
  if type(opts) ~= "table" then return nil, "load: options must be a table" end
  local ngl = opts.n_gpu_layers or 0
  if ngl == "auto" then
    local n, err = require("luallm.plan").auto_layers(path, opts)
    if not n then return nil, err end
    -- a vram_budget simulates a smaller GPU; without any GPU, auto means the CPU
    local cuda = core.cuda_info()
    if not (cuda.compiled and #cuda.devices > 0) then n = 0 end
    ngl = n
  end
  if type(ngl) ~= "number" then return nil, "load: n_gpu_layers must be a number, -1 or \"auto\"" end
  if opts.progress then opts.progress(0) end
  local m, err = core.model_load(path, { n_gpu_layers = ngl })
  if not m then return nil, err end
  if opts.progress then opts.progress(1) end
  local info = m:info()
  local self = setmetatable({
    _m = m,
    path = path,
    arch = info.arch,
    n_layers = info.n_layers,
    n_vocab = info.n_vocab,
    n_ctx_train = info.n_ctx_train,
    n_embd = info.n_embd,
    n_params = info.n_params,
    file_size = info.file_size,
    load_ms = info.load_ms,
    tokenizer = m:tokenizer(),
    threads = opts.threads,
    n_ctx = opts.n_ctx,
  }, Model)
  return self
end

--- m:meta(key) -> metadata value (arrays: {n =, type =})
function Model:meta(key) return self._m:meta(key) end

--- m:info() -> hyper-parameters
function Model:info() return self._m:info() end

--- m:placement() -> {layers = {{device, bytes}...}, cpu_bytes, gpu_bytes,
--- gpu_layers, cpu_layers, split = "100%/0% CPU/GPU"} (split as ollama ps shows it)
function Model:placement()
  local p = self._m:placement()
  local total = p.cpu_bytes + p.gpu_bytes
  local cpu_pct = total > 0 and math.floor(p.cpu_bytes * 100 / total + 0.5) or 100
  if p.gpu_bytes == 0 then
    p.split = "100% CPU"
  elseif p.cpu_bytes == 0 then
    p.split = "100% GPU"
  else
    p.split = string.format("%d%%/%d%% CPU/GPU", cpu_pct, 100 - cpu_pct)
  end
  return p
end

--- m:context({n_ctx, n_seq, n_batch, threads, kv_type}) -> Context | nil, msg
function Model:context(opts)
  opts = opts or {}
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.threads = o.threads or self.threads
  o.n_ctx = o.n_ctx or self.n_ctx
  return core.context_new(self._m, o)
end

--- The chat template of the model rendered over messages (see luallm.chat).
function Model:chat_template(messages, opts)
  opts = opts or {}
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  local t = self.tokenizer
  o.bos_token = o.bos_token or (t.bos and t:piece(t.bos, true)) or ""
  o.eos_token = o.eos_token or (t.eos and t:piece(t.eos, true)) or ""
  return chat_mod.render(o.template or self:meta("tokenizer.chat_template"), messages, o)
end

-- Token ids of a prompt: a string is tokenized with special tokens parsed;
-- BOS is added when the model wants one and the text does not start with it.
function Model:_prompt_ids(prompt)
  if type(prompt) == "table" then
    for i, id in ipairs(prompt) do
      if type(id) ~= "number" or id < 0 or id >= self.n_vocab or id % 1 ~= 0 then
        return nil, "prompt token " .. i .. " is not a valid id"
      end
    end
    return prompt
  end
  if type(prompt) ~= "string" then return nil, "prompt must be a string or a table of token ids" end
  local t = self.tokenizer
  local ids, err = t:encode(prompt, { bos = false, special = true })
  if not ids then return nil, err end
  if t.add_bos and t.bos and ids[1] ~= t.bos then table.insert(ids, 1, t.bos) end
  if #ids == 0 then return nil, "prompt is empty" end
  return ids
end

local SAMPLER_KEYS = { "temperature", "top_k", "top_p", "min_p", "typical_p", "repeat_penalty",
                       "repeat_last_n", "frequency_penalty", "presence_penalty", "seed" }

-- The sampler of a call: opts.sampler, else one built from the sampler keys
-- in opts, else DeepSeek's R1 recommendation (temperature 0.6, top_p 0.95).
local function make_sampler(opts)
  if opts.sampler then return opts.sampler end
  local so, any = {}, false
  for _, k in ipairs(SAMPLER_KEYS) do
    if opts[k] ~= nil then so[k] = opts[k]; any = true end
  end
  if not any then
    so = sampler_mod.r1_defaults()
    so.seed = opts.seed or 0
  end
  return sampler_mod.new(so)
end

-- Length of the longest suffix of s that is a proper prefix of some stop string.
local function stop_holdback(s, stops)
  local best = 0
  for _, st in ipairs(stops) do
    for n = math.min(#st - 1, #s), 1, -1 do
      if n > best and s:sub(-n) == st:sub(1, n) then best = n break end
    end
  end
  return best
end

--- m:generate(prompt, opts) -> iterator of (piece, ev). opts:
---   max_tokens (default 256), sampler or sampler options, stop = {strings},
---   max_reasoning_tokens (thinking budget), context (reuse a context; its
---   sequence 0 is cleared unless keep = true), n_ctx, on_token = fn(id, piece) -> false stops.
--- ev = {token = id, n = generated so far}; the last call yields nil after
--- setting m.last_result = {text, tokens, stop_reason, stats}.
function Model:generate(prompt, opts)
  opts = opts or {}
  local st, err = self:_generation(prompt, opts)
  if not st then error(err, 2) end
  return function()
    return st:next()
  end
end

local Gen = {}
Gen.__index = Gen

-- What every generation starts from: the prompt's ids, max_tokens (checked)
-- and the sampler. -> ids, max_tokens, sampler | nil, msg
function Model:_gen_inputs(prompt, opts)
  local ids, err = self:_prompt_ids(prompt)
  if not ids then return nil, err end
  local max_tokens = opts.max_tokens or 256
  if type(max_tokens) ~= "number" or max_tokens < 0 then return nil, "max_tokens must be a number >= 0" end
  local s
  s, err = make_sampler(opts)
  if not s then return nil, err end
  return ids, max_tokens, s
end

function Model:_generation(prompt, opts)
  local t0 = now_ms()
  local ids, max_tokens, s = self:_gen_inputs(prompt, opts)
  if not ids then return nil, max_tokens end
  local err
  local ctx = opts.context
  if not ctx then
    local n_ctx = opts.n_ctx or self.n_ctx or math.min(self.n_ctx_train, 4096)
    if #ids + max_tokens > n_ctx then n_ctx = math.min(#ids + max_tokens, math.max(self.n_ctx_train, n_ctx)) end
    if not self._ctx or self._ctx_n ~= n_ctx then
      self._ctx = nil
      collectgarbage()
      self._ctx, err = self:context({ n_ctx = n_ctx })
      if not self._ctx then return nil, err end
      self._ctx_n = n_ctx
    end
    ctx = self._ctx
  end
  if not opts.keep then ctx:clear(0) end
  local stops = opts.stop or {}
  if type(stops) == "string" then stops = { stops } end
  local rp
  if opts.max_reasoning_tokens then
    local starts_open = type(prompt) == "string" and prompt:match("<think>%s*$") ~= nil
    rp = reasoning.stream({ open = starts_open })
  end
  local g = setmetatable({
    m = self, ctx = ctx, s = s, ids = ids, max_tokens = max_tokens, stops = stops,
    stream = self.tokenizer:stream({ special = true }), pending = "", text = {}, tokens = {},
    n = 0, t0 = t0, rp = rp, reasoning_n = 0, budget = opts.max_reasoning_tokens,
    on_token = opts.on_token, done = false,
  }, Gen)
  local tp = now_ms()
  local ok
  ok, err = ctx:eval(ids)
  if not ok then return nil, err end
  g.prompt_ms = now_ms() - tp
  g.tg0 = now_ms()
  return g
end

function Gen:finish(reason)
  self.done = true
  self.stop_reason = reason
  local tail = self.stream:flush() or ""
  local text = self.pending .. tail
  if reason ~= "stop" and #text > 0 then self.text[#self.text + 1] = text end
  self.pending = ""
  local now = now_ms()
  local gen_ms = now - self.tg0
  local stats = {
    load_ms = self.m.load_ms,
    prompt_n = #self.ids,
    prompt_ms = self.prompt_ms,
    prompt_tps = self.prompt_ms > 0 and #self.ids * 1000 / self.prompt_ms or 0,
    gen_n = self.n,
    gen_ms = gen_ms,
    gen_tps = gen_ms > 0 and self.n * 1000 / gen_ms or 0,
    total_ms = now - self.t0,
  }
  self.result = { text = table.concat(self.text), tokens = self.tokens, stop_reason = reason, stats = stats }
  self.m.last_result = self.result
  if #text > 0 and reason ~= "stop" then return text end
  return nil
end

-- One step: returns the next piece of text (possibly "") and an event, or nil at the end.
function Gen:next()
  while not self.done do
    if self.n >= self.max_tokens then
      local t = self:finish("length")
      if t then return t, { final = true } end
      return nil
    end
    local id = self.s:sample(self.ctx:logits())
    if self.m.tokenizer:is_eog(id) then
      local t = self:finish("eos")
      if t then return t, { final = true } end
      return nil
    end
    self.s:accept(id)
    self.n = self.n + 1
    self.tokens[#self.tokens + 1] = id
    local piece = self.stream:feed(id) or ""
    local inject
    if self.rp then
      for _, ev in ipairs(self.rp:feed(piece)) do
        if ev.kind == "reasoning" then self.reasoning_n = self.reasoning_n + 1 end
      end
      if self.budget and self.rp:mode() ~= "content" and self.n >= self.budget then
        -- thinking budget reached: close the block and let the model answer
        inject = "\n</think>\n\n"
        self.budget = nil
      end
    end
    if self.on_token and self.on_token(id, piece) == false then
      self.pending = self.pending .. piece
      local t = self:finish("callback")
      if t then return t, { token = id, n = self.n, final = true } end
      return nil
    end
    -- stop strings: match across token boundaries, never emit them
    local buf = self.pending .. piece
    for _, stp in ipairs(self.stops) do
      local a = buf:find(stp, 1, true)
      if a then
        self.pending = ""
        local out = buf:sub(1, a - 1)
        if #out > 0 then self.text[#self.text + 1] = out end
        self:finish("stop")
        return out, { token = id, n = self.n, final = true }
      end
    end
    local hold = stop_holdback(buf, self.stops)
    local out = buf:sub(1, #buf - hold)
    self.pending = buf:sub(#buf - hold + 1)
    if #out > 0 then self.text[#self.text + 1] = out end
    local ok, err
    if inject then
      local extra = self.m.tokenizer:encode(inject, { bos = false, special = true })
      for _, x in ipairs(extra) do
        self.tokens[#self.tokens + 1] = x
        self.s:accept(x)
      end
      self.text[#self.text + 1] = inject
      out = out .. inject
      local all = { id }
      for _, x in ipairs(extra) do all[#all + 1] = x end
      ok, err = self.ctx:eval(all)
    else
      ok, err = self.ctx:eval({ id })
    end
    if not ok then
      self:finish("error")
      self.result.error = err
      error(err, 0)
    end
    return out, { token = id, n = self.n }
  end
  return nil
end

--- m:start(prompt, opts) -> Job | nil, msg: generation on a background
--- thread (see luallm/job.lua). opts: max_tokens (default 256), stop,
--- sampler or sampler options (as m:generate; a sampler with a Lua custom
--- stage is refused), n_ctx, threads (default: the model's).
function Model:start(prompt, opts)
  opts = opts or {}
  local ids, max_tokens, s = self:_gen_inputs(prompt, opts)
  if not ids then return nil, max_tokens end
  local err
  local n_ctx = opts.n_ctx or self.n_ctx or math.min(self.n_ctx_train, 4096)
  if #ids + max_tokens > n_ctx then n_ctx = math.min(#ids + max_tokens, math.max(self.n_ctx_train, n_ctx)) end
  local stops = opts.stop
  if type(stops) == "string" then stops = { stops } end
  local j
  j, err = core.job_start(self._m, ids, {
    max_tokens = max_tokens, stop = stops, sampler = s, n_ctx = n_ctx,
    threads = opts.threads or self.threads,
  })
  if not j then return nil, err end
  return require("luallm.job").wrap(j, self)
end

--- m:complete(prompt, opts) -> {text, tokens, stop_reason, stats} | nil, msg
function Model:complete(prompt, opts)
  opts = opts or {}
  local g, err = self:_generation(prompt, opts)
  if not g then return nil, err end
  local ok, e2 = pcall(function()
    while g:next() do end
  end)
  if not ok then return nil, tostring(e2) end
  return g.result
end

--- m:chat(messages, opts) -> {reasoning, content, text, closed, stats, ...} | nil, msg
--- Renders the model's chat template (opts.template overrides; opts.thinking
--- = false asks for no reasoning), generates, and splits the think block.
function Model:chat(messages, opts)
  opts = opts or {}
  local prompt, err = self:chat_template(messages, {
    template = opts.template, thinking = opts.thinking, add_generation_prompt = true,
    tools = opts.tools,
  })
  if not prompt then return nil, err end
  local r
  r, err = self:complete(prompt, opts)
  if not r then return nil, err end
  local open = prompt:match("<think>%s*$") ~= nil
  local parts = reasoning.split(r.text, { open = open })
  r.reasoning = parts.reasoning
  r.content = parts.content
  r.closed = parts.closed
  r.prompt = prompt
  return r
end

M.Model = Model
return M
