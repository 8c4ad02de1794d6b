-- Tokenizer throughput: encode ~1 MB of mixed English / Chinese / code text
-- with each available vocabulary, then decode it back.
--   make bench   (or: LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' lua5.4 bench/tokenizer_bench.lua)
-- Vocabularies come from ../shared (LUALLM_SHARED overrides); missing ones are skipped.
local core = require("luallm_core")

local shared = os.getenv("LUALLM_SHARED") or "../shared"
local vocabs = {
  { "qwen2 (deepseek-r1-qwen)", "models/micro-r1-qwen2-f16.gguf" },
  { "llama-bpe", "models/micro-r1-llama-f16.gguf" },
  { "deepseek-llm", "tokenizer/ggml-vocab-deepseek-llm.gguf" },
  { "gpt-2", "tokenizer/ggml-vocab-gpt-2.gguf" },
  { "llama-spm", "tokenizer/ggml-vocab-llama-spm.gguf" },
}

local english = [[
The quick brown fox jumps over the lazy dog. It's 3:45pm and we've been waiting
for 2,718 seconds; they'll arrive soon, won't they? "Tokenizers" split text into
pieces -- words, numbers like 3.14159 or 1e-9, punctuation!!! -- and then merge.
]]
local chinese = [[
深度求索的推理模型在数学和代码任务上表现出色。我们在本地运行量化后的模型，
并用卢阿脚本评估它们的准确率：每道题采样十六次，计算一致性和通过率。
今天天气很好，我们去公园散步吧！你觉得这个方法怎么样？
]]
local code = [[
static int heap_push(heap *h, pair p) {
    size_t i = h->n++;
    while (i > 0 && p.rank < h->v[(i - 1) / 2].rank) { h->v[i] = h->v[(i - 1) / 2]; i = (i - 1) / 2; }
    h->v[i] = p;  // sift up
    return 0;
}
for k, v in pairs({a = 1, b = "two", [3] = {0x1F, 077}}) do print(k, v) end
]]

local parts, size = {}, 0
while size < 1000000 do
  for _, p in ipairs({ english, chinese, code, "emoji: 🦙🚀✅ 🙂  \t\n\n" }) do
    parts[#parts + 1] = p
    size = size + #p
  end
end
local text = table.concat(parts)

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

print(("text: %d bytes"):format(#text))
for _, v in ipairs(vocabs) do
  local path = shared .. "/" .. v[2]
  if not exists(path) then
    print(("%-26s skipped (%s not found)"):format(v[1], path))
  else
    local t0 = os.clock()
    local tok = assert(core.tokenizer_open(path))
    local t1 = os.clock()
    local ids = tok:encode(text, { bos = false, special = false })
    local t2 = os.clock()
    local back = tok:decode(ids)
    local t3 = os.clock()
    assert(back == text, "round trip failed for " .. v[1])
    print(("%-26s load %6.1f ms  encode %6.1f ms (%5.2f MB/s, %d tokens)  decode %5.1f ms")
      :format(v[1], (t1 - t0) * 1e3, (t2 - t1) * 1e3, #text / 1e6 / (t2 - t1), #ids, (t3 - t2) * 1e3))
  end
end
