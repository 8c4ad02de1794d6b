-- Block formats: reference dequantization bit-exact against llama.cpp's
-- output (shared/models/quant/quant-zoo.*), reference quantizers round-trip.
local llm = require("luallm")
local shared = require("support.shared")
local json = require("luallm.json")

local function read_all(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

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
