-- bin/luallm run / chat / bench on the micro model: --json output, errors.
local shared = require("support.shared")
local json = require("luallm.json")

local function interp()
  local i = -1
  while arg[i - 1] do i = i - 1 end
  return arg[i]
end

local function sh(cmd)
  local h = io.popen(cmd .. " 2>/tmp/luallm-cli-err.txt; echo \"rc=$?\"")
  local out = h:read("a")
  h:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return out:gsub("rc=%d+%s*$", ""), rc
end

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
    local err = io.open("/tmp/luallm-cli-err.txt"):read("a")
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
    local err = io.open("/tmp/luallm-cli-err.txt"):read("a")
    assert.truthy(err:match("^luallm: [^\n]+\n$"), err)
    _, rc = sh(lua .. " bin/luallm nosuchcommand")
    assert.are_not.equal(0, rc)
  end)
end)
