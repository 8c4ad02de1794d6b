-- Hand-corrupted GGUF files: every case must give nil and a message naming
-- the problem, never a crash. The files are made in a tmpdir from a real
-- header (micro-r1-qwen2's metadata with short vocab arrays, a few real
-- tensors) and patched at offsets found by the small layout walker below.
local llm = require("luallm")
local files = require("support.files")
local shared = require("support.shared")

local tmp = shared.tmpdir()
teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)

-- Little-endian integers without string.pack (LuaJIT has none); exact up to 2^53.
local function le(n, bytes)
  local t = {}
  for i = 1, bytes do
    local b = n % 256
    t[i] = string.char(b)
    n = (n - b) / 256
  end
  return table.concat(t)
end
local function u32(n) return le(n, 4) end
local function u64(n) return le(n, 8) end
local function rd(s, off, bytes) -- off is 0-based
  local n = 0
  for i = bytes, 1, -1 do n = n * 256 + s:byte(off + i) end
  return n
end
local function patch(s, off, bytes) return s:sub(1, off) .. bytes .. s:sub(off + #bytes + 1) end
local function gstr(s) return u64(#s) .. s end

local SIZES = { [0] = 1, 1, 2, 2, 4, 4, 4, 1, nil, nil, 8, 8, 8 }

-- Offsets of every field of a well-formed file.
local function walk(s)
  local L = { kv = {}, tensors = {} }
  local p = 24
  local function skip_value(t)
    if t == 8 then p = p + 8 + rd(s, p, 8)
    elseif t == 9 then
      local et, n = rd(s, p, 4), rd(s, p + 4, 8)
      p = p + 12
      if SIZES[et] then p = p + n * SIZES[et] else for _ = 1, n do skip_value(et) end end
    else p = p + SIZES[t] end
  end
  for _ = 1, rd(s, 16, 8) do
    local kv = { key_off = p }
    local klen = rd(s, p, 8)
    kv.key = s:sub(p + 9, p + 8 + klen)
    p = p + 8 + klen
    kv.type_off = p
    kv.type = rd(s, p, 4)
    p = p + 4
    kv.val_off = p
    skip_value(kv.type)
    kv.end_off = p
    L.kv[#L.kv + 1] = kv
    L.kv[kv.key] = kv
  end
  for _ = 1, rd(s, 8, 8) do
    local t = { name_off = p }
    local nlen = rd(s, p, 8)
    t.name = s:sub(p + 9, p + 8 + nlen)
    p = p + 8 + nlen
    t.ndims_off = p
    local nd = rd(s, p, 4)
    p = p + 4
    t.ne_off = p
    p = p + 8 * nd
    t.type_off = p
    t.offset_off = p + 4
    t.offset = rd(s, p + 4, 8)
    p = p + 12
    L.tensors[#L.tensors + 1] = t
  end
  L.header_end = p
  return L
end

local read_all = files.read_all

local n_files = 0
-- Opens bytes s as a file; returns the error message (fails if it opened).
local function open_err(s)
  n_files = n_files + 1
  local p = tmp .. "/c" .. n_files .. ".gguf"
  local f = assert(io.open(p, "wb"))
  f:write(s)
  f:close()
  local g, msg = llm.gguf.open(p)
  os.remove(p)
  if g then g:close() end
  assert.is_nil(g, "a corrupt file opened: case " .. n_files)
  assert.is_string(msg)
  return msg
end

local function rejects(s, pattern)
  local msg = open_err(s)
  assert.truthy(msg:find(pattern, 1, true), "expected '" .. pattern .. "' in: " .. msg)
end

-- The base files: built once from the real model.
local base, base64
local function bases()
  if base then return base, base64 end
  local p = shared.need("models/micro-r1-qwen2-f16.gguf")
  if not p then return nil end
  local g = assert(llm.gguf.open(p))
  local md = g.metadata
  local function head(a, n)
    local t = {}
    for i = 1, n do t[i] = a[i] end
    return t
  end
  for _, al in ipairs({ 32, 64 }) do
    local w = assert(llm.gguf.writer(al))
    assert(w:copy_metadata(g))
    assert(w:set("tokenizer.ggml.tokens", head(md["tokenizer.ggml.tokens"], 100), "array", "string"))
    assert(w:set("tokenizer.ggml.token_type", head(md["tokenizer.ggml.token_type"], 100), "array", "int32"))
    assert(w:set("tokenizer.ggml.merges", head(md["tokenizer.ggml.merges"], 50), "array", "string"))
    assert(w:add_tensor({ name = "output_norm.weight", from = g }))
    assert(w:add_tensor({ name = "blk.0.ffn_down.weight", type = "F16", shape = { 768, 2 },
                          data = g:tensor_bytes("blk.0.ffn_down.weight"):sub(1, 3072) }))
    assert(w:add_tensor({ name = "blk.0.attn_norm.weight", from = g }))
    assert(w:add_tensor({ name = "blk.0.ffn_norm.weight", from = g })) -- name as long as ffn_down's
    local out = tmp .. "/base" .. al .. ".gguf"
    assert(w:write(out))
    local h = assert(llm.gguf.open(out)) -- the base itself is valid
    h:close()
    if al == 32 then base = read_all(out) else base64 = read_all(out) end
  end
  g:close()
  return base, base64
end

describe("corrupt GGUF files", function()
  it("rejects files truncated at many points", function()
    local s = bases(); if not s then return end
    local L = walk(s)
    local cuts = { 0, 1, 3, 4, 5, 7, 8, 12, 16, 20, 23, 24, 25, L.header_end, L.header_end + 1, #s - 1 }
    for _, kv in ipairs(L.kv) do
      for _, c in ipairs({ kv.key_off + 3, kv.type_off, kv.type_off + 2, kv.val_off, kv.val_off + 5, kv.end_off - 1 }) do
        cuts[#cuts + 1] = c
      end
    end
    for _, t in ipairs(L.tensors) do
      for _, c in ipairs({ t.name_off + 1, t.ndims_off, t.ne_off + 4, t.type_off, t.offset_off + 7 }) do
        cuts[#cuts + 1] = c
      end
      cuts[#cuts + 1] = math.floor(rd(s, t.offset_off, 8) + (#s - 1) / 2) % #s
    end
    for step = 1, 40 do cuts[#cuts + 1] = math.floor(#s * step / 41) end
    local seen = {}
    for _, c in ipairs(cuts) do
      if c < #s and not seen[c] then
        seen[c] = true
        local msg = open_err(s:sub(1, c))
        assert.truthy(msg:find("truncat") or msg:find("too small") or msg:find("past the end")
          or msg:find("outside the data section") or msg:find("larger than the file") or msg:find("empty"),
          "cut at " .. c .. ": " .. msg)
      end
    end
    assert.is_true(#cuts > 150)
  end)

  it("rejects a prefix of the real model (truncated inside the vocabulary)", function()
    local p = shared.need("models/micro-r1-qwen2-f16.gguf")
    if not p then return end
    local f = assert(io.open(p, "rb"))
    local s = f:read(65536)
    f:close()
    rejects(s, "is larger than the file allows")
  end)

  it("rejects a wrong magic and unsupported versions", function()
    local s = bases(); if not s then return end
    rejects(patch(s, 0, "GGUX"), "bad magic")
    rejects("GGML" .. s:sub(5), "bad magic")
    rejects(patch(s, 4, u32(1)), "version 1")
    rejects(patch(s, 4, u32(99)), "unsupported version 99")
    rejects(patch(s, 4, "\0\0\0\3"), "big-endian")
    rejects(patch(s, 4, u32(0)), "unsupported version 0")
  end)

  it("rejects absurd counts and lengths", function()
    local s = bases(); if not s then return end
    local L = walk(s)
    rejects(patch(s, 16, u64(2 ^ 60)), "metadata count")
    rejects(patch(s, 16, u64(2 ^ 53)), "metadata count")
    rejects(patch(s, 8, u64(2 ^ 60)), "tensor count")
    rejects(patch(s, 8, u64(1e6)), "tensor count")
    rejects(patch(s, L.kv[1].key_off, u64(2 ^ 62)), "string length")
    rejects(patch(s, L.kv[1].key_off, u64(#s)), "runs past the end")
    local name = L.kv["general.name"]
    rejects(patch(s, name.val_off, u64(2 ^ 50)), "string length")
    local tok = L.kv["tokenizer.ggml.tokens"]
    rejects(patch(s, tok.val_off + 4, u64(2 ^ 58)), "array count")
    rejects(patch(s, tok.val_off + 12, u64(2 ^ 40)), "string length")
    local tt = L.kv["tokenizer.ggml.token_type"]
    rejects(patch(s, tt.val_off + 4, u64(2 ^ 62)), "runs past the end")
    rejects(patch(s, L.tensors[1].name_off, u64(2 ^ 63)), "string length")
  end)

  it("rejects unknown value and element types", function()
    local s = bases(); if not s then return end
    local L = walk(s)
    rejects(patch(s, L.kv["general.name"].type_off, u32(13)), "unknown value type 13")
    rejects(patch(s, L.kv["general.name"].type_off, u32(0xffffffff)), "unknown value type")
    rejects(patch(s, L.kv["tokenizer.ggml.tokens"].val_off, u32(42)), "unknown array element type 42")
    local bos = L.kv["tokenizer.ggml.add_bos_token"]
    rejects(patch(s, bos.val_off, "\2"), "neither 0 nor 1")
  end)

  it("rejects bad tensor infos", function()
    local s = bases(); if not s then return end
    local L = walk(s)
    local t1, t2 = L.tensors[1], L.tensors[2] -- F32 {256}, F16 {768, 2}
    rejects(patch(s, t1.type_off, u32(4)), "unknown type id 4")
    rejects(patch(s, t1.type_off, u32(99)), "unknown type id 99")
    rejects(patch(s, t1.ndims_off, u32(0)), "0 dimensions")
    rejects(patch(s, t1.ndims_off, u32(5)), "5 dimensions")
    rejects(patch(s, t2.ne_off + 8, u64(0)), "dimension 1 of size 0")
    rejects(patch(s, t2.ne_off, u64(2 ^ 40) .. u64(2 ^ 40)), "overflows")
    rejects(patch(s, t1.ne_off, u64(2 ^ 63)), "dimension 0 of size")
    rejects(patch(patch(s, t1.type_off, u32(12)), t1.ne_off, u64(100)), "not a multiple of the Q4_K block size")
    rejects(patch(s, t1.offset_off, u64(2 ^ 40)), "outside the data section")
    rejects(patch(s, t1.offset_off, u64(#s)), "outside the data section")
    rejects(patch(s, t2.offset_off, u64(t2.offset + 1)), "not aligned")
    rejects(patch(s, t2.offset_off, u64(t1.offset)), "overlap")
    rejects(patch(s, t1.ne_off, u64(512)), "overlap")
    local t4 = L.tensors[4]
    assert.equal(#t2.name, #t4.name)
    rejects(patch(s, t4.name_off + 8, t2.name), "duplicate tensor 'blk.0.ffn_down.weight'")
  end)

  it("rejects a bad general.alignment", function()
    local _, s = bases(); if not s then return end
    local L = walk(s)
    local al = L.kv["general.alignment"]
    assert.equal(64, rd(s, al.val_off, 4))
    rejects(patch(s, al.val_off, u32(48)), "not a power of two")
    rejects(patch(s, al.val_off, u32(0)), "not a power of two")
    rejects(patch(s, al.val_off, u32(2 ^ 31)), "not a power of two up to 1 MiB")
    rejects(patch(s, al.type_off, u32(5)), "must be an unsigned integer")
    -- alignment 1 is a power of two, but tensor data must still suit its type
    local one = patch(s, al.val_off, u32(1))
    local he = walk(one).header_end
    local o = (he + 1) % 4 ~= 0 and 1 or 2
    rejects(patch(one, L.tensors[1].offset_off, u64(o)), "not aligned to 4 bytes for its type F32")
    -- 32 is valid, but the data offsets were laid out for 64: still consistent
    local g = assert(llm.gguf.open(tmp .. "/base64.gguf"))
    assert.equal(64, g.alignment)
    g:close()
  end)

  it("rejects arrays nested too deep and duplicate keys", function()
    local function file(kvs)
      return "GGUF" .. u32(3) .. u64(0) .. u64(#kvs) .. table.concat(kvs)
    end
    local function nested(depth)
      local v = u32(0) .. u64(0) -- innermost: empty uint8 array
      for _ = 2, depth do v = u32(9) .. u64(1) .. v end
      return gstr("deep") .. u32(9) .. v
    end
    -- 8 levels are allowed, 9 are not
    local ok = tmp .. "/deep8.gguf"
    local f = assert(io.open(ok, "wb")); f:write(file({ nested(8) })); f:close()
    local g = assert(llm.gguf.open(ok))
    g:close()
    rejects(file({ nested(9) }), "nested deeper than 8")
    rejects(file({ nested(1000) }), "nested deeper than 8")
    local kv = gstr("a") .. u32(4) .. u32(1)
    rejects(file({ kv, kv }), "duplicate metadata 'a'")
  end)

  it("rejects empty and tiny files", function()
    local msg = open_err("")
    assert.truthy(msg:find("empty", 1, true), msg)
    rejects("GG", "too small")
    rejects("GGUF", "truncated")
    local dir = llm.gguf.open(tmp)
    assert.is_nil(dir)
  end)
end)
