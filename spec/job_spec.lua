-- Background generation (m:start, csrc/generate.c + csrc/lua_job.c) against
-- the synchronous Lua loop on the micro model: same tokens, same text.
local shared = require("support.shared")

local function sleep_ms(ms)
  -- a busy wait would take the core the job needs on a small machine
  os.execute("sleep " .. ms / 1000)
end

describe("m:start (background job)", function()
  local llm, m, prompt

  local function setup()
    local path = shared.need("models/micro-r1-qwen2-f16.gguf")
    if not path then return false end
    llm = require("luallm")
    m = m or assert(llm.load(path, { threads = 1 }))
    prompt = prompt or m:chat_template({ { role = "user", content = "What is 713 - 39?" } },
      { add_generation_prompt = true })
    return true
  end

  it("streams through poll what the Lua loop generates", function()
    if not setup() then return end
    local job = assert(m:start(prompt, { temperature = 0, max_tokens = 200 }))
    local parts = {}
    while true do
      local done = job.done
      parts[#parts + 1] = job:poll()
      if done then break end
      sleep_ms(20)
    end
    assert.equal("", job:poll())
    local r = job:wait()
    assert.is_true(job.done)
    assert.equal(table.concat(parts), r.text)
    -- the Lua loop over the first tokens gives the same ids and text
    local sync = assert(m:complete(prompt, { temperature = 0, max_tokens = 40 }))
    assert.same(sync.tokens, { (table.unpack or unpack)(r.tokens, 1, 40) })
    assert.equal(sync.text, r.text:sub(1, #sync.text))
    assert.equal("eos", r.stop_reason)
    assert.is_truthy(r.text:find("713 - 39 = **674**", 1, true))
    assert.equal(#r.tokens, r.stats.gen_n)
    assert.equal(#m:_prompt_ids(prompt), r.stats.prompt_n)
    assert.is_true(r.stats.gen_ms > 0 and r.stats.total_ms >= r.stats.gen_ms)
    assert.equal(r.stats.gen_n, job.stats.gen_n)
  end)

  it("matches stop strings across tokens and never emits them", function()
    if not setup() then return end
    -- "borrowing" is two tokens of the first line of the micro model's answer
    local opts = { temperature = 0, max_tokens = 200, stop = { "never there", "borrowing" } }
    local r = assert(m:start(prompt, opts)):wait()
    local sync = assert(m:complete(prompt, opts))
    assert.equal("stop", r.stop_reason)
    assert.equal(sync.text, r.text)
    assert.is_nil(r.text:find("borrow", 1, true))
    assert.is_truthy(r.text:find("from the right, $"), r.text)
  end)

  it("stops at max_tokens", function()
    if not setup() then return end
    local r = assert(m:start(prompt, { temperature = 0, max_tokens = 7 })):wait()
    assert.equal("length", r.stop_reason)
    assert.equal(7, #r.tokens)
    local sync = assert(m:complete(prompt, { temperature = 0, max_tokens = 7 }))
    assert.equal(sync.text, r.text)
  end)

  it("samples with the default R1 sampler like the Lua loop (same seed)", function()
    if not setup() then return end
    local r = assert(m:start(prompt, { max_tokens = 12, seed = 3 })):wait()
    local sync = assert(m:complete(prompt, { max_tokens = 12, seed = 3 }))
    assert.same(sync.tokens, r.tokens)
  end)

  it("cancels, and is collected while running", function()
    if not setup() then return end
    local job = assert(m:start(prompt, { temperature = 0, max_tokens = 200 }))
    job:cancel()
    local r = job:wait()
    assert.equal("cancel", r.stop_reason)
    assert.is_true(#r.tokens < 200)
    -- dropped while generating: __gc cancels and joins the thread
    local j2 = assert(m:start(prompt, { temperature = 0, max_tokens = 200 }))
    sleep_ms(50)
    j2 = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
  end)

  it("refuses a sampler with a Lua stage, and bad prompts", function()
    if not setup() then return end
    local s = llm.sampler.chain({ llm.sampler.top_k(5), function() end, llm.sampler.greedy() })
    local job, err = m:start(prompt, { sampler = s })
    assert.is_nil(job)
    assert.is_truthy(err:find("stage 2 is a Lua function", 1, true), err)
    job, err = m:start({ -1 })
    assert.is_nil(job)
    assert.is_truthy(err:find("not a valid id", 1, true))
    assert.is_nil((m:start(prompt, { max_tokens = -1 })))
    assert.has_error(function() llm.core.job_start(m._m, { 1 }, { threads = "x" }) end)
  end)

  it("reports a context overflow as an error result", function()
    if not setup() then return end
    local j = assert(llm.core.job_start(m._m, m:_prompt_ids(prompt), { n_ctx = 8, max_tokens = 4 }))
    local r = j:wait()
    assert.equal("error", r.stop_reason)
    assert.is_truthy(r.error:find("context overflow", 1, true), r.error)
  end)
end)
