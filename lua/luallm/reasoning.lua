-- Reasoning traces: separate a model's <think> ... </think> block from its
-- answer, from a whole text (split) or while it streams (stream).
--
-- Rules (the same for split and stream, so a streamed result concatenates to
-- exactly what split returns):
--   * "<think>" opens the block only at the very start of the output
--     (whitespace before it is dropped); later it is ordinary text.
--   * opts.open = true: the prompt already opened the block (the R1 chat
--     templates end the prompt with "<think>\n"), so the output starts in the
--     reasoning. A redundant leading "<think>" is then swallowed too.
--   * whitespace right after "<think>" and right before "</think>" is dropped
--     (R1 writes "<think>\n...\n</think>\n\n"); so is all whitespace between
--     "</think>" and the content. Whitespace inside both parts, and at the end
--     of the content, is kept.
--   * after "</think>" everything is content; a second "</think>" is text.
--   * no "</think>" before the end: the trace was truncated; everything after
--     the opening is reasoning and `closed` is false.
--   * no block at all: everything is content, reasoning is "", closed is true
--     (there is no unfinished block).
local M = {}

local OPEN, CLOSE = "<think>", "</think>"

local function is_prefix(s, tag) -- s is a (possibly partial) start of tag
  return #s < #tag and tag:sub(1, #s) == s
end

-- Length of the longest suffix of s that is a proper prefix of tag.
local function partial_suffix(s, tag)
  local max = math.min(#s, #tag - 1)
  for n = max, 1, -1 do
    if s:sub(-n) == tag:sub(1, n) then return n end
  end
  return 0
end

local Stream = {}
Stream.__index = Stream

--- reasoning.stream(opts) -> rp. opts.open = true when the prompt ends
--- inside an opened <think> block.
function M.stream(opts)
  opts = opts or {}
  return setmetatable({
    buf = "",              -- text held back (whitespace, a possible partial tag)
    state = opts.open and "r_lead" or "start",
    open_mode = opts.open and true or false,
    closed = not opts.open, -- false while inside an unclosed block
  }, Stream)
end

--- rp:mode() -> "start" (nothing decided yet), "reasoning" or "content".
function Stream:mode()
  local s = self.state
  if s == "start" then return "start" end
  if s == "r_lead" or s == "reasoning" then return "reasoning" end
  return "content"
end

-- Appends an event, merging with the previous one of the same kind.
local function emit(out, kind, text)
  if text == "" then return end
  local last = out[#out]
  if last and last.kind == kind then
    last.text = last.text .. text
  else
    out[#out + 1] = { kind = kind, text = text }
  end
end

-- Runs the state machine over self.buf as far as it can decide.
function Stream:_step(out, final)
  while true do
    local st, buf = self.state, self.buf
    if st == "start" or st == "r_lead" then
      local s = buf:match("^%s*(.*)$")
      if s:sub(1, #OPEN) == OPEN then
        -- "<think>" at the start: enter (or, when already open, stay in) the block
        self.buf = s:sub(#OPEN + 1)
        self.state = "r_lead"
        self.closed = false
      elseif not final and (s == "" or is_prefix(s, OPEN)) then
        self.buf = s
        return -- only whitespace or a partial "<think>" so far: wait
      else
        self.buf = s
        self.state = st == "start" and "content" or "reasoning"
      end
    elseif st == "reasoning" then
      local i = buf:find(CLOSE, 1, true)
      if i then
        emit(out, "reasoning", (buf:sub(1, i - 1):gsub("%s+$", "")))
        self.buf = buf:sub(i + #CLOSE)
        self.state = "c_lead"
        self.closed = true
      else
        -- hold back a possible partial "</think>" and the whitespace before
        -- it, which is dropped if the tag follows
        local keep = final and 0 or partial_suffix(buf, CLOSE)
        local body = buf:sub(1, #buf - keep)
        local text = body:gsub("%s+$", "")
        emit(out, "reasoning", text)
        self.buf = final and "" or buf:sub(#text + 1)
        return
      end
    elseif st == "c_lead" then
      local s = buf:match("^%s*(.*)$")
      self.buf = s
      if s == "" then return end
      self.state = "content"
    else -- content
      emit(out, "content", buf)
      self.buf = ""
      return
    end
  end
end

--- rp:feed(piece) -> {{kind = "reasoning"|"content", text = ...}, ...}
--- (possibly empty: text that might be part of a tag is held back).
function Stream:feed(piece)
  local out = {}
  if piece == nil or piece == "" then return out end
  self.buf = self.buf .. piece
  self:_step(out, false)
  return out
end

--- rp:finish() -> events for the text held back at the end of the output.
function Stream:finish()
  local out = {}
  self:_step(out, true)
  return out
end

--- reasoning.split(text, opts) -> {reasoning = ..., content = ..., closed = bool}
--- Without opts.open, a "</think>" with no "<think>" at the start means the
--- prompt opened the block (the R1 templates do): the text before it is the
--- reasoning.
function M.split(text, opts)
  opts = opts or {}
  local open = opts.open
  if open == nil then
    open = text:match("^%s*" .. "<think>") == nil and text:find(CLOSE, 1, true) ~= nil
  end
  local rp = M.stream({ open = open })
  local parts = { reasoning = {}, content = {} }
  local function collect(events)
    for _, ev in ipairs(events) do
      local t = parts[ev.kind]
      t[#t + 1] = ev.text
    end
  end
  collect(rp:feed(text))
  collect(rp:finish())
  return {
    reasoning = table.concat(parts.reasoning),
    content = table.concat(parts.content),
    closed = rp.closed,
  }
end

return M
