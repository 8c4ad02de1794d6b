-- A Jinja2-subset interpreter for the chat templates stored in GGUF files
-- (`tokenizer.chat_template`). Three stages: a lexer (text / tags / expression
-- tokens, whitespace control), a recursive-descent parser producing an AST,
-- and a tree-walking evaluator. Value model:
--   strings, numbers, booleans    as in Lua
--   None                          M.none (the same sentinel as luallm.json.null)
--   undefined                     M.undefined (missing variable, key or index)
--   list / dict                   Lua tables; M.list{} / M.dict{} mark a table
--                                 whose kind its contents cannot tell (empty);
--                                 otherwise a table with [1] is a list.
-- Errors never escape as Lua errors: compile and render return nil, message
-- ("jinja: ... at line N").
local json = require("luallm.json")

local M = {}

local unpack = table.unpack or unpack

local NONE = json.null
local UNDEF = setmetatable({}, { __tostring = function() return "undefined" end })
local LIST_MT = {}
local DICT_MT = json.object_mt -- so json.encode also writes {} for an empty dict
local NS_MT = {}      -- namespace() objects: the only thing `set a.b = ...` may write
local LOOP_MT = {}    -- the `loop` variable
local FN_MT = {}      -- callables defined here: {fn = function(args, kwargs, node)}

M.none = NONE
M.undefined = UNDEF
function M.list(t) return setmetatable(t or {}, LIST_MT) end
function M.dict(t) return setmetatable(t or {}, DICT_MT) end

-- A runtime error carries its message to the top-level pcall; `line` is added
-- by the innermost node that knows its line.
local function raise(msg, line)
  error({ jinja = msg, line = line }, 0)
end

---------------------------------------------------------------------------
-- Value helpers
---------------------------------------------------------------------------

local function is_dict(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if mt == DICT_MT or mt == NS_MT then return true end
  if mt ~= nil then return false end
  return v[1] == nil and next(v) ~= nil
end

local function is_list(v)
  if type(v) ~= "table" or v == NONE or v == UNDEF then return false end
  local mt = getmetatable(v)
  if mt == LIST_MT then return true end
  if mt ~= nil then return false end
  return v[1] ~= nil or next(v) == nil
end

local function is_int(v)
  if type(v) ~= "number" then return false end
  if math.type then return math.type(v) == "integer" end
  return v % 1 == 0 and v > -2 ^ 53 and v < 2 ^ 53
end

local function truthy(v)
  if v == nil or v == false or v == NONE or v == UNDEF then return false end
  local t = type(v)
  if t == "number" then return v ~= 0 end
  if t == "string" then return v ~= "" end
  if t == "table" then
    local mt = getmetatable(v)
    if mt == NS_MT or mt == LOOP_MT or mt == FN_MT then return true end
    return next(v) ~= nil
  end
  return true
end

-- UTF-8 aware character list (Python strings index by code point).
local function chars(s)
  local out = {}
  for ch in s:gmatch("[%z\1-\127\194-\244][\128-\191]*") do out[#out + 1] = ch end
  return out
end

local function strlen(s)
  if not s:find("[\128-\255]") then return #s end
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function type_name(v)
  if v == NONE then return "none" end
  if v == UNDEF or v == nil then return "undefined" end
  if is_list(v) then return "list" end
  if is_dict(v) then return "dict" end
  local t = type(v)
  if t == "table" then
    local mt = getmetatable(v)
    if mt == FN_MT then return "function" end
    if mt == LOOP_MT then return "loop" end
  end
  return t
end

-- Python's repr of a float: the shortest %g that reads back the same number.
local function fmt_number(v)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if is_int(v) then return string.format("%d", v) end
  if v % 1 == 0 and math.abs(v) < 1e16 then return string.format("%.1f", v) end
  for p = 15, 17 do
    local s = string.format("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end

local to_str

local function py_repr(v)
  if type(v) == "string" then
    if v:find("'", 1, true) and not v:find('"', 1, true) then return '"' .. v .. '"' end
    return "'" .. v:gsub("\\", "\\\\"):gsub("'", "\\'"):gsub("\n", "\\n") .. "'"
  end
  return to_str(v)
end

-- str(v) as Jinja prints it.
function to_str(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return fmt_number(v) end
  if t == "boolean" then return v and "True" or "False" end
  if v == nil or v == UNDEF then return "" end
  if v == NONE then return "None" end
  if is_list(v) then
    local parts = {}
    for i = 1, #v do parts[i] = py_repr(v[i]) end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  if is_dict(v) then
    local parts = {}
    for _, k in ipairs(sorted_keys(v)) do parts[#parts + 1] = py_repr(k) .. ": " .. py_repr(v[k]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return "<" .. type_name(v) .. ">"
end
M.to_str = to_str

-- JSON as Python's json.dumps(ensure_ascii=False) writes it (the `tojson`
-- filter of Hugging Face chat templates): ", " and ": " separators, or
-- newline + indent when indent is given. Dict keys are sorted: Lua tables
-- keep no insertion order.
local json_esc = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                   ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function to_json(v, indent, depth)
  depth = depth or 0
  if depth > 100 then raise("tojson: nesting too deep") end
  local t = type(v)
  if v == NONE or v == UNDEF or v == nil then return "null" end
  if t == "boolean" then return v and "true" or "false" end
  if t == "number" then
    if v ~= v then return "NaN" end
    if v == math.huge then return "Infinity" end
    if v == -math.huge then return "-Infinity" end
    return fmt_number(v)
  end
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c)
      return json_esc[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
  end
  local items = {}
  local open, close
  if is_list(v) then
    open, close = "[", "]"
    for i = 1, #v do items[i] = to_json(v[i], indent, depth + 1) end
  elseif is_dict(v) then
    open, close = "{", "}"
    for _, k in ipairs(sorted_keys(v)) do
      items[#items + 1] = to_json(to_str(k), indent, depth + 1) .. ": " .. to_json(v[k], indent, depth + 1)
    end
  else
    raise("tojson: cannot serialize " .. type_name(v))
  end
  if #items == 0 then return open .. close end
  if indent then
    local pad = "\n" .. string.rep(" ", indent * (depth + 1))
    return open .. pad .. table.concat(items, "," .. pad) .. "\n" .. string.rep(" ", indent * depth) .. close
  end
  return open .. table.concat(items, ", ") .. close
end
M.to_json = to_json

local function equal(a, b, depth)
  if a == b then return true end
  if a == nil then a = UNDEF end
  if b == nil then b = UNDEF end
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  if a == NONE or b == NONE or a == UNDEF or b == UNDEF then return false end
  depth = depth or 0
  if depth > 100 then return false end
  if is_list(a) and is_list(b) then
    if #a ~= #b then return false end
    for i = 1, #a do if not equal(a[i], b[i], depth + 1) then return false end end
    return true
  end
  if is_dict(a) and is_dict(b) then
    for k, v in pairs(a) do if not equal(v, b[k], depth + 1) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  return false
end

-- Python-style slice bounds over a sequence of length n (0-based, end exclusive).
local function slice_indices(n, a, b, step)
  step = step or 1
  if step == 0 then raise("slice step cannot be zero") end
  local function norm(i, def)
    if i == nil then return def end
    if i < 0 then i = i + n end
    if step > 0 then
      if i < 0 then i = 0 elseif i > n then i = n end
    else
      if i < -1 then i = -1 elseif i > n - 1 then i = n - 1 end
    end
    return i
  end
  local idx = {}
  if step > 0 then
    local s, e = norm(a, 0), norm(b, n)
    for i = s, e - 1, step do idx[#idx + 1] = i end
  else
    local s, e = norm(a, n - 1), norm(b, -1)
    for i = s, e + 1, step do idx[#idx + 1] = i end
  end
  return idx
end

-- Iteration: lists give items, dicts sorted keys, strings characters.
local function iter_items(v, line)
  if v == UNDEF or v == nil then return {} end
  if type(v) == "string" then return chars(v) end
  if is_list(v) then
    local out = {}
    for i = 1, #v do out[i] = v[i] end
    return out
  end
  if is_dict(v) then return sorted_keys(v) end
  raise("'" .. type_name(v) .. "' is not iterable", line)
end

local function length(v, line)
  if type(v) == "string" then return strlen(v) end
  if v == UNDEF then return 0 end
  if is_list(v) then return #v end
  if is_dict(v) then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    return n
  end
  raise("object of type '" .. type_name(v) .. "' has no length", line)
end

local function contains(container, item, line)
  if type(container) == "string" then
    if type(item) ~= "string" then raise("'in <string>' requires a string on the left", line) end
    return container:find(item, 1, true) ~= nil
  end
  if is_list(container) then
    for i = 1, #container do if equal(container[i], item) then return true end end
    return false
  end
  if is_dict(container) then return container[item] ~= nil end
  if container == UNDEF then raise("'in' on an undefined value", line) end
  raise("argument of type '" .. type_name(container) .. "' is not iterable", line)
end

local function func(fn) return setmetatable({ fn = fn }, FN_MT) end

---------------------------------------------------------------------------
-- Lexer
---------------------------------------------------------------------------
-- Tokens: {t = "text", v}, {t = "var_begin"}, {t = "var_end"},
-- {t = "block_begin"}, {t = "block_end"}, {t = "name"|"string"|"number"|"op", v};
-- each with `line`. Whitespace control (`-`, `+`, trim_blocks,
-- lstrip_blocks) is applied to the text tokens here.

local OPS3 = { ["//="] = true }
local OPS2 = { ["=="] = true, ["!="] = true, ["<="] = true, [">="] = true,
               ["//"] = true, ["**"] = true }
local OPS1 = "+-*/%~<>=()[]{}.,:|"

local str_esc = { n = "\n", t = "\t", r = "\r", ["\\"] = "\\", ["'"] = "'", ['"'] = '"',
                  ["0"] = "\0", b = "\b", f = "\f", v = "\v", a = "\a" }

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
                     0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

local function lex(src, opts)
  local toks = {}
  local n = #src
  local pos, line = 1, 1
  local strip_next = false   -- previous tag ended with '-'
  local trim_next = false    -- previous block tag ended without '-'/'+' and trim_blocks is on

  local function count_lines(a, b)
    local _, k = src:sub(a, b):gsub("\n", "")
    line = line + k
  end

  local function push_text(text, raw_start, next_tag, lstrip_ok, rstrip_all)
    if strip_next then
      text = text:gsub("^%s+", "")
    elseif trim_next then
      text = text:gsub("^\r?\n", "")
    end
    strip_next, trim_next = false, false
    if rstrip_all then
      text = text:gsub("%s+$", "")
    elseif next_tag and lstrip_ok then
      -- lstrip_blocks: spaces and tabs between a line start and a block tag go
      local lead = text:match("\n([ \t]*)$")
      if lead then
        text = text:sub(1, #text - #lead)
      elseif text:match("^[ \t]*$") and (raw_start == 1 or src:sub(raw_start - 1, raw_start - 1) == "\n") then
        text = ""
      end
    end
    if text ~= "" then toks[#toks + 1] = { t = "text", v = text, line = line } end
  end

  -- Expression tokens up to the closing `close` ("}}" or "%}"); returns the
  -- position after it and the modifier char before it ('-', '+' or nil).
  local function lex_expr(p, close, open_line)
    local depth = 0
    while true do
      local ws = src:match("^%s*", p)
      count_lines(p, p + #ws - 1)
      p = p + #ws
      if p > n then raise("unclosed tag", open_line) end
      if depth == 0 then
        local c1 = src:sub(p, p)
        if (c1 == "-" or c1 == "+") and src:sub(p + 1, p + 2) == close then
          return p + 3, c1
        end
        if src:sub(p, p + 1) == close then return p + 2, nil end
      end
      local c = src:sub(p, p)
      if c:match("[%a_]") then
        local w = src:match("^[%w_]+", p)
        toks[#toks + 1] = { t = "name", v = w, line = line }
        p = p + #w
      elseif c:match("%d") then
        local num = src:match("^%d[%d_]*%.%d[%d_]*[eE][-+]?%d+", p) or src:match("^%d[%d_]*%.%d[%d_]*", p)
          or src:match("^%d[%d_]*[eE][-+]?%d+", p) or src:match("^%d[%d_]*", p)
        local v = tonumber((num:gsub("_", "")))
        if not v then raise("bad number '" .. num .. "'", line) end
        toks[#toks + 1] = { t = "number", v = v, line = line }
        p = p + #num
      elseif c == "'" or c == '"' then
        local parts, q, start_line = {}, c, line
        p = p + 1
        while true do
          if p > n then raise("unterminated string", start_line) end
          local ch = src:sub(p, p)
          if ch == q then p = p + 1 break end
          if ch == "\\" then
            local e = src:sub(p + 1, p + 1)
            if e == "u" and src:sub(p + 2, p + 5):match("^%x%x%x%x$") then
              parts[#parts + 1] = utf8_char(tonumber(src:sub(p + 2, p + 5), 16))
              p = p + 6
            elseif e == "x" and src:sub(p + 2, p + 3):match("^%x%x$") then
              parts[#parts + 1] = utf8_char(tonumber(src:sub(p + 2, p + 3), 16))
              p = p + 4
            elseif str_esc[e] then
              parts[#parts + 1] = str_esc[e]
              p = p + 2
            else
              parts[#parts + 1] = "\\" .. e -- Python keeps unknown escapes
              p = p + 2
            end
          else
            if ch == "\n" then line = line + 1 end
            parts[#parts + 1] = ch
            p = p + 1
          end
        end
        toks[#toks + 1] = { t = "string", v = table.concat(parts), line = start_line }
      else
        local op
        if OPS3[src:sub(p, p + 2)] then op = src:sub(p, p + 2)
        elseif OPS2[src:sub(p, p + 1)] then op = src:sub(p, p + 1)
        elseif OPS1:find(c, 1, true) then op = c
        else raise("unexpected character '" .. c .. "'", line) end
        if op == "(" or op == "[" or op == "{" then depth = depth + 1
        elseif op == ")" or op == "]" or op == "}" then depth = depth - 1 end
        if depth < 0 then raise("unbalanced '" .. op .. "'", line) end
        toks[#toks + 1] = { t = "op", v = op, line = line }
        p = p + #op
      end
    end
  end

  while pos <= n do
    local s = pos
    local tag
    while true do
      s = src:find("{", s, true)
      if not s then break end
      local c = src:sub(s + 1, s + 1)
      if c == "{" or c == "%" or c == "#" then tag = c break end
      s = s + 1
    end
    if not tag then
      push_text(src:sub(pos), pos, false)
      count_lines(pos, n)
      break
    end
    local mod = src:sub(s + 2, s + 2)
    local is_block = tag == "%" or tag == "#"
    push_text(src:sub(pos, s - 1), pos, true, is_block and mod ~= "+" and opts.lstrip_blocks, mod == "-")
    count_lines(pos, s - 1)
    local p = s + 2
    if mod == "-" or mod == "+" then p = p + 1 end
    local tag_line = line
    local close_mod
    if tag == "#" then
      local e = src:find("#}", p, true)
      if not e then raise("unclosed comment", tag_line) end
      count_lines(p, e)
      close_mod = src:sub(e - 1, e - 1)
      if close_mod ~= "-" and close_mod ~= "+" then close_mod = nil end
      pos = e + 2
    elseif tag == "{" then
      toks[#toks + 1] = { t = "var_begin", line = tag_line }
      pos, close_mod = lex_expr(p, "}}", tag_line)
      toks[#toks + 1] = { t = "var_end", line = line }
    else
      toks[#toks + 1] = { t = "block_begin", line = tag_line }
      local first = #toks + 1
      pos, close_mod = lex_expr(p, "%}", tag_line)
      toks[#toks + 1] = { t = "block_end", line = line }
      -- {% raw %}...{% endraw %}: the body is text, verbatim
      if toks[first] and toks[first].t == "name" and toks[first].v == "raw" and first + 1 == #toks then
        for i = #toks, first - 1, -1 do toks[i] = nil end
        local a, b, m1 = src:find("{%%([-+]?)%s*endraw%s*[-+]?%%}", pos)
        if not a then raise("missing endraw", tag_line) end
        local body = src:sub(pos, a - 1)
        if close_mod == "-" then body = body:gsub("^%s+", "") end
        if m1 == "-" then body = body:gsub("%s+$", "") end
        if body ~= "" then toks[#toks + 1] = { t = "text", v = body, line = line } end
        count_lines(pos, b)
        close_mod = src:sub(b - 2, b - 2)
        if close_mod ~= "-" and close_mod ~= "+" then close_mod = nil end
        pos = b + 1
      end
    end
    strip_next = close_mod == "-"
    trim_next = is_block and close_mod == nil and opts.trim_blocks
  end
  toks[#toks + 1] = { t = "eof", line = line }
  return toks
end

---------------------------------------------------------------------------
-- Parser
---------------------------------------------------------------------------

local Parser = {}
Parser.__index = Parser

function Parser:peek(k) return self.toks[self.i + (k or 0)] end
function Parser:next()
  local t = self.toks[self.i]
  self.i = self.i + 1
  return t
end
function Parser:is_op(v, k)
  local t = self:peek(k)
  return t.t == "op" and t.v == v
end
function Parser:is_name(v, k)
  local t = self:peek(k)
  return t.t == "name" and t.v == v
end
function Parser:fail(msg, tok)
  raise(msg, (tok or self:peek()).line)
end
local function describe(t)
  if t.t == "eof" then return "end of template" end
  if t.t == "block_end" then return "end of statement" end
  if t.t == "var_end" then return "end of print statement" end
  if t.v ~= nil then return "'" .. tostring(t.v) .. "'" end
  return t.t
end
function Parser:expect_op(v)
  local t = self:next()
  if t.t ~= "op" or t.v ~= v then self:fail("expected '" .. v .. "', got " .. describe(t), t) end
  return t
end
function Parser:expect_name(v)
  local t = self:next()
  if t.t ~= "name" or (v and t.v ~= v) then
    self:fail("expected " .. (v and ("'" .. v .. "'") or "a name") .. ", got " .. describe(t), t)
  end
  return t
end
function Parser:expect(tt)
  local t = self:next()
  if t.t ~= tt then self:fail("expected " .. tt:gsub("_", " ") .. ", got " .. describe(t), t) end
  return t
end

local LITERALS = { ["true"] = true, ["True"] = true, ["false"] = false, ["False"] = false,
                   ["none"] = NONE, ["None"] = NONE }

-- Words that end an expression, so `x is divisibleby 3` style test
-- arguments do not swallow them.
local STOP_WORDS = { ["and"] = true, ["or"] = true, ["else"] = true, ["if"] = true,
                     ["in"] = true, ["is"] = true, ["not"] = true, ["recursive"] = true }

function Parser:expression(no_cond)
  local line = self:peek().line
  local e = self:or_expr()
  if not no_cond then
    while self:is_name("if") do
      self:next()
      local c = self:or_expr()
      local other
      if self:is_name("else") then
        self:next()
        other = self:expression()
      end
      e = { k = "cond", c = c, a = e, b = other, line = line }
    end
  end
  return e
end

function Parser:or_expr()
  local e = self:and_expr()
  while self:is_name("or") do
    local t = self:next()
    e = { k = "or", a = e, b = self:and_expr(), line = t.line }
  end
  return e
end

function Parser:and_expr()
  local e = self:not_expr()
  while self:is_name("and") do
    local t = self:next()
    e = { k = "and", a = e, b = self:not_expr(), line = t.line }
  end
  return e
end

function Parser:not_expr()
  if self:is_name("not") then
    local t = self:next()
    return { k = "not", e = self:not_expr(), line = t.line }
  end
  return self:compare()
end

local CMP = { ["=="] = true, ["!="] = true, ["<"] = true, [">"] = true, ["<="] = true, [">="] = true }

function Parser:compare()
  local line = self:peek().line
  local e = self:math1()
  local ops = {}
  while true do
    local t = self:peek()
    local op
    if t.t == "op" and CMP[t.v] then
      self:next()
      op = t.v
    elseif self:is_name("in") then
      self:next()
      op = "in"
    elseif self:is_name("not") and self:is_name("in", 1) then
      self:next(); self:next()
      op = "not in"
    else
      break
    end
    ops[#ops + 1] = { op = op, e = self:math1() }
  end
  if #ops == 0 then return e end
  return { k = "cmp", first = e, ops = ops, line = line }
end

function Parser:binary(sub, ops)
  local e = sub(self)
  while true do
    local t = self:peek()
    if t.t == "op" and ops[t.v] then
      self:next()
      e = { k = "bin", op = t.v, a = e, b = sub(self), line = t.line }
    else
      return e
    end
  end
end

local MATH1 = { ["+"] = true, ["-"] = true }
local CONCAT = { ["~"] = true }
local MATH2 = { ["*"] = true, ["/"] = true, ["//"] = true, ["%"] = true }
local POW = { ["**"] = true }

function Parser:math1() return self:binary(Parser.concat, MATH1) end
function Parser:concat() return self:binary(Parser.math2, CONCAT) end
function Parser:math2() return self:binary(Parser.pow, MATH2) end
function Parser:pow() return self:binary(Parser.unary, POW) end

-- Nesting limit, so a hostile template gets an error, not a stack overflow.
local MAX_DEPTH = 200

function Parser:enter()
  self.depth = self.depth + 1
  if self.depth > MAX_DEPTH then self:fail("nesting too deep") end
end

function Parser:unary(no_filter)
  self:enter()
  local t = self:peek()
  local e
  if t.t == "op" and (t.v == "-" or t.v == "+") then
    self:next()
    e = { k = "neg", e = self:unary(true), plus = t.v == "+", line = t.line }
  else
    e = self:primary()
  end
  e = self:postfix(e)
  if not no_filter then e = self:filters(e) end
  self.depth = self.depth - 1
  return e
end

function Parser:primary()
  local t = self:next()
  if t.t == "name" then
    if LITERALS[t.v] ~= nil then return { k = "lit", v = LITERALS[t.v], line = t.line } end
    return { k = "name", n = t.v, line = t.line }
  elseif t.t == "string" then
    local s = t.v
    while self:peek().t == "string" do s = s .. self:next().v end -- adjacent literals join
    return { k = "lit", v = s, line = t.line }
  elseif t.t == "number" then
    return { k = "lit", v = t.v, line = t.line }
  elseif t.t == "op" and t.v == "(" then
    if self:is_op(")") then
      self:next()
      return { k = "list", items = {}, line = t.line }
    end
    local e = self:expression()
    if self:is_op(",") then
      local items = { e }
      while self:is_op(",") do
        self:next()
        if self:is_op(")") then break end
        items[#items + 1] = self:expression()
      end
      e = { k = "list", items = items, line = t.line }
    end
    self:expect_op(")")
    return e
  elseif t.t == "op" and t.v == "[" then
    local items = {}
    while not self:is_op("]") do
      items[#items + 1] = self:expression()
      if not self:is_op(",") then break end
      self:next()
    end
    self:expect_op("]")
    return { k = "list", items = items, line = t.line }
  elseif t.t == "op" and t.v == "{" then
    local pairs_ = {}
    while not self:is_op("}") do
      local key = self:expression()
      self:expect_op(":")
      pairs_[#pairs_ + 1] = { key, self:expression() }
      if not self:is_op(",") then break end
      self:next()
    end
    self:expect_op("}")
    return { k = "dict", pairs = pairs_, line = t.line }
  end
  self:fail("unexpected " .. describe(t), t)
end

-- Call arguments after '(' : positional and name=value.
function Parser:call_args()
  local args, kwargs = {}, {}
  while not self:is_op(")") do
    if self:peek().t == "name" and self:is_op("=", 1) then
      local name = self:next().v
      self:next()
      kwargs[#kwargs + 1] = { name, self:expression() }
    else
      if #kwargs > 0 then self:fail("positional argument after keyword argument") end
      args[#args + 1] = self:expression()
    end
    if not self:is_op(",") then break end
    self:next()
  end
  self:expect_op(")")
  return args, kwargs
end

function Parser:postfix(e)
  while true do
    local t = self:peek()
    if t.t == "op" and t.v == "." then
      self:next()
      local name = self:next()
      if name.t == "name" then
        e = { k = "attr", obj = e, name = name.v, line = t.line }
      elseif name.t == "number" and is_int(name.v) then
        e = { k = "item", obj = e, key = { k = "lit", v = name.v }, line = t.line }
      else
        self:fail("expected attribute name after '.'", name)
      end
    elseif t.t == "op" and t.v == "[" then
      self:next()
      local parts, is_slice = { nil, nil, nil }, false
      local idx = 1
      while true do
        if self:is_op(":") then
          is_slice = true
          self:next()
          idx = idx + 1
          if idx > 3 then self:fail("bad slice") end
        elseif self:is_op("]") then
          break
        else
          parts[idx] = self:expression()
          if not self:is_op(":") then break end
        end
      end
      self:expect_op("]")
      if is_slice then
        e = { k = "slice", obj = e, a = parts[1], b = parts[2], c = parts[3], line = t.line }
      else
        if not parts[1] then self:fail("empty subscript", t) end
        e = { k = "item", obj = e, key = parts[1], line = t.line }
      end
    elseif t.t == "op" and t.v == "(" then
      self:next()
      local args, kwargs = self:call_args()
      e = { k = "call", fn = e, args = args, kwargs = kwargs, line = t.line }
    else
      return e
    end
  end
end

-- `| filter(args)` and `is [not] test args`, left to right.
function Parser:filters(e)
  while true do
    local t = self:peek()
    if t.t == "op" and t.v == "|" then
      self:next()
      local name = self:expect_name().v
      while self:is_op(".") do self:next() name = name .. "." .. self:expect_name().v end
      local args, kwargs = {}, {}
      if self:is_op("(") then
        self:next()
        args, kwargs = self:call_args()
      end
      e = { k = "filter", e = e, name = name, args = args, kwargs = kwargs, line = t.line }
    elseif t.t == "name" and t.v == "is" then
      self:next()
      local neg = false
      if self:is_name("not") then self:next() neg = true end
      local name = self:expect_name().v
      local args, kwargs = {}, {}
      if self:is_op("(") then
        self:next()
        args, kwargs = self:call_args()
      else
        local nt = self:peek()
        if nt.t == "string" or nt.t == "number" or (nt.t == "name" and not STOP_WORDS[nt.v])
          or (nt.t == "op" and (nt.v == "[" or nt.v == "{")) then
          args = { self:postfix(self:primary()) }
        end
      end
      e = { k = "test", e = e, name = name, args = args, kwargs = kwargs, neg = neg, line = t.line }
    else
      return e
    end
  end
end

-- Assignment targets: `a`, `a, b`, `ns.attr`.
function Parser:target(allow_attr)
  local first = self:expect_name()
  if allow_attr and self:is_op(".") then
    self:next()
    local attr = self:expect_name().v
    return { k = "attr_target", obj = first.v, attr = attr, line = first.line }
  end
  local names = { first.v }
  while self:is_op(",") do
    self:next()
    names[#names + 1] = self:expect_name().v
  end
  return { k = "names", names = names, line = first.line }
end

-- Statements up to one of the `ends` keywords; returns body, ending keyword.
function Parser:body(ends)
  local body = {}
  self:enter()
  while true do
    local t = self:peek()
    if t.t == "eof" then
      if ends then self:fail("unexpected end of template (missing '" .. ends[#ends] .. "')", t) end
      self.depth = self.depth - 1
      return body, nil
    elseif t.t == "text" then
      self:next()
      body[#body + 1] = { k = "text", v = t.v, line = t.line }
    elseif t.t == "var_begin" then
      self:next()
      local e = self:expression()
      if self:is_op(",") then -- {{ a, b }} prints a tuple
        local items = { e }
        while self:is_op(",") do self:next() items[#items + 1] = self:expression() end
        e = { k = "list", items = items, line = t.line }
      end
      self:expect("var_end")
      body[#body + 1] = { k = "out", e = e, line = t.line }
    elseif t.t == "block_begin" then
      local kw = self:peek(1)
      if kw.t ~= "name" then self:fail("expected a statement keyword", kw) end
      if ends then
        for _, e in ipairs(ends) do
          if kw.v == e then
            self:next(); self:next()
            self.depth = self.depth - 1
            return body, e
          end
        end
      end
      self:next(); self:next()
      local st = self:statement(kw)
      if st then body[#body + 1] = st end
    else
      self:fail("unexpected " .. describe(t), t)
    end
  end
end

local END_WORDS = { endif = true, endfor = true, ["elif"] = true, ["else"] = true, endset = true,
                    endmacro = true, endcall = true, endfilter = true, endgeneration = true }

function Parser:statement(kw)
  local w, line = kw.v, kw.line
  if w == "if" then
    local tests = {}
    local cond = self:expression()
    self:expect("block_end")
    local else_body
    while true do
      local b, ended = self:body({ "elif", "else", "endif" })
      tests[#tests + 1] = { cond, b }
      if ended == "endif" then self:expect("block_end") break end
      if ended == "else" then
        self:expect("block_end")
        else_body = self:body({ "endif" })
        self:expect("block_end")
        break
      end
      cond = self:expression()
      self:expect("block_end")
    end
    return { k = "if", tests = tests, else_body = else_body, line = line }
  elseif w == "for" then
    local target = self:target(false)
    self:expect_name("in")
    local iter = self:expression(true)
    local cond
    if self:is_name("if") then
      self:next()
      cond = self:expression(true)
    end
    if self:is_name("recursive") then self:fail("recursive loops are not supported") end
    self:expect("block_end")
    local b, ended = self:body({ "else", "endfor" })
    local else_body
    if ended == "else" then
      self:expect("block_end")
      else_body = self:body({ "endfor" })
    end
    self:expect("block_end")
    return { k = "for", target = target, iter = iter, cond = cond, body = b, else_body = else_body, line = line }
  elseif w == "set" then
    local target = self:target(true)
    if self:is_op("=") then
      self:next()
      local e = self:expression()
      if self:is_op(",") then
        local items = { e }
        while self:is_op(",") do self:next() items[#items + 1] = self:expression() end
        e = { k = "list", items = items, line = line }
      end
      self:expect("block_end")
      return { k = "set", target = target, e = e, line = line }
    end
    self:expect("block_end")
    local b = self:body({ "endset" })
    self:expect("block_end")
    return { k = "setblock", target = target, body = b, line = line }
  elseif w == "macro" then
    local name = self:expect_name().v
    self:expect_op("(")
    local params = {}
    while not self:is_op(")") do
      local p = self:expect_name().v
      local def
      if self:is_op("=") then self:next() def = self:expression() end
      params[#params + 1] = { p, def }
      if not self:is_op(",") then break end
      self:next()
    end
    self:expect_op(")")
    self:expect("block_end")
    local b = self:body({ "endmacro" })
    self:expect("block_end")
    return { k = "macro", name = name, params = params, body = b, line = line }
  elseif w == "break" or w == "continue" then
    self:expect("block_end")
    return { k = w, line = line }
  elseif w == "generation" then -- Hugging Face marker for assistant masks: render the body
    self:expect("block_end")
    local b = self:body({ "endgeneration" })
    self:expect("block_end")
    return { k = "block", body = b, line = line }
  elseif w == "filter" then
    local name = self:expect_name().v
    local args, kwargs = {}, {}
    if self:is_op("(") then self:next() args, kwargs = self:call_args() end
    self:expect("block_end")
    local b = self:body({ "endfilter" })
    self:expect("block_end")
    return { k = "filterblock", name = name, args = args, kwargs = kwargs, body = b, line = line }
  elseif w == "do" then
    local e = self:expression()
    self:expect("block_end")
    return { k = "do", e = e, line = line }
  elseif END_WORDS[w] then
    self:fail("unexpected '" .. w .. "'", kw)
  end
  self:fail("unknown statement '" .. w .. "'", kw)
end

local function parse(toks)
  local p = setmetatable({ toks = toks, i = 1, depth = 0 }, Parser)
  local body = p:body(nil)
  return body
end

---------------------------------------------------------------------------
-- Evaluator
---------------------------------------------------------------------------

-- A frame holds one scope's variables; `state` is shared by the whole render
-- (state.line: the statement being run, for errors raised without a line).
local function new_frame(parent) return { vars = {}, parent = parent, state = parent.state } end

local function lookup(frame, name)
  while frame do
    local v = frame.vars[name]
    if v ~= nil then return v end
    frame = frame.parent
  end
  return UNDEF
end

local function norm(v)
  if v == nil then return UNDEF end
  return v
end

local eval, exec_body
local FILTERS, TESTS, STR_METHODS, DICT_METHODS, LIST_METHODS = {}, {}, {}, {}, {}

local function call_value(fnv, args, kwargs, line)
  if type(fnv) == "table" and getmetatable(fnv) == FN_MT then
    return norm(fnv.fn(args, kwargs, line))
  end
  if type(fnv) == "function" then
    -- a Lua function passed in by the caller: positional arguments, plus the
    -- keyword arguments as a trailing table when there are any
    local a = {}
    for i = 1, #args do a[i] = args[i] end
    if next(kwargs) ~= nil then a[#a + 1] = kwargs end
    local ok, res = pcall(fnv, unpack(a, 1, #a))
    if not ok then
      if type(res) == "table" and res.jinja then error(res, 0) end
      raise("error in called function: " .. tostring(res), line)
    end
    return norm(res)
  end
  raise("'" .. type_name(fnv) .. "' object is not callable", line)
end

local function bound(method, self_v)
  return func(function(args, kwargs, line) return method(self_v, args, kwargs, line) end)
end

local function get_attr(obj, name, line)
  if obj == UNDEF then raise("undefined value has no attribute '" .. name .. "'", line) end
  if obj == NONE then raise("None has no attribute '" .. name .. "'", line) end
  local t = type(obj)
  if t == "string" then
    local m = STR_METHODS[name]
    if m then return bound(m, obj) end
    return UNDEF
  end
  if t == "table" then
    local mt = getmetatable(obj)
    if mt == NS_MT or mt == LOOP_MT then return norm(obj[name]) end
    if mt == FN_MT then return UNDEF end
    if is_list(obj) and not is_dict(obj) then
      local m = LIST_METHODS[name]
      if m then return bound(m, obj) end
      return UNDEF
    end
    local v = obj[name]
    if v ~= nil then return v end
    local m = DICT_METHODS[name]
    if m then return bound(m, obj) end
    return UNDEF
  end
  return UNDEF
end

local function get_item(obj, key, line)
  if obj == UNDEF then raise("undefined value has no item " .. py_repr(key), line) end
  if obj == NONE then raise("None is not subscriptable", line) end
  local t = type(obj)
  if t == "string" then
    if not is_int(key) then raise("string indices must be integers", line) end
    local cs = chars(obj)
    local i = key < 0 and key + #cs or key
    return norm(cs[i + 1])
  end
  if t == "table" then
    local mt = getmetatable(obj)
    if mt == NS_MT or mt == LOOP_MT then return norm(obj[key]) end
    if is_list(obj) and type(key) == "number" then
      if not is_int(key) then raise("list indices must be integers", line) end
      local i = key < 0 and key + #obj or key
      if i < 0 then return UNDEF end
      return norm(obj[i + 1])
    end
    local v = obj[key]
    if v ~= nil then return v end
    if type(key) == "string" then return get_attr(obj, key, line) end
    return UNDEF
  end
  raise("'" .. type_name(obj) .. "' object is not subscriptable", line)
end

local function to_num(v, what, line)
  if type(v) == "number" then return v end
  if type(v) == "boolean" then return v and 1 or 0 end
  raise("unsupported operand type for " .. what .. ": '" .. type_name(v) .. "'", line)
end

local function arith(op, a, b, line)
  if op == "+" then
    if type(a) == "number" and type(b) == "number" then return a + b end
    if type(a) == "string" and type(b) == "string" then return a .. b end
    if is_list(a) and is_list(b) and type(a) == "table" and type(b) == "table" then
      local out = M.list()
      for i = 1, #a do out[#out + 1] = a[i] end
      for i = 1, #b do out[#out + 1] = b[i] end
      return out
    end
    raise("cannot add '" .. type_name(a) .. "' and '" .. type_name(b) .. "'", line)
  elseif op == "~" then
    return to_str(a) .. to_str(b)
  elseif op == "*" then
    if type(a) == "string" and is_int(b) then return string.rep(a, math.max(b, 0)) end
    if type(b) == "string" and is_int(a) then return string.rep(b, math.max(a, 0)) end
    if type(a) == "table" and is_list(a) and is_int(b) then
      local out = M.list()
      for _ = 1, b do for i = 1, #a do out[#out + 1] = a[i] end end
      return out
    end
    return to_num(a, "*", line) * to_num(b, "*", line)
  end
  local x, y = to_num(a, op, line), to_num(b, op, line)
  if op == "-" then return x - y end
  if op == "**" then
    local r = x ^ y
    if is_int(x) and is_int(y) and y >= 0 and math.tointeger then r = math.tointeger(r) or r end
    return r
  end
  if y == 0 then raise("division by zero", line) end
  if op == "/" then return (x + 0.0) / y end
  if op == "//" then return math.floor(x / y) end
  if op == "%" then return x % y end
  raise("unknown operator " .. op, line)
end

local function compare(op, a, b, line)
  if op == "==" then return equal(a, b) end
  if op == "!=" then return not equal(a, b) end
  if op == "in" then return contains(b, a, line) end
  if op == "not in" then return not contains(b, a, line) end
  local ta, tb = type(a), type(b)
  if not ((ta == "number" and tb == "number") or (ta == "string" and tb == "string")) then
    raise("'" .. op .. "' not supported between '" .. type_name(a) .. "' and '" .. type_name(b) .. "'", line)
  end
  if op == "<" then return a < b end
  if op == ">" then return a > b end
  if op == "<=" then return a <= b end
  return a >= b
end

local function eval_args(node, frame)
  local args, kwargs = {}, {}
  for i, a in ipairs(node.args) do args[i] = eval(a, frame) end
  for _, kv in ipairs(node.kwargs) do kwargs[kv[1]] = eval(kv[2], frame) end
  return args, kwargs
end

local function do_slice(obj, a, b, c, line)
  local function num(x)
    if x == nil or x == NONE then return nil end
    if not is_int(x) then raise("slice indices must be integers", line) end
    return x
  end
  if type(obj) == "string" then
    local cs = chars(obj)
    local out = {}
    for _, i in ipairs(slice_indices(#cs, num(a), num(b), num(c))) do out[#out + 1] = cs[i + 1] end
    return table.concat(out)
  end
  if type(obj) == "table" and is_list(obj) then
    local out = M.list()
    for _, i in ipairs(slice_indices(#obj, num(a), num(b), num(c))) do out[#out + 1] = obj[i + 1] end
    return out
  end
  raise("'" .. type_name(obj) .. "' object cannot be sliced", line)
end

-- Source-like text of an expression, for "'x.y' is undefined" messages.
local function expr_text(n, depth)
  depth = depth or 0
  if depth > 8 then return "..." end
  if n.k == "name" then return n.n end
  if n.k == "attr" then return expr_text(n.obj, depth + 1) .. "." .. n.name end
  if n.k == "item" and n.key.k == "lit" then
    return expr_text(n.obj, depth + 1) .. "[" .. py_repr(n.key.v) .. "]"
  end
  return nil
end

-- Raise "'<expr>' is undefined" when an operand that must exist does not.
local function need_defined(v, n)
  if v ~= UNDEF then return v end
  local text = expr_text(n)
  if text then raise(text .. " is undefined", n.line) end
  return v
end

local EVAL = {}

EVAL.lit = function(n) return n.v end
EVAL.name = function(n, frame) return lookup(frame, n.n) end
EVAL.list = function(n, frame)
  local out = M.list()
  for i, e in ipairs(n.items) do out[i] = eval(e, frame) end
  return out
end
EVAL.dict = function(n, frame)
  local out = M.dict()
  for _, kv in ipairs(n.pairs) do
    local k = eval(kv[1], frame)
    if type(k) ~= "string" and type(k) ~= "number" and type(k) ~= "boolean" then
      raise("unhashable dict key of type '" .. type_name(k) .. "'", n.line)
    end
    out[k] = eval(kv[2], frame)
  end
  return out
end
EVAL.attr = function(n, frame) return get_attr(need_defined(eval(n.obj, frame), n.obj), n.name, n.line) end
EVAL.item = function(n, frame)
  return get_item(need_defined(eval(n.obj, frame), n.obj), eval(n.key, frame), n.line)
end
EVAL.slice = function(n, frame)
  local obj = need_defined(eval(n.obj, frame), n.obj)
  local a = n.a and eval(n.a, frame)
  local b = n.b and eval(n.b, frame)
  local c = n.c and eval(n.c, frame)
  return do_slice(obj, a, b, c, n.line)
end
EVAL.call = function(n, frame)
  local fnv = eval(n.fn, frame)
  if fnv == UNDEF then
    local what = n.fn.k == "name" and ("'" .. n.fn.n .. "'") or n.fn.k == "attr" and ("'" .. n.fn.name .. "'") or "value"
    raise(what .. " is undefined (not a function)", n.line)
  end
  local args, kwargs = eval_args(n, frame)
  return call_value(fnv, args, kwargs, n.line)
end
EVAL.filter = function(n, frame)
  local f = FILTERS[n.name]
  if not f then raise("unknown filter '" .. n.name .. "'", n.line) end
  local v = eval(n.e, frame)
  local args, kwargs = eval_args(n, frame)
  return norm(f(v, args, kwargs, n.line, frame))
end
EVAL.test = function(n, frame)
  local f = TESTS[n.name]
  if not f then raise("unknown test '" .. n.name .. "'", n.line) end
  local v = eval(n.e, frame)
  local args = eval_args(n, frame)
  local r = f(v, args, n.line) and true or false
  if n.neg then return not r end
  return r
end
EVAL.bin = function(n, frame)
  local a, b = eval(n.a, frame), eval(n.b, frame)
  if n.op ~= "~" then
    need_defined(a, n.a)
    need_defined(b, n.b)
  end
  return arith(n.op, a, b, n.line)
end
EVAL.neg = function(n, frame)
  local v = to_num(eval(n.e, frame), "unary " .. (n.plus and "+" or "-"), n.line)
  if n.plus then return v end
  return -v
end
EVAL["not"] = function(n, frame) return not truthy(eval(n.e, frame)) end
EVAL["and"] = function(n, frame)
  local a = eval(n.a, frame)
  if not truthy(a) then return a end
  return eval(n.b, frame)
end
EVAL["or"] = function(n, frame)
  local a = eval(n.a, frame)
  if truthy(a) then return a end
  return eval(n.b, frame)
end
EVAL.cond = function(n, frame)
  if truthy(eval(n.c, frame)) then return eval(n.a, frame) end
  if n.b then return eval(n.b, frame) end
  return UNDEF
end
EVAL.cmp = function(n, frame)
  local left = eval(n.first, frame)
  for _, o in ipairs(n.ops) do
    local right = eval(o.e, frame)
    if o.op == "in" or o.op == "not in" then need_defined(right, o.e) end
    if not compare(o.op, left, right, n.line) then return false end
    left = right
  end
  return true
end

-- Errors raised without a line get the line of their statement (exec_body).
function eval(n, frame)
  local v = EVAL[n.k](n, frame)
  if v == nil then return UNDEF end
  return v
end

local function assign(frame, target, value, line)
  if target.k == "attr_target" then
    local obj = lookup(frame, target.obj)
    if type(obj) ~= "table" or getmetatable(obj) ~= NS_MT then
      raise("cannot assign attribute '" .. target.attr .. "' on '" .. target.obj ..
            "': only namespace() objects take attribute assignment", line)
    end
    obj[target.attr] = value
    return
  end
  local names = target.names
  if #names == 1 then
    frame.vars[names[1]] = value
    return
  end
  local items = iter_items(value, line)
  if #items ~= #names then
    raise("cannot unpack " .. #items .. " values into " .. #names .. " names", line)
  end
  for i, nm in ipairs(names) do frame.vars[nm] = items[i] end
end

local EXEC = {}

EXEC.text = function(n, frame, out) out[#out + 1] = n.v end
EXEC.out = function(n, frame, out)
  out[#out + 1] = to_str(eval(n.e, frame))
end
EXEC["if"] = function(n, frame, out)
  for _, tb in ipairs(n.tests) do
    if truthy(eval(tb[1], frame)) then return exec_body(tb[2], frame, out) end
  end
  if n.else_body then return exec_body(n.else_body, frame, out) end
end
EXEC.block = function(n, frame, out) return exec_body(n.body, frame, out) end
EXEC.set = function(n, frame) assign(frame, n.target, eval(n.e, frame), n.line) end
EXEC.setblock = function(n, frame)
  local buf = {}
  exec_body(n.body, frame, buf)
  frame.state.line = n.line
  assign(frame, n.target, table.concat(buf), n.line)
end
EXEC["do"] = function(n, frame) eval(n.e, frame) end
EXEC["break"] = function() return "break" end
EXEC["continue"] = function() return "continue" end

EXEC["for"] = function(n, frame, out)
  local items = iter_items(eval(n.iter, frame), n.line)
  if n.cond then
    local kept = {}
    for _, it in ipairs(items) do
      local f = new_frame(frame)
      assign(f, n.target, it, n.line)
      if truthy(eval(n.cond, f)) then kept[#kept + 1] = it end
    end
    items = kept
  end
  if #items == 0 then
    if n.else_body then return exec_body(n.else_body, frame, out) end
    return
  end
  local len = #items
  local loop = setmetatable({ length = len }, LOOP_MT)
  loop.cycle = func(function(args)
    if #args == 0 then return UNDEF end
    return args[(loop.index0 % #args) + 1]
  end)
  for i, it in ipairs(items) do
    loop.index, loop.index0 = i, i - 1
    loop.revindex, loop.revindex0 = len - i + 1, len - i
    loop.first, loop.last = i == 1, i == len
    loop.previtem = i > 1 and items[i - 1] or nil
    loop.nextitem = i < len and items[i + 1] or nil
    local f = new_frame(frame)
    f.vars.loop = loop
    assign(f, n.target, it, n.line)
    local sig = exec_body(n.body, f, out)
    if sig == "break" then break end
  end
end

EXEC.macro = function(n, frame)
  local defn_frame = frame
  local active = 0 -- calls in progress: recursion gets an error before the stack ends
  frame.vars[n.name] = func(function(args, kwargs, line)
    if active >= MAX_DEPTH then raise("macro '" .. n.name .. "' recursion too deep", line) end
    local f = new_frame(defn_frame)
    for i, p in ipairs(n.params) do
      local v = args[i]
      if v == nil then v = kwargs[p[1]] end
      if v == nil and p[2] then v = eval(p[2], f) end
      f.vars[p[1]] = v == nil and UNDEF or v
    end
    if #args > #n.params then raise("macro '" .. n.name .. "' takes " .. #n.params .. " arguments", line) end
    local buf = {}
    local state = f.state
    local caller_line = state.line
    active = active + 1
    exec_body(n.body, f, buf)
    -- an error unwinds the whole render (this closure lives for one render
    -- only), so the count needs no restoring on that path
    active = active - 1
    state.line = caller_line
    return table.concat(buf)
  end)
end

EXEC.filterblock = function(n, frame, out)
  local f = FILTERS[n.name]
  if not f then raise("unknown filter '" .. n.name .. "'", n.line) end
  local buf = {}
  exec_body(n.body, frame, buf)
  frame.state.line = n.line
  local args, kwargs = eval_args(n, frame)
  out[#out + 1] = to_str(f(table.concat(buf), args, kwargs, n.line, frame))
end

function exec_body(body, frame, out)
  local state = frame.state
  for _, n in ipairs(body) do
    state.line = n.line
    local sig = EXEC[n.k](n, frame, out)
    if sig then return sig end
  end
end

---------------------------------------------------------------------------
-- Filters, tests, methods, globals
---------------------------------------------------------------------------

local function want_str(v, what, line)
  if type(v) ~= "string" then raise(what .. " expects a string, got '" .. type_name(v) .. "'", line) end
  return v
end

-- Python str.strip family; chars = nil strips whitespace.
local function strip_chars(s, chars_, left, right)
  if chars_ == nil or chars_ == NONE or chars_ == UNDEF then
    if left then s = s:gsub("^%s+", "") end
    if right then s = s:gsub("%s+$", "") end
    return s
  end
  local set = {}
  for _, c in ipairs(chars(chars_)) do set[c] = true end
  local cs = chars(s)
  local a, b = 1, #cs
  if left then while a <= b and set[cs[a]] do a = a + 1 end end
  if right then while b >= a and set[cs[b]] do b = b - 1 end end
  return table.concat(cs, "", a, b)
end

local function split(s, sep, maxsplit)
  local out = M.list()
  maxsplit = (maxsplit == nil or maxsplit == NONE) and -1 or maxsplit
  if sep == nil or sep == NONE then
    local rest = s:gsub("^%s+", "")
    while rest ~= "" do
      if maxsplit >= 0 and #out >= maxsplit then
        out[#out + 1] = rest:gsub("%s+$", "")
        return out
      end
      local w, after = rest:match("^(%S+)%s*(.*)$")
      out[#out + 1] = w
      rest = after
    end
    return out
  end
  if sep == "" then raise("empty separator") end
  local p = 1
  while true do
    if maxsplit >= 0 and #out >= maxsplit then break end
    local a, b = s:find(sep, p, true)
    if not a then break end
    out[#out + 1] = s:sub(p, a - 1)
    p = b + 1
  end
  out[#out + 1] = s:sub(p)
  return out
end

local function replace(s, old, new, count)
  count = (count == nil or count == NONE) and -1 or count
  if old == "" then
    local cs = chars(s)
    local out = { new }
    for i, c in ipairs(cs) do
      out[#out + 1] = c
      if count < 0 or i < count then out[#out + 1] = new end
    end
    return table.concat(out)
  end
  local parts, p, n = {}, 1, 0
  while count < 0 or n < count do
    local a, b = s:find(old, p, true)
    if not a then break end
    parts[#parts + 1] = s:sub(p, a - 1)
    parts[#parts + 1] = new
    p = b + 1
    n = n + 1
  end
  parts[#parts + 1] = s:sub(p)
  return table.concat(parts)
end

local function title(s)
  return (s:gsub("(%w)(%w*)", function(a, b) return a:upper() .. b:lower() end))
end

STR_METHODS.split = function(s, a) return split(s, a[1], a[2]) end
STR_METHODS.rsplit = function(s, a, _, line)
  if a[2] ~= nil and a[2] ~= NONE and a[2] >= 0 then
    raise("rsplit with maxsplit is not supported", line)
  end
  return split(s, a[1])
end
STR_METHODS.startswith = function(s, a, _, line)
  local p = a[1]
  if type(p) == "table" then
    for _, x in ipairs(p) do if s:sub(1, #x) == x then return true end end
    return false
  end
  return s:sub(1, #want_str(p, "startswith", line)) == p
end
STR_METHODS.endswith = function(s, a, _, line)
  local p = a[1]
  if type(p) == "table" then
    for _, x in ipairs(p) do if x == "" or s:sub(-#x) == x then return true end end
    return false
  end
  p = want_str(p, "endswith", line)
  return p == "" or s:sub(-#p) == p
end
STR_METHODS.strip = function(s, a) return strip_chars(s, a[1], true, true) end
STR_METHODS.lstrip = function(s, a) return strip_chars(s, a[1], true, false) end
STR_METHODS.rstrip = function(s, a) return strip_chars(s, a[1], false, true) end
STR_METHODS.upper = function(s) return s:upper() end
STR_METHODS.lower = function(s) return s:lower() end
STR_METHODS.title = function(s) return title(s) end
STR_METHODS.capitalize = function(s) return s:sub(1, 1):upper() .. s:sub(2):lower() end
STR_METHODS.replace = function(s, a) return replace(s, want_str(a[1], "replace"), want_str(a[2], "replace"), a[3]) end
STR_METHODS.find = function(s, a, _, line)
  local i = s:find(want_str(a[1], "find", line), 1, true)
  if not i then return -1 end
  return strlen(s:sub(1, i - 1))
end
STR_METHODS.count = function(s, a, _, line)
  local sub = want_str(a[1], "count", line)
  if sub == "" then return strlen(s) + 1 end
  local n, p = 0, 1
  while true do
    local i, j = s:find(sub, p, true)
    if not i then return n end
    n, p = n + 1, j + 1
  end
end
STR_METHODS.join = function(s, a, _, line)
  local parts = {}
  for i, x in ipairs(iter_items(a[1], line)) do parts[i] = to_str(x) end
  return table.concat(parts, s)
end
STR_METHODS.isdigit = function(s) return s ~= "" and s:match("^%d+$") ~= nil end
STR_METHODS.isspace = function(s) return s ~= "" and s:match("^%s+$") ~= nil end

DICT_METHODS.items = function(d)
  local out = M.list()
  for _, k in ipairs(sorted_keys(d)) do out[#out + 1] = M.list({ k, d[k] }) end
  return out
end
DICT_METHODS.keys = function(d) return M.list(sorted_keys(d)) end
DICT_METHODS.values = function(d)
  local out = M.list()
  for _, k in ipairs(sorted_keys(d)) do out[#out + 1] = d[k] end
  return out
end
DICT_METHODS.get = function(d, a)
  local v = d[a[1]]
  if v == nil then
    if a[2] == nil then return NONE end
    return a[2]
  end
  return v
end

LIST_METHODS.index = function(l, a, _, line)
  for i = 1, #l do if equal(l[i], a[1]) then return i - 1 end end
  raise("value is not in list", line)
end
LIST_METHODS.count = function(l, a)
  local n = 0
  for i = 1, #l do if equal(l[i], a[1]) then n = n + 1 end end
  return n
end

TESTS.defined = function(v) return v ~= UNDEF end
TESTS.undefined = function(v) return v == UNDEF end
TESTS.none = function(v) return v == NONE end
TESTS.string = function(v) return type(v) == "string" end
TESTS.number = function(v) return type(v) == "number" end
TESTS.integer = function(v) return is_int(v) end
TESTS.float = function(v) return type(v) == "number" and not is_int(v) end
TESTS.boolean = function(v) return type(v) == "boolean" end
TESTS["true"] = function(v) return v == true end
TESTS["false"] = function(v) return v == false end
TESTS.mapping = function(v) return is_dict(v) end
TESTS.sequence = function(v) return type(v) == "string" or is_list(v) end
TESTS.iterable = function(v) return type(v) == "string" or is_list(v) or is_dict(v) end
TESTS.callable = function(v) return type(v) == "function" or (type(v) == "table" and getmetatable(v) == FN_MT) end
TESTS.odd = function(v, _, line) return to_num(v, "odd", line) % 2 == 1 end
TESTS.even = function(v, _, line) return to_num(v, "even", line) % 2 == 0 end
TESTS.divisibleby = function(v, a, line) return to_num(v, "divisibleby", line) % to_num(a[1], "divisibleby", line) == 0 end
TESTS.eq = function(v, a) return equal(v, a[1]) end
TESTS.ne = function(v, a) return not equal(v, a[1]) end
TESTS.lt = function(v, a, line) return compare("<", v, a[1], line) end
TESTS.le = function(v, a, line) return compare("<=", v, a[1], line) end
TESTS.gt = function(v, a, line) return compare(">", v, a[1], line) end
TESTS.ge = function(v, a, line) return compare(">=", v, a[1], line) end
TESTS["in"] = function(v, a, line) return contains(a[1], v, line) end
TESTS.sameas = function(v, a) return v == a[1] end
TESTS.lower = function(v) return type(v) == "string" and v:lower() == v end
TESTS.upper = function(v) return type(v) == "string" and v:upper() == v end
TESTS.equalto, TESTS["=="], TESTS.greaterthan, TESTS.lessthan = TESTS.eq, TESTS.eq, TESTS.gt, TESTS.lt

local function attr_path(v, path, line)
  for part in tostring(path):gmatch("[^.]+") do
    local key = tonumber(part)
    if key and is_list(v) then v = get_item(v, key, line) else v = get_item(v, part, line) end
  end
  return v
end

local function select_items(v, args, line, want, by_attr)
  local out = M.list()
  local attr, tname, rest
  if by_attr then
    attr, tname = args[1], args[2]
    rest = { unpack(args, 3) }
  else
    tname = args[1]
    rest = { unpack(args, 2) }
  end
  local test
  if tname ~= nil then
    test = TESTS[tname]
    if not test then raise("unknown test '" .. tostring(tname) .. "'", line) end
  end
  for _, it in ipairs(iter_items(v, line)) do
    local x = by_attr and attr_path(it, attr, line) or it
    local r
    if test then r = test(x, rest, line) else r = truthy(x) end
    if (r and true or false) == want then out[#out + 1] = it end
  end
  return out
end

FILTERS.trim = function(v, a) return strip_chars(to_str(v), a[1], true, true) end
FILTERS.strip = FILTERS.trim
FILTERS.length = function(v, _, _, line) return length(v, line) end
FILTERS.count = FILTERS.length
FILTERS.tojson = function(v, a, kw)
  local indent = kw.indent or a[1]
  if indent == NONE then indent = nil end
  return to_json(v, indent)
end
FILTERS.string = function(v) return to_str(v) end
FILTERS.upper = function(v) return to_str(v):upper() end
FILTERS.lower = function(v) return to_str(v):lower() end
FILTERS.capitalize = function(v) local s = to_str(v) return s:sub(1, 1):upper() .. s:sub(2):lower() end
FILTERS.title = function(v) return title(to_str(v)) end
FILTERS.replace = function(v, a, _, line)
  return replace(to_str(v), to_str(a[1]), to_str(a[2]), a[3] and to_num(a[3], "replace", line))
end
FILTERS.default = function(v, a, kw)
  local def = a[1]
  if def == nil then def = "" end
  local boolean = a[2]
  if boolean == nil then boolean = kw.boolean end
  if v == UNDEF or (truthy(boolean) and not truthy(v)) then return def end
  return v
end
FILTERS.d = FILTERS.default
FILTERS.first = function(v, _, _, line)
  local items = iter_items(v, line)
  return norm(items[1])
end
FILTERS.last = function(v, _, _, line)
  local items = iter_items(v, line)
  return norm(items[#items])
end
FILTERS.join = function(v, a, kw, line)
  local sep = a[1] or kw.d or ""
  local attr = a[2] or kw.attribute
  local parts = {}
  for i, x in ipairs(iter_items(v, line)) do
    if attr then x = attr_path(x, attr, line) end
    parts[i] = to_str(x)
  end
  return table.concat(parts, to_str(sep))
end
FILTERS.items = function(v, _, _, line)
  if v == UNDEF then return M.list() end
  if not is_dict(v) then
    if is_list(v) and #v == 0 then return M.list() end
    raise("items expects a mapping, got '" .. type_name(v) .. "'", line)
  end
  return DICT_METHODS.items(v)
end
FILTERS.dictsort = FILTERS.items
FILTERS.safe = function(v) return v end
FILTERS.e = function(v) return v end -- no autoescaping in chat templates
FILTERS.escape = FILTERS.e
FILTERS.list = function(v, _, _, line) return M.list(iter_items(v, line)) end
FILTERS.abs = function(v, _, _, line) return math.abs(to_num(v, "abs", line)) end
FILTERS.int = function(v, a)
  local n
  if type(v) == "number" then n = v
  elseif type(v) == "string" then n = tonumber((v:gsub("^%s+", ""):gsub("%s+$", ""))) end
  if not n then return a[1] or 0 end
  n = n >= 0 and math.floor(n) or math.ceil(n)
  return math.tointeger and math.tointeger(n) or n
end
FILTERS.float = function(v, a)
  local n = type(v) == "number" and v or (type(v) == "string" and tonumber(v))
  if not n then return a[1] or 0.0 end
  return n + 0.0
end
FILTERS.round = function(v, a, kw, line)
  local x = to_num(v, "round", line)
  local prec = a[1] or kw.precision or 0
  local method = a[2] or kw.method or "common"
  local m = 10 ^ prec
  local r
  if method == "floor" then r = math.floor(x * m) / m
  elseif method == "ceil" then r = math.ceil(x * m) / m
  else r = (x >= 0 and math.floor(x * m + 0.5) or -math.floor(-x * m + 0.5)) / m end
  return r + 0.0
end
FILTERS.reverse = function(v, _, _, line)
  if type(v) == "string" then
    local cs = chars(v)
    local out = {}
    for i = #cs, 1, -1 do out[#out + 1] = cs[i] end
    return table.concat(out)
  end
  local items = iter_items(v, line)
  local out = M.list()
  for i = #items, 1, -1 do out[#out + 1] = items[i] end
  return out
end
FILTERS.sort = function(v, a, kw, line)
  local items = iter_items(v, line)
  local rev = a[1] or kw.reverse
  local attr = kw.attribute or a[3]
  local keyed = {}
  for i, x in ipairs(items) do keyed[i] = { attr and attr_path(x, attr, line) or x, i, x } end
  table.sort(keyed, function(p, q)
    if equal(p[1], q[1]) then return p[2] < q[2] end
    local lt = compare("<", p[1], q[1], line)
    if truthy(rev) then return not lt end
    return lt
  end)
  local out = M.list()
  for i, k in ipairs(keyed) do out[i] = k[3] end
  return out
end
FILTERS.unique = function(v, _, _, line)
  local out = M.list()
  for _, x in ipairs(iter_items(v, line)) do
    if not contains(out, x, line) then out[#out + 1] = x end
  end
  return out
end
FILTERS.sum = function(v, a, kw, line)
  local total = a[2] or kw.start or 0
  local attr = a[1] or kw.attribute
  for _, x in ipairs(iter_items(v, line)) do
    if attr then x = attr_path(x, attr, line) end
    total = arith("+", total, x, line)
  end
  return total
end
FILTERS.min = function(v, _, _, line)
  local items = iter_items(v, line)
  local best = items[1]
  for i = 2, #items do if compare("<", items[i], best, line) then best = items[i] end end
  return norm(best)
end
FILTERS.max = function(v, _, _, line)
  local items = iter_items(v, line)
  local best = items[1]
  for i = 2, #items do if compare(">", items[i], best, line) then best = items[i] end end
  return norm(best)
end
FILTERS.select = function(v, a, _, line) return select_items(v, a, line, true, false) end
FILTERS.reject = function(v, a, _, line) return select_items(v, a, line, false, false) end
FILTERS.selectattr = function(v, a, _, line) return select_items(v, a, line, true, true) end
FILTERS.rejectattr = function(v, a, _, line) return select_items(v, a, line, false, true) end
FILTERS.map = function(v, a, kw, line, frame)
  local out = M.list()
  local items = iter_items(v, line)
  if kw.attribute then
    for i, x in ipairs(items) do
      local y = attr_path(x, kw.attribute, line)
      if y == UNDEF and kw.default ~= nil then y = kw.default end
      out[i] = y
    end
    return out
  end
  local f = FILTERS[a[1]]
  if not f then raise("unknown filter '" .. tostring(a[1]) .. "'", line) end
  local rest = { unpack(a, 2) }
  for i, x in ipairs(items) do out[i] = norm(f(x, rest, {}, line, frame)) end
  return out
end
FILTERS.indent = function(v, a, kw)
  local width = a[1] or kw.width or 4
  local first = a[2] or kw.first or false
  local blank = a[3] or kw.blank or false
  local pad = type(width) == "string" and width or string.rep(" ", width)
  local s = to_str(v)
  local lines = split(s, "\n")
  for i, l in ipairs(lines) do
    if (i > 1 or truthy(first)) and (l ~= "" or truthy(blank)) then lines[i] = pad .. l end
  end
  return table.concat(lines, "\n")
end
FILTERS.wordcount = function(v)
  local n = 0
  for _ in to_str(v):gmatch("%S+") do n = n + 1 end
  return n
end
FILTERS.center = function(v, a)
  local s, w = to_str(v), a[1] or 80
  local n = strlen(s)
  if n >= w then return s end
  local left = math.floor((w - n) / 2)
  return string.rep(" ", left) .. s .. string.rep(" ", w - n - left)
end

local GLOBALS = {}

GLOBALS.namespace = func(function(args, kwargs, line)
  local ns = setmetatable({}, NS_MT)
  if args[1] ~= nil then
    if not is_dict(args[1]) then raise("namespace() takes a mapping or keyword arguments", line) end
    for k, v in pairs(args[1]) do ns[k] = v end
  end
  for k, v in pairs(kwargs) do ns[k] = v end
  return ns
end)
GLOBALS.dict = func(function(args, kwargs)
  local d = M.dict()
  if args[1] ~= nil and is_dict(args[1]) then for k, v in pairs(args[1]) do d[k] = v end end
  for k, v in pairs(kwargs) do d[k] = v end
  return d
end)
GLOBALS.range = func(function(args, _, line)
  local a, b, step = args[1], args[2], args[3] or 1
  if b == nil then a, b = 0, a end
  a, b, step = to_num(a, "range", line), to_num(b, "range", line), to_num(step, "range", line)
  if step == 0 then raise("range() step must not be zero", line) end
  local out = M.list()
  if (b - a) / step > 100000 then raise("range() too large", line) end
  for i = a, b - (step > 0 and 1 or -1), step do out[#out + 1] = i end
  return out
end)
GLOBALS.raise_exception = func(function(args, _, line)
  raise("raise_exception: " .. to_str(args[1]), line)
end)
GLOBALS.strftime_now = func(function(args)
  return os.date(to_str(args[1] or "%Y-%m-%d"))
end)

M.filters, M.tests, M.globals = FILTERS, TESTS, GLOBALS

---------------------------------------------------------------------------
-- Public API
---------------------------------------------------------------------------

local function err_msg(e, line)
  if type(e) == "table" and e.jinja then
    line = e.line or line
    return "jinja: " .. e.jinja .. (line and (" at line " .. line) or "")
  end
  local msg = tostring(e)
  if msg:find("stack overflow", 1, true) then
    return "jinja: template nests or recurses too deeply" .. (line and (" at line " .. line) or "")
  end
  return "jinja: internal error: " .. msg .. (line and (" at line " .. line) or "")
end

local Template = {}
Template.__index = Template

--- Compiles a template. opts: trim_blocks, lstrip_blocks (both false by
--- default, as in Jinja; chat templates want both on), keep_trailing_newline.
--- Returns a template object or nil, message.
function M.compile(src, opts)
  opts = opts or {}
  if type(src) ~= "string" then return nil, "jinja: template must be a string" end
  if not opts.keep_trailing_newline then src = src:gsub("\r?\n$", "") end
  local ok, res = pcall(function() return parse(lex(src, opts)) end)
  if not ok then return nil, err_msg(res) end
  return setmetatable({ ast = res, source = src }, Template)
end

--- Renders with the variables in `vars` (a table; nil values are undefined).
--- Returns the output string or nil, message.
function Template:render(vars)
  local root = { vars = {}, state = { line = 1 } }
  for k, v in pairs(GLOBALS) do root.vars[k] = v end
  local top = new_frame(root)
  for k, v in pairs(vars or {}) do top.vars[k] = v end
  local out = {}
  local ok, res = pcall(exec_body, self.ast, top, out)
  if not ok then return nil, err_msg(res, root.state.line) end
  return table.concat(out)
end

--- compile + render in one call.
function M.render(src, vars, opts)
  local t, err = M.compile(src, opts)
  if not t then return nil, err end
  return t:render(vars)
end

return M
