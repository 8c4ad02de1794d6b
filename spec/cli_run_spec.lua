-- bin/luallm run / chat / bench on the micro model: --json output, errors.
local shared = require("support.shared")
local json = require("luallm.json")

local cli = require("support.cli")

local tmp = shared.tmpdir()
teardown(function() os.execute("rm -rf " .. cli.q(tmp)) end)
local run = cli.runner(tmp)
local last_err = ""
local function sh(cmd)
  local out, rc, err = run(cmd)
  last_err = err
  return out, rc
end
local interp = cli.interpreter

describe("bin/luallm run, chat, bench", function()
  local lua = interp()

  it("run --json answers with reasoning and content split", function()
    local p = shared.need("models/micro-r1-qwen2-f16.gguf")
    if not p then return end
    local out, rc = sh(lua .. " bin/luallm run " .. p .. " 'What is 713 - 39?' --json --temperature 0 --max-tokens 200")
    assert.are.equal(0, rc)
    local r = assert(json.decode(out))
    assert.truthy(r.content:find("674", 1, true), out)
    assert.truthy(r.reasoning:find("713", 1, true))
    assert.are.equal("eos", r.stop_reason)
    assert.is_true(r.stats.gen_tps > 0 and r.stats.prompt_n > 0)
  end)

  it("run --verbose prints ollama's statistics on stderr", function()
    local p = shared.need("models/micro-r1-qwen2-f16.gguf")
    if not p then return end
    local out, rc = sh(lua .. " bin/luallm run " .. p .. " 'What is 2 + 3?' --verbose --temperature 0 --max-tokens 8")
    assert.are.equal(0, rc)
    assert.truthy(#out > 0)
    local err = last_err
    for _, k in ipairs({ "load duration", "prompt eval rate", "eval count", "eval rate", "total duration" }) do
      assert.truthy(err:find(k, 1, true), k)
    end
  end)

  it("chat --json keeps a conversation", function()
    local p = shared.need("models/micro-r1-qwen2-f16.gguf")
    if not p then return end
    local out, rc = sh("printf 'What is 12 + 30?\\n' | " .. lua .. " bin/luallm chat " .. p .. " --json --temperature 0")
    assert.are.equal(0, rc)
    local r = assert(json.decode(out:match("[^\n]+")))
    assert.truthy(r.content:find("42", 1, true))
  end)

  it("bench --json reports pp_tps and tg_tps", function()
    local p = shared.need("models/micro-r1-qwen2-f16.gguf")
    if not p then return end
    local out, rc = sh(lua .. " bin/luallm bench " .. p .. " -p 32 -n 4 -r 1 --json")
    assert.are.equal(0, rc)
    local r = assert(json.decode(out))
    assert.is_true(r.pp_tps > 0 and r.tg_tps > 0)
  end)

  it("fails with one line and a non-zero exit on bad input", function()
    local out, rc = sh(lua .. " bin/luallm run /nonexistent.gguf hi")
    assert.are_not.equal(0, rc)
    assert.are.equal("", out)
    local err = last_err
    assert.truthy(err:match("^luallm: [^\n]+\n$"), err)
    _, rc = sh(lua .. " bin/luallm nosuchcommand")
    assert.are_not.equal(0, rc)
  end)
end)
