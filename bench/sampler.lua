-- Sampler costs on a 152,064-token vocabulary (DeepSeek-R1-Distill-Qwen).
-- Prints ms per s:sample() call, median of repeated runs, for built-in
-- chains and for Lua custom stages (the cost of crossing into Lua).
--   make bench   or   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' lua5.4 bench/sampler.lua
local llm = require("luallm")
local S = llm.sampler

local N_VOCAB = 152064

local function fake_logits(n, seed)
  local t, x = {}, seed
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    t[i] = (x / 2147483648) * 30 - 20
  end
  return t
end

local tbl = fake_logits(N_VOCAB, 7)
local logits = S.logits_from_table(tbl)

local function median(xs)
  table.sort(xs)
  return xs[math.floor((#xs + 1) / 2)]
end

local function bench(name, s, input, reps)
  input = input or logits
  reps = reps or 30
  s:sample(input) -- warm up (buffers, JIT)
  local times = {}
  for r = 1, reps do
    local t0 = os.clock()
    s:sample(input)
    times[r] = (os.clock() - t0) * 1000
  end
  print(string.format("%-58s %8.3f ms", name, median(times)))
  return median(times)
end

-- float32 little-endian decoder that works without string.unpack (LuaJIT)
local function f32(b1, b2, b3, b4)
  local sign = b4 >= 128 and -1 or 1
  local exp = (b4 % 128) * 2 + math.floor(b3 / 128)
  local man = ((b3 % 128) * 256 + b2) * 256 + b1
  if exp == 255 then return man == 0 and sign * math.huge or 0 / 0 end
  if exp == 0 then return sign * man * 2 ^ -149 end
  return sign * (1 + man / 2 ^ 23) * 2 ^ (exp - 127)
end

-- Real last-position logits of the micro R1-Qwen2 model (peaked, as in use).
local function real_logits()
  local root = os.getenv("LUALLM_SHARED") or "../shared"
  local f = io.open(root .. "/models/reference/micro-r1-qwen2-logits_0.f32", "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  local t = {}
  for i = 1, #data - 3, 4 do t[#t + 1] = f32(data:byte(i, i + 3)) end
  return S.logits_from_table(t)
end

print(string.format("sampler bench: %s, vocabulary %d", _VERSION .. (jit and (" / " .. jit.version) or ""), N_VOCAB))
bench("greedy", S.greedy())
bench("greedy, logits from a Lua table", S.greedy(), tbl, 10)
bench("r1_defaults (top_p 0.95 -> temperature 0.6 -> dist)", S(S.r1_defaults()))
bench("top_k 40 -> top_p 0.95 -> min_p 0.05 -> temp 0.6 -> dist",
  S({ top_k = 40, top_p = 0.95, min_p = 0.05, temperature = 0.6, seed = 1 }))
bench("penalties (last 64) -> top_k 40 -> temp -> dist",
  S({ top_k = 40, temperature = 0.6, repeat_penalty = 1.1, seed = 1 }))
bench("custom no-op (full vocab) -> greedy", S.chain({ S.custom(function() end), S.greedy() }))
-- the crossing itself, timed over many calls on a small vocabulary
do
  local small = S.logits_from_table(fake_logits(16, 3))
  local function per_call(s, n)
    local t0 = os.clock()
    for _ = 1, n do s:sample(small) end
    return (os.clock() - t0) / n * 1e6
  end
  local g, c = S.greedy(), S.chain({ S.custom(function() end), S.greedy() })
  per_call(g, 1000); per_call(c, 1000)
  local d = per_call(c, 200000) - per_call(g, 200000)
  print(string.format("%-58s %8.3f us", "  => one Lua stage call (view + pcall), 16 candidates", d))
end
bench("custom reading every logit (152k cand:logit) -> greedy", S.chain({ S.custom(function(c)
  local m = -math.huge
  for i = 1, #c do
    local l = c:logit(i)
    if l > m then m = l end
  end
end), S.greedy() }), nil, 5)
bench("top_k 40 -> custom entropy temperature -> dist", S.chain({ S.top_k(40), S.custom(function(c)
  local h = 0
  for i = 1, #c do
    local p = c:p(i)
    if p > 0 then h = h - p * math.log(p) end
  end
  local t = 0.3 + 0.2 * h
  for i = 1, #c do c:set_logit(i, c:logit(i) / t) end
end), S.dist(1) }))

local real = real_logits()
if real then
  print(string.format("real logits (micro-r1-qwen2 reference, vocabulary %d):", #real))
  bench("  greedy", S.greedy(), real)
  bench("  r1_defaults (top_p 0.95 -> temperature 0.6 -> dist)", S(S.r1_defaults()), real)
  bench("  top_k 40 -> top_p 0.95 -> min_p 0.05 -> temp 0.6 -> dist",
    S({ top_k = 40, top_p = 0.95, min_p = 0.05, temperature = 0.6, seed = 1 }), real)
  bench("  custom no-op -> r1_defaults", S.chain({ S.custom(function() end), S(S.r1_defaults()) }), real)
else
  print("real logits: skipped (set LUALLM_SHARED)")
end
