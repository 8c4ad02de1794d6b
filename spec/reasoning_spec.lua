local reasoning = require("luallm").reasoning

-- Feeds `pieces` to a stream; returns {reasoning, content, closed, events}.
local function run(pieces, opts)
  local rp = reasoning.stream(opts)
  local parts, events = { reasoning = {}, content = {} }, {}
  local function take(evs)
    for _, ev in ipairs(evs) do
      assert.truthy(ev.kind == "reasoning" or ev.kind == "content")
      assert.is_true(#ev.text > 0)
      events[#events + 1] = ev
      local t = parts[ev.kind]
      t[#t + 1] = ev.text
    end
  end
  for _, p in ipairs(pieces) do take(rp:feed(p)) end
  take(rp:finish())
  return { reasoning = table.concat(parts.reasoning), content = table.concat(parts.content),
           closed = rp.closed }, events
end

local function chars(s)
  local t = {}
  for i = 1, #s do t[i] = s:sub(i, i) end
  return t
end

local R1 = "<think>\nFirst, 2 + 2 = 4.\n\nCheck: yes.\n</think>\n\nThe answer is **4**."

describe("reasoning.split", function()
  it("separates an R1 block from the answer and trims the seams", function()
    assert.are.same({ reasoning = "First, 2 + 2 = 4.\n\nCheck: yes.", content = "The answer is **4**.",
                      closed = true }, reasoning.split(R1))
  end)

  it("handles a block opened by the prompt (no <think> in the output)", function()
    local r = reasoning.split("Okay, so 3 * 3.\n</think>\n\n9")
    assert.are.same({ reasoning = "Okay, so 3 * 3.", content = "9", closed = true }, r)
  end)

  it("treats output without any block as content", function()
    assert.are.same({ reasoning = "", content = "Just an answer.\n", closed = true },
      reasoning.split("  Just an answer.\n"))
    assert.are.same({ reasoning = "", content = "", closed = true }, reasoning.split(""))
  end)

  it("marks a truncated trace as not closed", function()
    assert.are.same({ reasoning = "Let me think\n\nabout", content = "", closed = false },
      reasoning.split("<think>\nLet me think\n\nabout\n"))
    assert.are.same({ reasoning = "half way", content = "", closed = false },
      reasoning.split("half way", { open = true }))
  end)

  it("recognizes <think> only at the start, </think> only once", function()
    local r = reasoning.split("answer <think>x more")
    assert.are.same({ reasoning = "", content = "answer <think>x more", closed = true }, r)
    r = reasoning.split("answer <think>x</think> more", { open = false })
    assert.are.same({ reasoning = "", content = "answer <think>x</think> more", closed = true }, r)
    r = reasoning.split("<think>a</think>b</think>c")
    assert.are.same({ reasoning = "a", content = "b</think>c", closed = true }, r)
  end)

  it("swallows a redundant <think> when the prompt opened the block", function()
    local r = reasoning.split("<think>\nhmm\n</think>ok", { open = true })
    assert.are.same({ reasoning = "hmm", content = "ok", closed = true }, r)
  end)

  it("keeps an empty block closed", function()
    assert.are.same({ reasoning = "", content = "Hi", closed = true },
      reasoning.split("<think>\n\n</think>\n\nHi"))
  end)
end)

describe("reasoning.stream", function()
  local texts = {
    { R1 },
    { "Okay, so 3 * 3.\n</think>\n\n9 is it. </think", { open = true } },
    { "<think>\nLet me think\n\nabout\n" },
    { "No block here.  Trailing space " },
    { "<think>a < b and c </thinker> d</think>  \n e" },
    { " <thi" },
  }

  it("gives the same result as split for every way of cutting the text", function()
    for _, case in ipairs(texts) do
      local text, opts = case[1], case[2]
      local want = reasoning.split(text, opts)
      assert.are.same(want, (run(chars(text), opts)))
      for cut = 0, #text do
        assert.are.same(want, (run({ text:sub(1, cut), text:sub(cut + 1) }, opts)))
      end
    end
  end)

  it("holds back a possible partial tag, then releases it", function()
    local rp = reasoning.stream({ open = true })
    assert.are.same({ { kind = "reasoning", text = "step" } }, rp:feed("step\n</th"))
    assert.are.equal("reasoning", rp:mode())
    assert.are.same({}, rp:feed("ink>\n"))
    assert.are.equal("content", rp:mode())
    assert.is_true(rp.closed)
    assert.are.same({ { kind = "content", text = "42" } }, rp:feed("42"))
    local rp2 = reasoning.stream({ open = true })
    rp2:feed("a </t")
    assert.are.same({ { kind = "reasoning", text = " </tx" } }, rp2:feed("x"))
  end)

  it("waits at the start until it knows whether a block opens", function()
    local rp = reasoning.stream()
    assert.are.equal("start", rp:mode())
    assert.are.same({}, rp:feed("\n<thi"))
    assert.are.same({}, rp:feed("nk>\n"))
    assert.are.equal("reasoning", rp:mode())
    assert.is_false(rp.closed)
    assert.are.same({ { kind = "reasoning", text = "x" } }, rp:feed("x"))
    local rp2 = reasoning.stream()
    assert.are.same({ { kind = "content", text = "<b>" } }, rp2:feed("<b>"))
  end)

  it("merges a piece into one event per kind change", function()
    local _, events = run({ "<think>r1 r2</think>c1 c2" })
    assert.are.same({ { kind = "reasoning", text = "r1 r2" }, { kind = "content", text = "c1 c2" } },
      events)
  end)

  it("flushes held text at finish as what it is", function()
    local r = run({ "<think>abc </thi" })
    assert.are.same({ reasoning = "abc </thi", content = "", closed = false }, r)
  end)
end)
