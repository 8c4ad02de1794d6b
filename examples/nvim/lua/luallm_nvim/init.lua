-- luallm_nvim: ask a local DeepSeek-R1-style model from Neovim without
-- freezing the editor. The model runs on a background thread (m:start);
-- a libuv timer polls it every few milliseconds and streams what arrived
-- into a scratch buffer: the reasoning first (folded away once the answer
-- starts), then the answer, then a line of statistics.
--
--   require("luallm_nvim").setup({model = "/path/model.gguf"})
--   :LuallmAsk What is 713 - 39?
--   :LuallmCancel
--
-- Needs the LuaJIT build of luallm (make LUA=luajit) on package.cpath and the
-- repository's lua/ directory on the runtimepath (see docs/neovim.md).
local uv = vim.uv or vim.loop

local M = {}

local config = {
  model = nil,        -- path of a GGUF file; vim.g.luallm_model otherwise
  threads = nil,      -- generation threads; default: all cores but one
  n_ctx = nil,
  max_tokens = 1024,
  interval_ms = 25,   -- how often the timer polls the job
  sampler = nil,      -- sampler options ({temperature = 0.6, top_p = 0.95}); nil: R1 defaults
  thinking = true,    -- false asks the model to answer without reasoning
}

--- What the current (or last) request is doing; read by the spec.
--- {buf, job, done, result, reasoning, content, error}
M.state = {}

local loaded = { path = nil, model = nil }

function M.setup(opts)
  for k, v in pairs(opts or {}) do config[k] = v end
  M.create_commands()
end

local function model_path()
  return config.model or vim.g.luallm_model
end

local function get_model()
  local path = model_path()
  if not path or path == "" then
    return nil, "luallm: no model; set vim.g.luallm_model or setup({model = ...})"
  end
  if loaded.path == path then return loaded.model end
  local ok, llm = pcall(require, "luallm")
  if not ok then
    return nil, "luallm: cannot load the module (is the LuaJIT build on package.cpath?): " .. tostring(llm)
  end
  local m, err = llm.load(path, { n_ctx = config.n_ctx })
  if not m then return nil, "luallm: " .. tostring(err) end
  loaded.path, loaded.model = path, m
  return m
end

--- Loads the model now (llm.load is synchronous: a large model takes a
--- moment), so that the first :LuallmAsk starts at once.
function M.preload()
  return get_model()
end

local function default_threads()
  local ok, llm = pcall(require, "luallm")
  local n = ok and llm.backends().cpu.threads or 2
  return math.max(1, n - 1) -- leave a core to the editor
end

-- ---- the output buffer ------------------------------------------------------

local function new_buffer(question)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_option(buf, "buftype", "nofile")
  vim.api.nvim_buf_set_option(buf, "bufhidden", "hide")
  vim.api.nvim_buf_set_option(buf, "swapfile", false)
  vim.api.nvim_buf_set_option(buf, "filetype", "markdown")
  pcall(vim.api.nvim_buf_set_name, buf, "luallm-" .. buf)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "# " .. question, "", "" })
  vim.cmd("botright split")
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, buf)
  vim.api.nvim_win_set_option(win, "foldmethod", "manual")
  vim.api.nvim_win_set_option(win, "wrap", true)
  return buf, win
end

-- Appends text (which may hold newlines) at the end of the buffer.
local function append(buf, text)
  if text == "" or not vim.api.nvim_buf_is_valid(buf) then return end
  local lines = vim.split(text, "\n", { plain = true })
  local last = vim.api.nvim_buf_line_count(buf)
  local tail = vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ""
  lines[1] = tail .. lines[1]
  vim.api.nvim_buf_set_lines(buf, last - 1, last, false, lines)
end

local function line_count(buf)
  return vim.api.nvim_buf_line_count(buf)
end

-- The output window, while it still shows the output buffer.
local function out_win(st)
  if st.win and vim.api.nvim_win_is_valid(st.win) and vim.api.nvim_win_get_buf(st.win) == st.buf then
    return st.win
  end
end

-- Keeps the window at the end of the output while it streams.
local function follow(st)
  local win = out_win(st)
  if win then vim.api.nvim_win_set_cursor(win, { line_count(st.buf), 0 }) end
end

-- Folds the reasoning lines (closed) once the answer begins.
local function fold_reasoning(st)
  local win = out_win(st)
  if not st.reasoning_first or not win then return end
  local last = st.reasoning_last or line_count(st.buf)
  if last < st.reasoning_first then return end
  vim.api.nvim_win_call(win, function()
    vim.cmd(string.format("%d,%dfold", st.reasoning_first, last))
  end)
end

local function render(st, events)
  if vim.fn.bufexists(st.buf) == 1 and not vim.api.nvim_buf_is_loaded(st.buf) then
    vim.fn.bufload(st.buf) -- unloaded behind our back: write into it again
  end
  if not vim.api.nvim_buf_is_valid(st.buf) then
    -- the buffer was wiped: keep the text for M.state, draw nothing
    for _, ev in ipairs(events) do st[ev.kind] = st[ev.kind] .. ev.text end
    return
  end
  for _, ev in ipairs(events) do
    if ev.kind == "reasoning" then
      if not st.reasoning_first then
        -- the fold starts at the header, so a closed fold reads "## Reasoning"
        st.reasoning_first = line_count(st.buf)
        append(st.buf, "## Reasoning\n")
      end
      st.reasoning = st.reasoning .. ev.text
      append(st.buf, ev.text)
    else
      if not st.answer_started then
        st.answer_started = true
        if st.reasoning_first then
          st.reasoning_last = line_count(st.buf)
          append(st.buf, "\n\n")
        end
        append(st.buf, "## Answer\n")
        fold_reasoning(st)
      end
      st.content = st.content .. ev.text
      append(st.buf, ev.text)
    end
  end
  if #events > 0 then follow(st) end
end

local function stop_timer(st)
  if st.timer then
    st.timer:stop()
    if not st.timer:is_closing() then st.timer:close() end
    st.timer = nil
  end
end

local function finish(st)
  stop_timer(st)
  render(st, st.rp:finish())
  local r = st.job:wait() -- the job is done: returns at once
  st.result = r
  local s = r.stats
  append(st.buf, string.format("\n\n-- %d tokens, %.1f tok/s, prompt %d tokens in %.0f ms, stop: %s%s\n",
    s.gen_n, s.gen_tps, s.prompt_n, s.prompt_ms, r.stop_reason, r.error and (" (" .. r.error .. ")") or ""))
  follow(st)
  st.job = nil
  st.done = true
end

-- One timer tick: drain the job without blocking.
local function tick(st)
  if not st.job then return end
  local done = st.job.done -- read before polling: then the poll got everything
  local piece = st.job:poll()
  if piece ~= "" then render(st, st.rp:feed(piece)) end
  if done then finish(st) end
end

-- ---- commands ---------------------------------------------------------------

--- Starts a question; returns the state table, or nil, msg.
function M.ask(question)
  if not question or question == "" then return nil, "luallm: usage :LuallmAsk {question}" end
  M.cancel()
  local m, err = get_model()
  if not m then return nil, err end
  local llm = require("luallm")
  local prompt
  prompt, err = m:chat_template({ { role = "user", content = question } },
    { add_generation_prompt = true, thinking = config.thinking == false and false or nil })
  if not prompt then return nil, "luallm: " .. tostring(err) end
  local opts = {
    max_tokens = config.max_tokens, n_ctx = config.n_ctx,
    threads = config.threads or default_threads(),
  }
  for k, v in pairs(config.sampler or {}) do opts[k] = v end
  local job
  job, err = m:start(prompt, opts)
  if not job then return nil, "luallm: " .. tostring(err) end
  local st = {
    job = job, done = false, reasoning = "", content = "",
    -- R1 templates end the prompt inside an opened <think> block
    rp = llm.reasoning.stream({ open = prompt:match("<think>%s*$") ~= nil }),
  }
  st.buf, st.win = new_buffer(question)
  st.timer = uv.new_timer()
  st.timer:start(0, config.interval_ms, vim.schedule_wrap(function() tick(st) end))
  M.state = st
  return st
end

--- Stops the running request (its partial output stays in the buffer).
function M.cancel()
  local st = M.state
  if st and st.job then
    st.job:cancel()
    -- the timer's next tick sees job.done and finishes the buffer
  end
end

function M.create_commands()
  if M._commands then return end
  M._commands = true
  vim.api.nvim_create_user_command("LuallmAsk", function(c)
    local _, err = M.ask(c.args)
    if err then vim.notify(err, vim.log.levels.ERROR) end
  end, { nargs = "+", desc = "Ask the luallm model; the answer streams into a scratch buffer" })
  vim.api.nvim_create_user_command("LuallmCancel", function() M.cancel() end,
    { nargs = 0, desc = "Stop the running luallm request" })
end

return M
