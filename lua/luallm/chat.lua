-- Chat prompts: renders a model's chat template (the Jinja text stored in
-- GGUF `tokenizer.chat_template`) over a list of messages, the way Hugging
-- Face's apply_chat_template does (trim_blocks and lstrip_blocks on), through
-- the Jinja-subset interpreter in luallm.jinja. See docs/chat-templates.md.
local jinja = require("luallm.jinja")

local M = {}

-- Templates written for this project, for models whose GGUF has no
-- template, or to override one: opts.template = "deepseek-r1" etc.
M.templates = {
  -- DeepSeek-R1 (and its Qwen/Llama distills): the last system message goes
  -- first, earlier assistant turns lose their <think>...</think> part, and the
  -- generation prompt opens the think block.
  ["deepseek-r1"] = table.concat({
    "{%- set ns = namespace(system='') -%}",
    "{%- for m in messages if m.role == 'system' -%}{%- set ns.system = m.content -%}{%- endfor -%}",
    "{{- bos_token ~ ns.system -}}",
    "{%- for m in messages -%}",
    "{%- if m.role == 'user' -%}{{- '<｜User｜>' ~ m.content -}}",
    "{%- elif m.role == 'assistant' -%}",
    "{{- '<｜Assistant｜>' ~ (m.content or '').split('</think>')[-1] ~ '<｜end▁of▁sentence｜>' -}}",
    "{%- endif -%}",
    "{%- endfor -%}",
    "{%- if add_generation_prompt -%}{{- '<｜Assistant｜><think>\\n' -}}{%- endif -%}",
  }),
  chatml = table.concat({
    "{%- for m in messages -%}",
    "{{- '<|im_start|>' ~ m.role ~ '\\n' ~ m.content ~ '<|im_end|>\\n' -}}",
    "{%- endfor -%}",
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}",
  }),
  llama3 = table.concat({
    "{{- bos_token -}}",
    "{%- for m in messages -%}",
    "{{- '<|start_header_id|>' ~ m.role ~ '<|end_header_id|>\\n\\n' ~ m.content | trim ~ '<|eot_id|>' -}}",
    "{%- endfor -%}",
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}",
  }),
}

--- The family of a template from the markers it writes: "deepseek-r1",
--- "chatml", "llama3", or nil when none is recognized.
function M.detect(template)
  if type(template) ~= "string" then return nil end
  if template:find("<｜Assistant｜>", 1, true) then return "deepseek-r1" end
  if template:find("<|im_start|>", 1, true) then return "chatml" end
  if template:find("<|start_header_id|>", 1, true) then return "llama3" end
  return nil
end

--- What render needs from a GGUF's metadata table (llm.gguf.open(p).metadata):
--- {template = string or nil, bos_token = string, eos_token = string}; the
--- special tokens come from the vocabulary (ids are 0-based, Lua arrays 1-based).
function M.from_gguf(meta)
  local toks = meta["tokenizer.ggml.tokens"]
  local function token(key)
    local id = meta[key]
    if type(toks) == "table" and type(id) == "number" then return toks[id + 1] or "" end
    return ""
  end
  return {
    template = meta["tokenizer.chat_template"],
    bos_token = token("tokenizer.ggml.bos_token_id"),
    eos_token = token("tokenizer.ggml.eos_token_id"),
  }
end

-- Compiled templates by source text: a model renders the same one per turn.
local cache, cache_n = {}, 0
local function compiled(src)
  local t = cache[src]
  if t then return t end
  local err
  t, err = jinja.compile(src, { trim_blocks = true, lstrip_blocks = true })
  if not t then return nil, err end
  if cache_n >= 16 then cache, cache_n = {}, 0 end
  cache[src], cache_n = t, cache_n + 1
  return t
end

local function check_messages(messages)
  if type(messages) ~= "table" then return nil, "chat: messages must be a list of {role = ..., content = ...}" end
  for i, m in ipairs(messages) do
    if type(m) ~= "table" or type(m.role) ~= "string" then
      return nil, "chat: message " .. i .. " needs a string role"
    end
  end
  return true
end

--- Renders `template` (a Jinja string, or a name from M.templates) over
--- `messages` ({{role = "user", content = "..."}, ...}). opts:
---   template              overrides the first argument (string or known name)
---   add_generation_prompt default true: end with the assistant's turn opening
---   bos_token, eos_token  strings the template may print (default "")
---   thinking              false: ask for no reasoning (see docs/chat-templates.md)
---   tools                 list of tool schemas, as the template variable `tools`
---   vars                  extra template variables; they win over all the above
--- Returns the prompt string, or nil, message.
function M.render(template, messages, opts)
  opts = opts or {}
  local src = opts.template or template
  if type(src) == "string" and M.templates[src] then src = M.templates[src] end
  if type(src) ~= "string" or src:match("^%s*$") then
    return nil, "chat: no chat template (the model's GGUF has no tokenizer.chat_template); " ..
      "pass one explicitly with opts.template = \"<jinja text>\" or a known name (" ..
      "\"deepseek-r1\", \"chatml\", \"llama3\")"
  end
  local ok, err = check_messages(messages)
  if not ok then return nil, err end

  local add_gen = opts.add_generation_prompt ~= false
  local handles_thinking = src:find("enable_thinking", 1, true) ~= nil
  local vars = {
    messages = jinja.list(messages),
    add_generation_prompt = add_gen,
    bos_token = opts.bos_token or "",
    eos_token = opts.eos_token or "",
    -- Always defined: a template testing `not enable_thinking` would otherwise
    -- close the think block when the caller said nothing.
    enable_thinking = opts.thinking ~= false,
    tools = opts.tools,
  }
  for k, v in pairs(opts.vars or {}) do vars[k] = v end

  local t
  t, err = compiled(src)
  if not t then return nil, err end
  local out
  out, err = t:render(vars)
  if not out then return nil, err end

  -- thinking = false on a template that has no switch for it: close an open
  -- think block empty, as R1-style models expect ("<think>\n\n</think>\n\n").
  if opts.thinking == false and not handles_thinking and add_gen then
    if out:sub(-8) == "<think>\n" then
      out = out .. "\n</think>\n\n"
    elseif src:find("</think>", 1, true) then
      out = out .. "<think>\n\n</think>\n\n"
    end
  end
  return out
end

return M
