-- CPU kernels: every SIMD path against the scalar reference, for every type.
-- Tolerances: "random" rows (weights quantized from random floats, random
-- activations): |ref - simd| <= 1e-5 * sum|w_i a_i| (only the float
-- accumulation order differs: per-block integer sums are exact, float
-- weights are accumulated in float vs double in the reference).
-- "exact" rows (power-of-two scales, small integer activations): every
-- partial sum is representable, so ref == simd exactly. Activation
-- quantizers and the F16 -> F32 row conversion must be byte-identical.
local core = require("luallm").core

local weight_types = { "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                       "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K" }
local block = { F32 = 1, F16 = 1, BF16 = 1, Q4_0 = 32, Q4_1 = 32, Q5_0 = 32, Q5_1 = 32, Q8_0 = 32 }

local isas = {}
for _, isa in ipairs({ "avx2", "avx512" }) do
  if core.kernels_info(isa) then isas[#isas + 1] = isa end
end

local function lengths(ty)
  local b = block[ty] or 256
  if b == 1 then return { 8, 13, 256, 1000, 1536, 8960 } end
  if b == 32 then return { 32, 96, 160, 1024, 4096 } end
  return { 256, 768, 4096 }
end

describe("kernel dispatch", function()
  it("picks the level cpu_info reports", function()
    assert.are.equal(core.cpu_info().isa, core.kernels_info().isa)
    assert.truthy(core.kernels_info("scalar"))
  end)

  it("rejects unknown isas and types by name", function()
    local k, msg = core.kernels_info("sse9")
    assert.is_nil(k)
    assert.truthy(msg:find("sse9", 1, true))
    local r, m2 = core.quant_test_dot("Q7_X", "scalar", 256, 1)
    assert.is_nil(r)
    assert.truthy(m2:find("Q7_X", 1, true))
    local r3, m3 = core.quant_test_dot("IQ2_XXS", "scalar", 256, 1)
    assert.is_nil(r3)
    assert.truthy(m3:find("IQ2_XXS", 1, true))
  end)

  it("has SIMD kernels for the hot formats", function()
    for _, isa in ipairs(isas) do
      local simd = core.kernels_info(isa).simd
      for _, ty in ipairs({ "F16", "Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K" }) do
        assert.is_true(simd[ty] == true, isa .. " lacks " .. ty)
      end
    end
  end)
end)

for _, isa in ipairs(isas) do
  describe(isa .. " vec_dot", function()
    for _, ty in ipairs(weight_types) do
      it(ty .. " matches the reference (random rows, rel 1e-5)", function()
        for _, n in ipairs(lengths(ty)) do
          for seed = 1, 3 do
            local ref, simd, scale, act_same = assert(core.quant_test_dot(ty, isa, n, seed, "random"))
            assert.is_true(act_same, ("%s n=%d: activation bytes differ"):format(ty, n))
            local err = math.abs(ref - simd)
            assert.is_true(err <= 1e-5 * scale,
              ("%s n=%d seed=%d: ref %.9g simd %.9g (scale %.6g)"):format(ty, n, seed, ref, simd, scale))
          end
        end
      end)

      it(ty .. " is exact on exact rows", function()
        for _, n in ipairs(lengths(ty)) do
          for seed = 1, 3 do
            local ref, simd = assert(core.quant_test_dot(ty, isa, n, seed, "exact"))
            assert.are.equal(ref, simd, ("%s n=%d seed=%d"):format(ty, n, seed))
          end
        end
      end)
    end
  end)

  describe(isa .. " activation quantizers", function()
    local function rows(n)
      local out = {}
      local seed = 7
      local function rnd()
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed / 2147483648 * 2 - 1
      end
      local r = {}
      for i = 1, n do r[i] = rnd() * (i % 37 == 0 and 20 or 1) end
      out[#out + 1] = r
      local z = {}
      for i = 1, n do z[i] = 0 end
      out[#out + 1] = z -- all-zero blocks
      local t = {}
      for i = 1, n do t[i] = ((i % 9) - 4) * 0.5 end -- exact halves: rounding ties
      t[3] = -2 -- largest magnitude negative
      out[#out + 1] = t
      local u = {}
      for i = 1, n do u[i] = (i % 2 == 0) and 3 or -3 end -- +/- ties for the max
      out[#out + 1] = u
      return out
    end

    for _, ty in ipairs({ "Q8_0", "Q8_1", "Q8_K" }) do
      it(ty .. " is byte-identical to the reference", function()
        for _, x in ipairs(rows(512)) do
          local want = assert(core.quantize_act(ty, "scalar", x))
          local got = assert(core.quantize_act(ty, isa, x))
          assert.are.equal(want, got)
          assert.are.equal(want, assert(core.quantize(ty, x)))
        end
      end)
    end

    it("F16 -> F32 rows are byte-identical", function()
      local x = rows(1003)[1]
      local h = assert(core.quantize("F16", x))
      local want = assert(core.dequantize("F16", h)):bytes()
      assert.are.equal(want, assert(core.dequantize("F16", h, isa)):bytes())
    end)
  end)
end

-- vec_dot_n: one weight row against nt activation rows. Each result must be
-- bit-identical to the level's vec_dot (so a batched decode computes every
-- token exactly as an unbatched one) and within the usual tolerance of the
-- scalar reference; nt covers a full tile of 4, partial tiles and several.
-- Where a level has vec_dot_tile for the type (Q8_0 at avx512), three rows
-- through it must be bit-identical to vec_dot as well.
for _, isa in ipairs(isas) do
  describe(isa .. " vec_dot_n", function()
    local n_types = { "F32", "F16", "Q8_0" }
    if isa == "avx512" then
      for _, ty in ipairs({ "Q4_K", "Q5_K", "Q6_K" }) do n_types[#n_types + 1] = ty end
    end

    it("exists for the float, Q8_0 (and at avx512 the K) weights", function()
      local simd_n = core.kernels_info(isa).simd_n
      for _, ty in ipairs(n_types) do
        assert.is_true(simd_n[ty] == true, isa .. " lacks vec_dot_n " .. ty)
      end
    end)

    for _, ty in ipairs(n_types) do
      it(ty .. " equals vec_dot bit for bit and matches the reference", function()
        local ns = lengths(ty)
        if ty == "Q8_0" then ns[#ns + 1] = 40960 end -- past the tile kernel's row limit
        for _, n in ipairs(ns) do
          for _, nt in ipairs({ 1, 2, 3, 4, 5, 7, 8, 16, 17 }) do
            local same, err, tiled = core.quant_test_dot_n(ty, isa, n, nt, n + nt)
            assert(same ~= nil, err)
            assert.is_true(same, ("%s n=%d nt=%d: differs from vec_dot"):format(ty, n, nt))
            assert.are.equal(isa == "avx512" and ty == "Q8_0", tiled)
            assert.is_true(err <= 1e-5, ("%s n=%d nt=%d: rel err %g"):format(ty, n, nt, err))
          end
        end
      end)
    end

    it("is refused where the level has none", function()
      local r, msg = core.quant_test_dot_n("Q4_K", "scalar", 256, 4, 1)
      assert.is_nil(r)
      assert.truthy(msg:find("vec_dot_n", 1, true))
    end)
  end)
end

describe("vec_dot hook", function()
  it("computes a dot product from bytes and floats", function()
    local w = assert(core.quantize("Q8_0", { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 }))
    local a = {}
    for i = 1, 32 do a[i] = 1 end
    local s = assert(core.vec_dot("Q8_0", "scalar", w, a))
    assert.is_true(math.abs(s - 528) < 528 * 0.01)
    local nope, msg = core.vec_dot("Q8_0", "scalar", w, { 1, 2 })
    assert.is_nil(nope)
    assert.is_string(msg)
  end)
end)
