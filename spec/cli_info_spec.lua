-- `luallm info MODEL [--json]` and llm.inspect on the micro models and the
-- llama.cpp Q4_K_M file; the error path (bad path, not a GGUF).
local llm = require("luallm")
local json = require("luallm.json")
local shared = require("support.shared")

-- bin/luallm runs under the interpreter running this spec (lua5.4 or luajit).
local cli = require("support.cli")
local LUA = cli.interpreter()
local q = cli.q

local tmp = shared.tmpdir()
teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)
local run = cli.runner(tmp)

-- Runs bin/luallm with args; returns stdout, stderr, exit code.
local function luallm(args)
  local out, rc, err = run(q(LUA) .. " bin/luallm " .. args)
  return out, err, rc
end

local FILES = {
  {
    file = "models/micro-r1-qwen2-f16.gguf",
    want = {
      arch = "qwen2", n_params = 42045696, file_size = 90034176, n_tensors = 50,
      file_type = "MOSTLY_F16", file_type_id = 1, context_length = 4096, n_layers = 4,
      n_embd = 256, n_ff = 768, n_head = 4, n_head_kv = 2, vocab_size = 151936,
      tokenizer_model = "gpt2", tokenizer_pre = "deepseek-r1-qwen", chat_template = true,
      gguf_version = 3, alignment = 32,
    },
    quant = { F16 = { tensors = 29, bytes = 84082688 }, F32 = { tensors = 21, bytes = 17408 } },
  },
  {
    file = "models/micro-r1-llama-f16.gguf",
    want = {
      arch = "llama", n_params = 35981600, file_size = 79791136, n_tensors = 39,
      file_type = "MOSTLY_F16", file_type_id = 1, context_length = 4096, n_layers = 4,
      n_embd = 256, n_head = 4, n_head_kv = 2, vocab_size = 128256,
      tokenizer_model = "gpt2", tokenizer_pre = "llama-bpe", chat_template = true,
    },
    quant = { F16 = { tensors = 29, bytes = 71958528 }, F32 = { tensors = 10, bytes = 9344 } },
  },
  {
    file = "models/quant/micro-r1-qwen2-q4_k_m.llamacpp.gguf",
    want = {
      arch = "qwen2", n_params = 42045696, file_size = 39745792, n_tensors = 50,
      file_type = "MOSTLY_Q4_K_M", file_type_id = 15, context_length = 4096, n_layers = 4,
      n_embd = 256, n_head = 4, n_head_kv = 2, vocab_size = 151936, chat_template = true,
    },
    quant = {
      Q4_K = { tensors = 24, bytes = 1511424 }, Q6_K = { tensors = 5, bytes = 32282880 },
      F32 = { tensors = 21, bytes = 17408 },
    },
  },
}

describe("luallm info --json", function()
  for _, c in ipairs(FILES) do
    it("reports " .. c.file, function()
      local p = shared.need(c.file)
      if not p then return end
      local out, err, rc = luallm("info " .. q(p) .. " --json")
      assert.equal(0, rc, err)
      assert.equal("", err)
      local info = assert(json.decode(out))
      for k, v in pairs(c.want) do assert.equal(v, info[k], k) end
      assert.same(c.quant, info.quant)
      local bytes = 0
      for _, v in pairs(c.quant) do bytes = bytes + v.bytes end
      assert.equal(bytes, info.tensor_bytes)
      assert.is_true(math.abs(info.bpw - bytes * 8 / c.want.n_params) < 0.001)
      -- the same table from Lua
      local t = assert(llm.inspect(p))
      assert.equal(c.want.n_params, t.n_params)
      assert.equal(c.want.file_type, t.file_type)
    end)
  end

  it("has the expected bits per weight", function()
    local p = shared.need(FILES[3].file)
    if not p then return end
    local t = assert(llm.inspect(p))
    assert.equal(6.433, t.bpw)
    local f = assert(llm.inspect(shared.need(FILES[1].file)))
    assert.is_true(f.bpw > 15.99 and f.bpw < 16.01)
  end)
end)

describe("luallm info (human output)", function()
  it("prints aligned key: value lines", function()
    local p = shared.need("models/quant/micro-r1-qwen2-q4_k_m.llamacpp.gguf")
    if not p then return end
    local out, err, rc = luallm("info " .. q(p))
    assert.equal(0, rc, err)
    local col, n = nil, 0
    for line in out:gmatch("[^\n]+") do
      local key, pad = line:match("^([%w ]+):(%s+)%S")
      assert.is_not_nil(key, line)
      local c = #key + 1 + #pad
      col = col or c
      assert.equal(col, c, line)
      n = n + 1
    end
    assert.is_true(n >= 15)
    assert.truthy(out:find("arch:%s+qwen2\n"))
    assert.truthy(out:find("file type:%s+MOSTLY_Q4_K_M %(15%)"))
    assert.truthy(out:find("quant mix:%s+Q6_K x5"))
    assert.truthy(out:find("chat template:%s+yes"))
    assert.truthy(out:find("bits per weight:%s+6%.433"))
  end)
end)

describe("luallm info errors", function()
  local function fails(args, pattern)
    local out, err, rc = luallm(args)
    assert.is_true(rc ~= 0)
    assert.equal("", out)
    assert.truthy(err:match("^luallm: [^\n]+\n$"), "one line on stderr: " .. err)
    assert.truthy(err:find(pattern, 1, true), err)
  end

  it("fails on a missing file", function()
    fails("info /nonexistent/model.gguf", "/nonexistent/model.gguf")
    fails("info /nonexistent/model.gguf --json", "cannot open")
  end)

  it("fails on a file that is not GGUF", function()
    local p = tmp .. "/not.gguf"
    local f = assert(io.open(p, "wb"))
    f:write("this is not a model file at all\n")
    f:close()
    fails("info " .. q(p), "not a GGUF file")
  end)

  it("fails without a model argument", function()
    fails("info", "usage")
  end)

  it("returns nil and a message from llm.inspect", function()
    local t, msg = llm.inspect("/nonexistent/model.gguf")
    assert.is_nil(t)
    assert.truthy(msg:find("cannot open", 1, true))
  end)
end)
