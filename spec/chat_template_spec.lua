-- chat.render over real chat templates: the two micro R1 models' own
-- templates (read from their GGUF files through llm.gguf, and from fixture
-- copies), Qwen2.5 ChatML with tools, Llama 3 and 3.1. Expected strings were
-- checked by hand and against Jinja2 (Python) with Hugging Face's settings.
local chat = require("luallm.chat")
local json = require("luallm.json")
local shared = require("support.shared")

local BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"

local function fixture(name)
  local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "spec"
  local f = assert(io.open(dir .. "/fixtures/chat/" .. name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function render(tmpl, messages, opts)
  local out, err = chat.render(tmpl, messages, opts)
  assert(out, err)
  return out
end

-- llm.gguf when the binding is built; nil (and the test pending) otherwise.
local function gguf_meta(rel)
  local ok, llm = pcall(require, "luallm")
  if not ok or not llm.gguf then
    pending("needs the GGUF binding (require('luallm').gguf)")
    return nil
  end
  local path = shared.need(rel)
  if not path then return nil end
  local g = assert(llm.gguf.open(path))
  local d = chat.from_gguf(g.metadata)
  g:close()
  return d
end

local function problems()
  local text = shared.read("eval/arith-dev.jsonl")
  if not text then
    pending("needs ../shared/eval/arith-dev.jsonl")
    return nil
  end
  local list = {}
  for line in text:gmatch("[^\n]+") do list[#list + 1] = assert(json.decode(line)) end
  return list
end

local MODELS = { qwen2 = "models/micro-r1-qwen2-f16.gguf", llama = "models/micro-r1-llama-f16.gguf" }

describe("chat templates of the micro R1 models", function()
  for name, rel in pairs(MODELS) do
    it(name .. ": the GGUF template renders each arith-dev prompt, then opens <think>", function()
      local d = gguf_meta(rel)
      if not d then return end
      local probs = problems()
      if not probs then return end
      assert.are.equal(BOS, d.bos_token)
      assert.are.equal(EOS, d.eos_token)
      assert.is_true(#probs > 0)
      for _, p in ipairs(probs) do
        -- the eval file's prompt stops at <｜Assistant｜>; both templates go on
        -- to open the think block
        assert.are.equal(p.prompt .. "<think>\n", render(d.template, { { role = "user", content = p.question } },
          { add_generation_prompt = true, bos_token = d.bos_token, eos_token = d.eos_token }))
      end
    end)

    it(name .. ": the fixture copy is the GGUF's template", function()
      local d = gguf_meta(rel)
      if not d then return end
      assert.are.equal(fixture("micro-r1-" .. name .. ".jinja"), d.template)
    end)
  end

  local qwen, llama = fixture("micro-r1-qwen2.jinja"), fixture("micro-r1-llama.jinja")
  local opts = { bos_token = BOS, eos_token = EOS }

  it("renders one user turn exactly (fixtures)", function()
    local msgs = { { role = "user", content = "What is 60 + 1791?" } }
    local want = BOS .. "<｜User｜>What is 60 + 1791?<｜Assistant｜><think>\n"
    assert.are.equal(want, render(qwen, msgs, opts))
    assert.are.equal(want, render(llama, msgs, opts))
  end)

  it("drops the <think> part of earlier assistant turns, keeps the system prompt first", function()
    local msgs = {
      { role = "system", content = "You are terse." },
      { role = "user", content = "What is 2 + 2?" },
      { role = "assistant", content = "<think>\n2 plus 2 is 4.\n</think>\n\nThe answer is 4." },
      { role = "user", content = "And 3 + 3?" },
    }
    local want = BOS .. "You are terse.<｜User｜>What is 2 + 2?<｜Assistant｜>\n\nThe answer is 4." .. EOS
      .. "<｜User｜>And 3 + 3?<｜Assistant｜><think>\n"
    assert.are.equal(want, render(qwen, msgs, opts))
    assert.are.equal(want, render(llama, msgs, opts))
    assert.are.equal(want, render("deepseek-r1", msgs, opts))
  end)

  it("ends a conversation without the generation prompt when asked", function()
    local msgs = { { role = "user", content = "Hi" }, { role = "assistant", content = "<think>x</think>Hello" } }
    local want = BOS .. "<｜User｜>Hi<｜Assistant｜>Hello" .. EOS
    local o = { bos_token = BOS, eos_token = EOS, add_generation_prompt = false }
    assert.are.equal(want, render(qwen, msgs, o))
    assert.are.equal(want, render(llama, msgs, o))
  end)

  it("thinking = false: the qwen template closes the block itself, llama gets an empty block appended", function()
    local msgs = { { role = "user", content = "Hi" } }
    local o = { bos_token = BOS, eos_token = EOS, thinking = false }
    -- this template reads `enable_thinking`; it writes "</think>" right after "<think>\n"
    assert.are.equal(BOS .. "<｜User｜>Hi<｜Assistant｜><think>\n</think>", render(qwen, msgs, o))
    -- no such variable in this one: chat.render closes the open block
    assert.are.equal(BOS .. "<｜User｜>Hi<｜Assistant｜><think>\n\n</think>\n\n", render(llama, msgs, o))
    -- thinking left alone keeps the block open in both
    assert.are.equal(BOS .. "<｜User｜>Hi<｜Assistant｜><think>\n", render(qwen, msgs, opts))
    -- a template with no think block at all is left as it is
    assert.are.equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", render("chatml", msgs, o))
  end)

  it("renders tool calls and tool outputs (qwen template)", function()
    local msgs = {
      { role = "user", content = "Weather?" },
      { role = "assistant", content = json.null, tool_calls = {
        { type = "function", ["function"] = { name = "get_weather", arguments = '{"city": "Paris"}' } } } },
      { role = "tool", content = "sunny" },
    }
    local out = render(qwen, msgs, opts)
    assert.are.equal(BOS .. "<｜User｜>Weather?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
      .. '```json\n"{\\"city\\": \\"Paris\\"}"\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>' .. EOS
      .. "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜><｜tool▁outputs▁end｜>", out)
  end)
end)

describe("Qwen2.5 ChatML template", function()
  local tmpl = fixture("qwen2.5.jinja")
  local DEFAULT_SYS = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"

  it("adds the default system prompt and the assistant opening", function()
    assert.are.equal(DEFAULT_SYS .. "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
      render(tmpl, { { role = "user", content = "Hi" } }))
    assert.are.equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
      .. "<|im_start|>assistant\nHello<|im_end|>\n",
      render(tmpl, { { role = "system", content = "Be brief." }, { role = "user", content = "Hi" },
                     { role = "assistant", content = "Hello" } }, { add_generation_prompt = false }))
  end)

  it("lists tools, renders tool calls and groups tool responses", function()
    local tools = { { type = "function", ["function"] = { name = "get_weather", description = "Weather for a city",
      parameters = { type = "object", properties = { city = { type = "string" } }, required = { "city" } } } } }
    local msgs = {
      { role = "user", content = "Weather in Paris?" },
      { role = "assistant", content = json.null, tool_calls = {
        { type = "function", ["function"] = { name = "get_weather", arguments = { city = "Paris" } } } } },
      { role = "tool", content = "sunny" },
      { role = "tool", content = "22C" },
    }
    local want = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n"
      .. "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
      .. "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
      .. '{"function": {"description": "Weather for a city", "name": "get_weather", "parameters": '
      .. '{"properties": {"city": {"type": "string"}}, "required": ["city"], "type": "object"}}, "type": "function"}\n'
      .. "</tools>\n\nFor each function call, return a json object with function name and arguments within "
      .. "<tool_call></tool_call> XML tags:\n<tool_call>\n"
      .. '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n'
      .. "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
      .. '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n'
      .. "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\n22C\n</tool_response><|im_end|>\n"
      .. "<|im_start|>assistant\n"
    assert.are.equal(want, render(tmpl, msgs, { tools = tools }))
  end)
end)

describe("Llama 3 templates", function()
  it("Llama 3: bos, headers, trimmed content", function()
    assert.are.equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
      .. "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
      render(fixture("llama3.jinja"), { { role = "system", content = " Be brief. " }, { role = "user", content = "Hi\n" } },
        { bos_token = "<|begin_of_text|>" }))
  end)

  local tmpl = fixture("llama3.1.jinja")
  local o = { bos_token = "<|begin_of_text|>", vars = { date_string = "1 Jan 2025" } }

  it("Llama 3.1: dated system header, system message moved into it", function()
    assert.are.equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
      .. "Cutting Knowledge Date: December 2023\nToday Date: 1 Jan 2025\n\nBe brief.<|eot_id|>"
      .. "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
      render(tmpl, { { role = "system", content = "Be brief." }, { role = "user", content = " Hi " } }, o))
  end)

  it("Llama 3.1: tools in the first user message, a tool call, an ipython turn", function()
    local msgs = {
      { role = "user", content = "Weather in Paris?" },
      { role = "assistant", tool_calls = { { type = "function", ["function"] = { name = "get_weather", arguments = { city = "Paris" } } } } },
      { role = "tool", content = "sunny" },
    }
    local tools = { { type = "function", ["function"] = { name = "get_weather", parameters = { type = "object" } } } }
    local want = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n"
      .. "Cutting Knowledge Date: December 2023\nToday Date: 1 Jan 2025\n\n<|eot_id|>"
      .. "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a "
      .. "function call with its proper arguments that best answers the given prompt.\n\n"
      .. 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.'
      .. "Do not use variables.\n\n"
      .. '{\n    "function": {\n        "name": "get_weather",\n        "parameters": {\n            "type": "object"\n'
      .. '        }\n    },\n    "type": "function"\n}\n\n'
      .. "Weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
      .. '{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>'
      -- a string is iterable in Jinja, so this template JSON-quotes string tool output
      .. '<|start_header_id|>ipython<|end_header_id|>\n\n"sunny"<|eot_id|>'
      .. "<|start_header_id|>assistant<|end_header_id|>\n\n"
    assert.are.equal(want, render(tmpl, msgs, { bos_token = o.bos_token, vars = o.vars, tools = tools }))
  end)

  it("Llama 3.1: raise_exception comes back as nil, message", function()
    local msgs = { { role = "user", content = "x" }, { role = "assistant", tool_calls = {
      { ["function"] = { name = "a", arguments = {} } }, { ["function"] = { name = "b", arguments = {} } } } } }
    local out, err = chat.render(tmpl, msgs, o)
    assert.is_nil(out)
    assert.truthy(err:match("^jinja: raise_exception: This model only supports single tool%-calls at once! at line %d+$"), err)
  end)
end)

describe("chat.render", function()
  it("says how to pass a template when there is none", function()
    for _, t in ipairs({ false, "", "  \n" }) do
      local out, err = chat.render(t or nil, { { role = "user", content = "x" } })
      assert.is_nil(out)
      assert.truthy(err:find("opts.template", 1, true), err)
    end
    assert.are.equal("<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n",
      render(nil, { { role = "user", content = "x" } }, { template = "chatml" }))
  end)

  it("rejects messages without a role, and template errors, as nil, message", function()
    local out, err = chat.render("chatml", { { content = "x" } })
    assert.is_nil(out)
    assert.truthy(err:match("message 1"), err)
    out, err = chat.render("{% if %}", {})
    assert.is_nil(out)
    assert.truthy(err:match("^jinja: .* at line 1$"), err)
  end)

  it("recognizes template families", function()
    assert.are.equal("deepseek-r1", chat.detect(fixture("micro-r1-qwen2.jinja")))
    assert.are.equal("chatml", chat.detect(fixture("qwen2.5.jinja")))
    assert.are.equal("llama3", chat.detect(fixture("llama3.1.jinja")))
    assert.is_nil(chat.detect("{{ messages }}"))
  end)

  it("the built-in deepseek-r1 template matches the models' own", function()
    local msgs = { { role = "user", content = "Count the r in strawberry." } }
    local opts = { bos_token = BOS, eos_token = EOS }
    assert.are.equal(render(fixture("micro-r1-llama.jinja"), msgs, opts), render("deepseek-r1", msgs, opts))
  end)
end)
