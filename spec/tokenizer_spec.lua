-- Tokenizer: llama.cpp's vocabulary test vectors, Hugging Face reference ids,
-- own edge cases, and a bounded round-trip fuzz loop.
local llm = require("luallm")
local files = require("support.files")
local json = require("luallm.json")
local shared = require("support.shared")

local read = files.read_all

-- Texts of a .inp file: separated by "\n__ggml_vocab_test__\n" lines.
local function vector_texts(path)
  local inp, texts, pos = read(path), {}, 1
  while true do
    local a, b = inp:find("\n__ggml_vocab_test__\n", pos, true)
    if not a then break end
    texts[#texts + 1] = inp:sub(pos, a - 1)
    pos = b + 1
  end
  return texts
end

local function vector_ids(path)
  local out = {}
  for line in read(path):gmatch("([^\n]*)\n") do
    local ids = {}
    for n in line:gmatch("%d+") do ids[#ids + 1] = tonumber(n) end
    out[#out + 1] = ids
  end
  return out
end

local cache = {}
local function open(rel)
  local path = shared.need(rel)
  if not path then return nil end
  if not cache[rel] then cache[rel] = assert(llm.tokenizer.open(path)) end
  return cache[rel]
end

local QWEN = "models/micro-r1-qwen2-f16.gguf"
local LLAMA = "models/micro-r1-llama-f16.gguf"
local SPM = "tokenizer/ggml-vocab-llama-spm.gguf"

local vectors = {
  { "ggml-vocab-qwen2.gguf", QWEN },
  { "ggml-vocab-llama-bpe.gguf", LLAMA },
  { "ggml-vocab-deepseek-llm.gguf", "tokenizer/ggml-vocab-deepseek-llm.gguf" },
  { "ggml-vocab-gpt-2.gguf", "tokenizer/ggml-vocab-gpt-2.gguf" },
  { "ggml-vocab-llama-spm.gguf", SPM },
}

local function pieces(t, ids)
  local p = {}
  for i, id in ipairs(ids) do p[i] = t:piece(id) end
  return p
end

describe("tokenizer vectors (llama.cpp test-tokenizer-0)", function()
  for _, v in ipairs(vectors) do
    it(v[1] .. ": every case matches and round-trips", function()
      local t = open(v[2])
      local inp = shared.need("tokenizer/" .. v[1] .. ".inp")
      if not t or not inp then return end
      local texts = vector_texts(inp)
      local want = vector_ids(shared.need("tokenizer/" .. v[1] .. ".out"))
      assert.are.equal(46, #texts)
      assert.are.equal(#texts, #want)
      for i, text in ipairs(texts) do
        local ids = t:encode(text, { bos = false, special = false })
        assert.are.same(want[i], ids, ("case %d: %q"):format(i, text))
        assert.are.equal(text, t:decode(ids))
      end
    end)
  end
end)

describe("tokenizer vs Hugging Face reference prompts", function()
  for _, m in ipairs({ "qwen2", "llama" }) do
    it(m .. ": prompt ids equal, greedy ids decode to the greedy text", function()
      local t = open("models/micro-r1-" .. m .. "-f16.gguf")
      local ref_path = shared.need("models/reference/micro-r1-" .. m .. ".json")
      if not t or not ref_path then return end
      local ref = assert(json.decode(read(ref_path)))
      assert.is_true(#ref.prompts > 0)
      for i, p in ipairs(ref.prompts) do
        local ids = t:encode(p.prompt, { bos = false, special = true })
        assert.are.same(p.prompt_ids, ids, ("prompt %d"):format(i))
        assert.are.equal(p.prompt, t:decode(ids, { special = true }))
        assert.are.equal(p.greedy_text, t:decode(p.greedy_ids, { special = true }))
      end
    end)
  end
end)

describe("tokenizer behaviour", function()
  it("exposes bos/eos/n_vocab and end-of-generation tokens", function()
    local t = open(QWEN)
    if not t then return end
    assert.are.equal(151936, t.n_vocab)
    assert.are.equal(151646, t.bos)
    assert.are.equal(151643, t.eos)
    assert.is_true(t.add_bos)
    assert.is_true(t:is_eog(t.eos))
    assert.is_false(t:is_eog(t.bos))
    assert.is_false(t:is_eog(-1))
    assert.are.equal("<think>", t:piece(151648))
    local l = open(LLAMA)
    if not l then return end
    assert.are.equal(128000, l.bos)
    assert.is_true(l:is_eog(128009)) -- <|eot_id|>
    assert.is_true(l:is_eog(128001))
  end)

  it("adds BOS by default (add_bos_token) and parses specials by default", function()
    local t = open(QWEN)
    if not t then return end
    local ids = t:encode("<think>hi</think>")
    assert.are.equal(t.bos, ids[1])
    assert.are.equal(151648, ids[2])
    assert.are.equal(151649, ids[#ids])
    local plain = t:encode("<think>", { bos = false, special = false })
    assert.is_true(#plain > 1)
    assert.are.equal("<think>", t:decode(plain))
  end)

  it("splits digits one by one for qwen2, in threes for llama-bpe", function()
    local q, l = open(QWEN), open(LLAMA)
    if not q or not l then return end
    assert.are.same({ "1", "2", "3", "4", "5", "6", "7" }, pieces(q, q:encode("1234567", { bos = false })))
    assert.are.same({ "123", "456", "7" }, pieces(l, l:encode("1234567", { bos = false })))
    assert.are.same({ "x", "=", "4", "2" }, pieces(q, q:encode("x=42", { bos = false })))
  end)

  it("round-trips Chinese, mixed script, emoji and whitespace runs", function()
    for _, rel in ipairs({ QWEN, LLAMA, SPM }) do
      local t = open(rel)
      if not t then return end
      local cases = {
        "深度求索的推理模型在数学上表现出色。", "mixed 混合 script Ελληνικά русский 한국어 العربية",
        "🦙🚀✅ 👩‍👩‍👧 🇫🇷", string.rep(" ", 300) .. "x" .. string.rep(" ", 77),
        string.rep("\n", 50) .. "a\r\n\r\n\t \t b" .. string.rep("\n \n", 20),
        "café vs cafe\204\129 (NFC vs NFD kept as written)", "",
      }
      for _, s in ipairs(cases) do
        local ids = t:encode(s, { bos = false, special = false })
        assert.are.equal(s, t:decode(ids))
      end
    end
  end)

  it("keeps invalid UTF-8 bytes exactly (each a byte token)", function()
    for _, rel in ipairs({ QWEN, LLAMA, SPM }) do
      local t = open(rel)
      if not t then return end
      for _, s in ipairs({ "\255", "a\128b", "\237\160\128", "\240\159\166", "ok\192\175!", "\xC3" }) do
        local ids = t:encode(s, { bos = false })
        assert.is_true(#ids >= 1)
        assert.are.equal(s, t:decode(ids))
      end
    end
  end)

  it("matches special tokens longest first and only when asked", function()
    local t = open(QWEN)
    if not t then return end
    local text = "<｜User｜>hi<｜Assistant｜><think>\n"
    local ids = t:encode(text, { bos = false, special = true })
    assert.are.equal(151644, ids[1])
    assert.are.equal(151649 - 1, ids[#ids - 1])
    assert.are.equal(text, t:decode(ids, { special = true }))
    assert.are.equal("hi<think>\n", t:decode(ids)) -- control tokens hidden, <think> kept
    local raw = t:encode(text, { bos = false, special = false })
    for _, id in ipairs(raw) do assert.is_true(id < 151643) end
    assert.are.equal(text, t:decode(raw))
  end)

  it("SentencePiece: space prefix, byte fallback, decode strips the prefix", function()
    local t = open(SPM)
    if not t then return end
    assert.are.same({ 1, 15043, 3186 }, t:encode("Hello world"))
    assert.are.equal("Hello world", t:decode(t:encode("Hello world")))
    local ids = t:encode("\1", { bos = false })
    assert.are.same({ 29871, 3 + 1 }, ids) -- "▁" then <0x01>
    assert.are.equal("\1", t:decode(ids))
    local s = "<s>Hi</s> there"
    assert.are.equal(s, t:decode(t:encode(s, { bos = false, special = true }), { special = true }))
  end)

  it("returns nil, message for out-of-range ids and bad files", function()
    local t = open(QWEN)
    if not t then return end
    local v, err = t:decode({ 1, t.n_vocab })
    assert.is_nil(v)
    assert.truthy(err:match("token id"))
    assert.is_nil((t:decode({ -1 })))
    assert.is_nil((t:decode({ 1.5 })))
    assert.is_nil((t:decode({ "x" })))
    assert.is_nil((t:piece(t.n_vocab)))
    local s = t:stream()
    assert.is_nil((s:feed(-5)))
    local tk, msg = llm.tokenizer.open("/nonexistent/file.gguf")
    assert.is_nil(tk)
    assert.is_string(msg)
    local dir = shared.tmpdir()
    local f = assert(io.open(dir .. "/junk.gguf", "wb"))
    f:write("GGUF junk")
    f:close()
    tk, msg = llm.tokenizer.open(dir .. "/junk.gguf")
    assert.is_nil(tk)
    assert.is_string(msg)
    os.remove(dir .. "/junk.gguf")
    os.remove(dir)
  end)

  -- Whole characters only (enough for this check: lead byte + continuations).
  local function valid_utf8(s)
    local i = 1
    while i <= #s do
      local c = s:byte(i)
      local n = c < 0x80 and 1 or c >= 0xF0 and 4 or c >= 0xE0 and 3 or c >= 0xC0 and 2 or 0
      if n == 0 or i + n - 1 > #s then return false end
      for k = i + 1, i + n - 1 do
        local d = s:byte(k)
        if d < 0x80 or d > 0xBF then return false end
      end
      i = i + n
    end
    return true
  end

  it("streams only complete UTF-8", function()
    local t = open(QWEN)
    if not t then return end
    local text = "a🦙b深度 ok"
    local ids = t:encode(text, { bos = false })
    local s, out = t:stream(), {}
    for _, id in ipairs(ids) do
      local piece = assert(s:feed(id))
      assert.is_true(valid_utf8(piece), ("%q"):format(piece))
      out[#out + 1] = piece
    end
    out[#out + 1] = s:flush()
    assert.are.equal(text, table.concat(out))
    -- the llama emoji is split across byte tokens: the first feed holds them back
    local parts = {}
    local s2 = t:stream()
    for _, id in ipairs(t:encode("🦙", { bos = false })) do parts[#parts + 1] = s2:feed(id) end
    assert.are.equal("🦙", table.concat(parts))
    assert.are.equal("", s2:flush())
  end)
end)

describe("tokenizer fuzz", function()
  -- Random strings of mixed code points and stray bytes; bounded in time.
  local function utf8char(cp)
    if cp < 0x80 then return string.char(cp) end
    if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
    if cp < 0x10000 then
      return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
    end
    return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
      0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  local pools = {
    function() return math.random(0, 127) end,
    function() return math.random(0x80, 0x7FF) end,
    function() return math.random(0x4E00, 0x9FFF) end,
    function() local c = math.random(0x800, 0xFFFF) if c >= 0xD800 and c <= 0xDFFF then c = 0x20 end return c end,
    function() return math.random(0x10000, 0x10FFFF) end,
  }
  local function random_text(n)
    local out = {}
    for i = 1, n do
      local r = math.random()
      if r < 0.05 then out[i] = string.char(math.random(0x80, 0xFF))
      elseif r < 0.25 then out[i] = ({ " ", "  ", "\n", "\t", "'s", "3" })[math.random(6)]
      else out[i] = utf8char(pools[math.random(#pools)]()) end
    end
    return table.concat(out)
  end

  it("decode(encode(s)) == s for random text with every vocabulary", function()
    math.randomseed(1234)
    for _, v in ipairs(vectors) do
      local t = open(v[2])
      if not t then return end
      local deadline = os.clock() + 0.6
      local n = 0
      while os.clock() < deadline do
        local s = random_text(math.random(0, 60))
        if v[2] == SPM then
          -- SentencePiece writes spaces as U+2581: a literal one comes back as a space
          s = s:gsub("\226\150\129", "_")
        end
        local ids = t:encode(s, { bos = false, special = n % 2 == 0 })
        assert.are.equal(s, t:decode(ids, { special = n % 2 == 0 }), ("%q"):format(s))
        n = n + 1
      end
      assert.is_true(n > 10)
    end
  end)
end)
