-- Agreement with Hugging Face transformers (fp32) on the micro models:
-- last-position logits of every reference prompt, the full logits vector of
-- the first prompt, and greedy continuations token for token.
local shared = require("support.shared")
local json = require("luallm.json")
local core = require("luallm_core")

local TOL = 1e-2

for _, name in ipairs({ "micro-r1-qwen2", "micro-r1-llama" }) do
  describe("reference agreement " .. name, function()
    local ref, model, ctx

    local function setup()
      if model then return true end
      local rpath = shared.need("models/reference/" .. name .. ".json")
      local mpath = shared.need("models/" .. name .. "-f16.gguf")
      if not rpath or not mpath then return false end
      ref = assert(json.decode(assert(io.open(rpath, "rb")):read("a")))
      model = assert(core.model_load(mpath))
      ctx = assert(core.context_new(model, { n_ctx = 256 }))
      return true
    end

    it("matches the top-20 logits of every prompt within 1e-2, in order", function()
      if not setup() then return end
      assert.is_true(#ref.prompts >= 1)
      for _, p in ipairs(ref.prompts) do
        ctx:clear()
        assert(ctx:eval(p.prompt_ids))
        local l = ctx:logits_buf()
        local prev = math.huge
        for k = 1, 20 do
          local v = l[p.top20_ids[k] + 1]
          assert.is_true(math.abs(v - p.top20_logits[k]) <= TOL,
            string.format("%s: id %d logit %.5f vs %.5f", p.question, p.top20_ids[k], v, p.top20_logits[k]))
          assert.is_true(v <= prev + TOL)
          prev = v
        end
        -- the top-20 ids are also our top-20 ids (same order up to ties within TOL)
        assert.are.equal(p.top20_ids[1], ctx:argmax())
      end
    end)

    it("matches the full logits vector of the first prompt within 1e-2", function()
      if not setup() then return end
      local fpath = shared.need("models/reference/" .. name .. "-logits_0.f32")
      if not fpath then return end
      local raw = assert(io.open(fpath, "rb")):read("a")
      ctx:clear()
      assert(ctx:eval(ref.prompts[1].prompt_ids))
      local l = ctx:logits_buf()
      assert.are.equal(#raw / 4, #l)
      local worst = 0
      local unpack = string.unpack or function(_, s, pos)
        local b1, b2, b3, b4 = s:byte(pos, pos + 3)
        local bits = b1 + b2 * 256 + b3 * 65536 + b4 * 16777216
        local sign = bits >= 2 ^ 31 and -1 or 1
        local e = math.floor(bits / 2 ^ 23) % 256
        local mant = bits % 2 ^ 23
        if e == 0 then return sign * mant * 2 ^ -149 end
        return sign * (1 + mant / 2 ^ 23) * 2 ^ (e - 127)
      end
      for i = 1, #l do
        local d = math.abs(unpack("<f", raw, (i - 1) * 4 + 1) - l[i])
        if d > worst then worst = d end
      end
      assert.is_true(worst <= TOL, "max abs difference " .. worst)
    end)

    it("reproduces greedy_ids token for token", function()
      if not setup() then return end
      for _, p in ipairs(ref.prompts) do
        ctx:clear()
        assert(ctx:eval(p.prompt_ids))
        for i = 1, #p.greedy_ids do
          local t = ctx:argmax()
          assert.are.equal(p.greedy_ids[i], t, p.question .. " token " .. i)
          if i < #p.greedy_ids then assert(ctx:eval({ t })) end
        end
      end
    end)
  end)
end
