-- The GGUF writer: round trips (every key, value type and tensor byte),
-- explicit and inferred value types, alignment, and failures that leave
-- nothing behind.
local llm = require("luallm")
local files = require("support.files")
local shared = require("support.shared")

local tmp = shared.tmpdir()
teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)

local listdir = files.listdir

local read_all, write_file = files.read, files.write

-- Deep equality without assert.same's cost on 150k-element arrays.
local function same(a, b, path)
  if type(a) ~= type(b) then return false, path end
  if type(a) ~= "table" then return a == b, path end
  if #a ~= #b then return false, path end
  for k, v in pairs(a) do
    local ok, where = same(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, where end
  end
  return true
end

local function keys_of(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- Every key (but the layout key), value, value type and tensor byte of a in b.
local function assert_same_file(a, b)
  local ma, mb = a.metadata, b.metadata
  for _, k in ipairs(keys_of(ma)) do
    if k ~= "general.alignment" then
      local ta, ea = a:value_type(k)
      local tb, eb = b:value_type(k)
      assert.equal(ta, tb, k)
      assert.equal(ea, eb, k)
      local ok, where = same(ma[k], mb[k], k)
      assert.is_true(ok, where)
    end
  end
  for _, k in ipairs(keys_of(mb)) do
    if k ~= "general.alignment" then assert.is_not_nil(ma[k], "extra key " .. k) end
  end
  assert.equal(a.n_tensors, b.n_tensors)
  for i, t in ipairs(a.tensors) do
    local u = b.tensors[i]
    assert.equal(t.name, u.name)
    assert.equal(t.type, u.type)
    assert.same(t.shape, u.shape)
    assert.equal(t.nbytes, u.nbytes)
    assert.is_true(a:tensor_bytes(t.name) == b:tensor_bytes(t.name), t.name)
  end
end

describe("gguf writer round trip of a real model", function()
  for _, case in ipairs({
    { file = "models/micro-r1-llama-f16.gguf", alignment = 32 },
    { file = "models/micro-r1-qwen2-f16.gguf", alignment = 64 },
  }) do
    it("copies " .. case.file .. " with alignment " .. case.alignment, function()
      local p = shared.need(case.file)
      if not p then return end
      local g = assert(llm.gguf.open(p))
      local out = tmp .. "/copy-" .. case.alignment .. ".gguf"
      assert.is_true(llm.gguf.write(out, { from = g, copy_tensors = true, alignment = case.alignment }))
      assert.equal("copy-" .. case.alignment .. ".gguf", listdir(tmp):match("copy%-" .. case.alignment .. "%.gguf"))
      local h = assert(llm.gguf.open(out))
      assert.equal(3, h.version)
      assert.equal(case.alignment, h.alignment)
      assert.equal(0, h.data_offset % case.alignment)
      assert.equal(0, h.file_size % case.alignment)
      for _, t in ipairs(h.tensors) do assert.equal(0, t.offset % case.alignment) end
      if case.alignment == 32 then
        assert.is_nil(h.metadata["general.alignment"])
        assert.equal(g.file_size, h.file_size) -- same layout as llama.cpp's
      else
        assert.equal(64, h.metadata["general.alignment"])
        assert.equal("uint32", h:value_type("general.alignment"))
      end
      assert_same_file(g, h)
      h:close()
      g:close()
    end)
  end
end)

describe("gguf writer value types", function()
  local function roundtrip(spec)
    local out = tmp .. "/types.gguf"
    local ok, err = llm.gguf.write(out, spec)
    assert.is_true(ok, err)
    return assert(llm.gguf.open(out))
  end

  it("writes every scalar and array type when asked explicitly", function()
    local g = roundtrip({ metadata = {
      u8 = { type = "uint8", value = 255 }, i8 = { type = "int8", value = -128 },
      u16 = { type = "uint16", value = 65535 }, i16 = { type = "int16", value = -32768 },
      u32 = { type = "uint32", value = 4294967295 }, i32 = { type = "int32", value = -2147483648 },
      u64 = { type = "uint64", value = 2 ^ 53 }, i64 = { type = "int64", value = -(2 ^ 53) },
      f32 = { type = "float32", value = 0.15625 }, f64 = { type = "float64", value = 0.1 },
      b = { type = "bool", value = false }, s = { type = "string", value = "h\0é<think>" },
      ai8 = { type = "array", elem = "int8", value = { -1, 2, -3 } },
      af64 = { type = "array", elem = "float64", value = { 0.1, -2.5 } },
      ab = { type = "array", elem = "bool", value = { true, false, true } },
      as = { type = "array", elem = "string", value = { "", "a", "\0" } },
      empty = { type = "array", elem = "uint16", value = {} },
      nested = { type = "array", elem = "array", value = {
        { type = "array", elem = "uint8", value = { 1, 2 } }, { "x", "y" }, { 1.5 } } },
    } })
    local md = g.metadata
    local want = {
      u8 = { "uint8", 255 }, i8 = { "int8", -128 }, u16 = { "uint16", 65535 },
      i16 = { "int16", -32768 }, u32 = { "uint32", 4294967295 }, i32 = { "int32", -2147483648 },
      u64 = { "uint64", 2 ^ 53 }, i64 = { "int64", -(2 ^ 53) }, f32 = { "float32", 0.15625 },
      f64 = { "float64", 0.1 }, b = { "bool", false }, s = { "string", "h\0é<think>" },
    }
    for k, w in pairs(want) do
      assert.equal(w[1], g:value_type(k), k)
      assert.equal(w[2], md[k], k)
    end
    local function arr(k, elem, value)
      local t, e = g:value_type(k)
      assert.equal("array", t, k)
      assert.equal(elem, e, k)
      assert.same(value, md[k])
    end
    arr("ai8", "int8", { -1, 2, -3 })
    arr("af64", "float64", { 0.1, -2.5 })
    arr("ab", "bool", { true, false, true })
    arr("as", "string", { "", "a", "\0" })
    arr("empty", "uint16", {})
    arr("nested", "array", { { 1, 2 }, { "x", "y" }, { 1.5 } })
    g:close()
    -- keys are written in sorted order: the same input gives the same file
    assert.is_true(llm.gguf.write(tmp .. "/s1.gguf", { metadata = { b = false, a = 1, c = "x" } }))
    assert.is_true(llm.gguf.write(tmp .. "/s2.gguf", { metadata = { c = "x", a = 1, b = false } }))
    assert.equal(read_all(tmp .. "/s1.gguf"), read_all(tmp .. "/s2.gguf"))
  end)

  it("infers types of plain Lua values", function()
    local g = roundtrip({ metadata = {
      count = 5, neg = -5, big = 2 ^ 40, half = 0.5, name = "x", flag = true,
      ids = { 1, 2, 3 }, signed = { 1, -2 }, floats = { 1, 0.5 }, words = { "a", "b" },
      flags = { true }, grid = { { 1 }, { 2, 3 } },
    } })
    local types = {
      count = "uint32", neg = "int32", big = "uint64", half = "float32", name = "string", flag = "bool",
    }
    for k, t in pairs(types) do assert.equal(t, g:value_type(k), k) end
    local elems = { ids = "uint32", signed = "int32", floats = "float32", words = "string", flags = "bool", grid = "array" }
    for k, e in pairs(elems) do
      local t, et = g:value_type(k)
      assert.equal("array", t)
      assert.equal(e, et, k)
    end
    assert.same({ { 1 }, { 2, 3 } }, g.metadata.grid)
    assert.equal(2 ^ 40, g.metadata.big)
    g:close()
  end)

  it("writes tensors of several types and shapes byte for byte", function()
    local function bytes(n, seed)
      local t = {}
      for i = 1, n do t[i] = string.char((i * 31 + seed) % 256) end
      return table.concat(t)
    end
    local tensors = {
      { name = "a.f32", type = "F32", shape = { 3 }, data = bytes(12, 1) },
      { name = "b.f16", type = "F16", shape = { 4, 3, 2, 1 }, data = bytes(48, 2) },
      { name = "c.q8_0", type = "Q8_0", shape = { 64, 2 }, data = bytes(2 * 2 * 34, 3) },
      { name = "d.q4_k", type = 12, shape = { 256, 3 }, data = bytes(3 * 144, 4) },
      { name = "e.q6_k", type = "Q6_K", shape = { 512 }, data = bytes(2 * 210, 5) },
    }
    for _, al in ipairs({ 32, 64 }) do
      local out = tmp .. "/tensors-" .. al .. ".gguf"
      assert.is_true(llm.gguf.write(out, { metadata = { x = 1 }, tensors = tensors, alignment = al }))
      local g = assert(llm.gguf.open(out))
      assert.equal(al, g.alignment)
      assert.equal(#tensors, g.n_tensors)
      for i, t in ipairs(tensors) do
        local u = g.tensors[i]
        assert.equal(t.name, u.name)
        assert.equal(type(t.type) == "number" and "Q4_K" or t.type, u.type)
        assert.same(t.shape, u.shape)
        assert.equal(0, u.offset % al)
        assert.equal(t.data, g:tensor_bytes(t.name))
      end
      g:close()
    end
  end)

  it("builds a file step by step with the writer object", function()
    local p = shared.need("models/micro-r1-llama-f16.gguf")
    if not p then return end
    local src = assert(llm.gguf.open(p))
    local w = assert(llm.gguf.writer(128))
    assert.equal(128, w:alignment())
    assert.is_true(src:copy_metadata_into(w))
    assert.is_true(w:set("general.file_type", 15, "uint32"))
    assert.is_true(w:set("general.name", "renamed"))
    assert.is_true(w:remove("tokenizer.chat_template"))
    assert.is_false(w:remove("tokenizer.chat_template"))
    assert.is_true(w:add_tensor({ name = "norm", from = src, source = "output_norm.weight" }))
    local out = tmp .. "/steps.gguf"
    assert.is_true(w:write(out))
    local g = assert(llm.gguf.open(out))
    assert.equal(128, g.alignment)
    assert.equal(15, g.metadata["general.file_type"])
    assert.equal("renamed", g.metadata["general.name"])
    assert.is_nil(g.metadata["tokenizer.chat_template"])
    assert.equal(128256, #g.metadata["tokenizer.ggml.tokens"])
    assert.equal(src:tensor_bytes("output_norm.weight"), g:tensor_bytes("norm"))
    -- a closed source file is refused, not read after unmapping
    local w2 = assert(llm.gguf.writer())
    assert.is_true(w2:add_tensor({ name = "t", from = src, source = "output_norm.weight" }))
    src:close()
    local ok, err = w2:write(tmp .. "/closed.gguf")
    assert.is_nil(ok)
    assert.truthy(err:find("closed", 1, true))
    assert.is_nil(read_all(tmp .. "/closed.gguf"))
    g:close()
  end)
end)

describe("gguf writer failures", function()
  local function fails(spec, pattern, path)
    path = path or (tmp .. "/fail/out.gguf")
    os.execute("mkdir -p '" .. tmp .. "/fail'")
    local before = listdir(tmp .. "/fail")
    local ok, err = llm.gguf.write(path, spec)
    assert.is_nil(ok)
    assert.is_string(err)
    assert.truthy(err:find(pattern, 1, true), err)
    assert.equal(before, listdir(tmp .. "/fail"))
  end

  it("rejects bad values with a message naming the key", function()
    fails({ metadata = { k = { type = "uint8", value = 300 } } }, "'k'")
    fails({ metadata = { k = { type = "uint32", value = -1 } } }, "does not fit uint32")
    fails({ metadata = { k = { type = "int32", value = 0.5 } } }, "needs an integer")
    fails({ metadata = { k = { type = "bool", value = 1 } } }, "needs a boolean")
    fails({ metadata = { k = { type = "nope", value = 1 } } }, "unknown value type 'nope'")
    fails({ metadata = { k = {} } }, "empty array 'k' needs an element type")
    fails({ metadata = { k = { 1, "a" } } }, "mixes")
    fails({ metadata = { k = { type = "array", elem = "uint8", value = { 1, 256 } } } }, "element 2 of 'k'")
    fails({ metadata = { k = print } }, "cannot store")
    fails({ metadata = { [""] = 1 } }, "key must be 1 to")
    fails({ metadata = { ["general.alignment"] = 48 } }, "general.alignment")
    local deep = { 1 }
    for _ = 1, 8 do deep = { deep } end
    fails({ metadata = { k = deep } }, "nested deeper than 8")
  end)

  it("rejects bad tensors", function()
    local function t(over)
      local base = { name = "t", type = "F32", shape = { 2 }, data = string.rep("\0", 8) }
      for k, v in pairs(over) do base[k] = v end
      return { tensors = { base } }
    end
    fails(t({ data = "abc" }), "data is 3 bytes")
    fails(t({ type = "NOPE" }), "unknown type")
    fails(t({ type = 4 }), "unknown type")
    fails(t({ shape = { 2, 0 } }), "dimension 1 of size 0")
    fails(t({ shape = { 1, 1, 1, 1, 2 } }), "5 dimensions")
    fails(t({ shape = {} }), "0 dimensions")
    fails(t({ type = "Q4_K", shape = { 100 }, data = "" }), "not a multiple of the Q4_K block size")
    fails(t({ name = "" }), "tensor name")
    fails(t({ data = false }), "needs data")
    local dup = t({})
    dup.tensors[2] = dup.tensors[1]
    fails(dup, "duplicate tensor 't'")
    fails({ alignment = 48 }, "alignment")
    fails({ alignment = 0.5 }, "alignment")
  end)

  it("leaves nothing when the directory cannot be written", function()
    write_file(tmp .. "/fail/notadir", "x")
    fails({ metadata = { a = 1 } }, "cannot create a temporary file", tmp .. "/fail/notadir/out.gguf")
    fails({ metadata = { a = 1 } }, "cannot create a temporary file", tmp .. "/fail/missing/out.gguf")
  end)

  it("removes its temporary file when the final rename fails", function()
    os.execute("mkdir -p '" .. tmp .. "/fail/adir'")
    fails({ metadata = { a = 1 } }, "cannot rename", tmp .. "/fail/adir")
  end)

  it("replaces an existing file only when the write succeeds", function()
    local out = tmp .. "/fail/existing.gguf"
    write_file(out, "old contents")
    fails({ metadata = { k = { type = "uint8", value = 999 } } }, "'k'", out)
    assert.equal("old contents", read_all(out))
    assert.is_true(llm.gguf.write(out, { metadata = { k = 1 } }))
    local g = assert(llm.gguf.open(out))
    assert.equal(1, g.metadata.k)
    g:close()
    local h = io.popen("stat -c %a '" .. out .. "'")
    assert.equal("644", h:read("*l"))
    h:close()
  end)
end)
