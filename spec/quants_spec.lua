-- Block formats: reference dequantization bit-exact against llama.cpp's
-- output (shared/models/quant/quant-zoo.*), reference quantizers round-trip.
local llm = require("luallm")
local files = require("support.files")
local shared = require("support.shared")
local json = require("luallm.json")

local read_all = files.read_all

describe("quant zoo (llama.cpp dequantization, bit-exact)", function()
  local zoo, ref, meta
  local function load()
    local g = shared.need("models/quant/quant-zoo.gguf")
    local j = shared.need("models/quant/quant-zoo.json")
    local f = shared.need("models/quant/quant-zoo.f32")
    if not (g and j and f) then return false end
    if not zoo then
      zoo = assert(llm.gguf.open(g))
      meta = json.decode(read_all(j))
      ref = read_all(f)
    end
    return true
  end

  local types = { "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                  "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K" }
  for _, ty in ipairs(types) do
    it("dequantizes " .. ty .. " exactly", function()
      if not load() then return end
      local found = false
      for _, t in ipairs(meta.tensors) do
        if t.type == ty then
          found = true
          local got = assert(zoo:dequantize(t.tensor)):bytes()
          local want = ref:sub(t.values_offset + 1, t.values_offset + 4 * t.n_values)
          assert.are.equal(4 * t.n_values, #got)
          if got ~= want then
            local i = 1
            while got:byte(i) == want:byte(i) do i = i + 1 end
            local e = math.floor((i - 1) / 4)
            error(("%s: first difference at element %d"):format(t.tensor, e))
          end
        end
      end
      assert.is_true(found)
    end)
  end
end)

describe("reference quantizers", function()
  local core = llm.core
  local function rows(n, seed)
    local x = {}
    local function rnd()
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648 * 2 - 1
    end
    for i = 1, n do x[i] = (rnd() + rnd() + rnd()) * 0.5 end
    return x
  end

  -- relative RMS error of dequantize(quantize(x)) on near-normal data; the
  -- bounds sit ~20% above what the formats reach (ggml's reference
  -- quantizers land at the same values).
  local bounds = { F16 = 3e-4, BF16 = 3e-3, Q8_0 = 6e-3, Q8_1 = 6e-3, Q8_K = 7e-3,
                   Q6_K = 0.02, Q5_0 = 0.047, Q5_1 = 0.044, Q5_K = 0.042,
                   Q4_0 = 0.095, Q4_1 = 0.09, Q4_K = 0.082, Q3_K = 0.17, Q2_K = 0.34 }
  for ty, bound in pairs(bounds) do
    it(ty .. " round-trips within its error budget", function()
      local x = rows(4096, 99)
      local b = assert(core.quantize(ty, x))
      assert.are.equal(core.type_info(ty).type_size * 4096 / core.type_info(ty).blck_size, #b)
      local y = assert(core.dequantize(ty, b))
      local e, s = 0, 0
      for i = 1, #x do
        e = e + (y[i] - x[i]) ^ 2
        s = s + x[i] ^ 2
      end
      local rel = math.sqrt(e / s)
      assert.is_true(rel < bound, ("%s: relative rms error %.4g >= %.4g"):format(ty, rel, bound))
    end)
  end

  it("Q8_0: d = amax / 127, q = round(x / d)", function()
    local x = {}
    for i = 1, 32 do x[i] = (i - 16) * 0.25 end -- amax 4 at i = 32
    local y = assert(core.dequantize("Q8_0", assert(core.quantize("Q8_0", x))))
    assert.is_true(math.abs(y[32] - 4) < 4e-3)
    assert.is_true(math.abs(y[16]) == 0)
  end)

  it("Q8_K: the largest-magnitude element maps to -127 with its sign", function()
    local x = {}
    for i = 1, 256 do x[i] = 0.01 * ((i % 7) - 3) end
    x[100] = -2.5
    local b = assert(core.quantize("Q8_K", x))
    -- block: float d, int8 qs[256], int16 bsums[16]
    local q100 = b:byte(4 + 100)
    assert.are.equal(256 - 127, q100) -- -127 as a byte
    local y = assert(core.dequantize("Q8_K", b))
    assert.is_true(math.abs(y[100] + 2.5) < 1e-6)
    -- bsums are the sums of each 16 quants
    local function i8(v) return v >= 128 and v - 256 or v end
    for g = 0, 15 do
      local s = 0
      for l = 1, 16 do s = s + i8(b:byte(4 + 16 * g + l)) end
      local lo, hi = b:byte(4 + 256 + 2 * g + 1, 4 + 256 + 2 * g + 2)
      local v = lo + 256 * hi
      if v >= 32768 then v = v - 65536 end
      assert.are.equal(s, v)
    end
  end)

  it("re-quantizing llama.cpp's Q8_0 values gives back its bytes", function()
    local g = shared.need("models/quant/quant-zoo.gguf")
    if not g then return end
    local z = assert(llm.gguf.open(g))
    local name = "Q8_0.blk.0.ffn_down.weight"
    local raw = z:tensor_bytes(name)
    assert.are.equal(raw, assert(core.quantize("Q8_0", assert(z:dequantize(name)))))
  end)

  it("names unknown and unsupported types in errors", function()
    local r, msg = core.quantize("Q9_9", { 1 })
    assert.is_nil(r)
    assert.truthy(msg:find("Q9_9", 1, true))
    r, msg = core.dequantize("IQ2_XXS", string.rep("\0", 66))
    assert.is_nil(r)
    assert.truthy(msg:find("IQ2_XXS", 1, true))
    r, msg = core.quantize("Q4_K", { 1, 2, 3 })
    assert.is_nil(r)
    assert.truthy(msg:find("Q4_K", 1, true))
  end)
end)
