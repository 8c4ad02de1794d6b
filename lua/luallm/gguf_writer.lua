-- Writing GGUF files from Lua (the C writer does the work):
--
--   llm.gguf.write(path, {
--     from = g,               -- optional: copy every metadata key of an opened file
--     copy_tensors = true,    -- with from: also every tensor of g (bytes not copied in memory)
--     metadata = {            -- set / override keys (written in sorted key order)
--       ["general.name"] = "x",                            -- string
--       ["a.count"] = 5,                                   -- integers: uint32 (int32 if negative)
--       ["a.eps"] = {type = "float64", value = 1e-6},      -- explicit type
--       ["a.ids"] = {type = "array", elem = "int32", value = {1, 2}},
--     },
--     remove = {"key", ...},  -- drop keys (e.g. copied ones)
--     tensors = {{name =, type = "F16" | id, shape = {ne0, ne1, ...}, data = bytes},
--                {name =, from = g [, source = name]}},
--     alignment = 32,         -- power of two; default 32
--     sparse = true,          -- tensors may omit data: written as holes (header-only test files)
--   }) -> true | nil, msg
--
--   llm.gguf.writer([alignment]) -> w  (w:set, w:remove, w:copy_metadata,
--   w:add_tensor, w:write: the same steps one at a time, for tools)
local core = require("luallm_core")

local M = {}

function M.writer(alignment)
  if alignment ~= nil and (type(alignment) ~= "number" or alignment % 1 ~= 0) then
    return nil, "gguf.writer: alignment must be a power of two up to 1 MiB"
  end
  return core.gguf_writer(alignment)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then return nil, "gguf.write: metadata keys must be strings" end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

function M.write(path, spec)
  if type(path) ~= "string" then return nil, "gguf.write: path must be a string" end
  spec = spec or {}
  if type(spec) ~= "table" then return nil, "gguf.write: spec must be a table" end
  local w, err = M.writer(spec.alignment)
  if not w then return nil, err end
  local ok
  if spec.sparse then w:set_sparse(true) end
  if spec.from ~= nil then
    ok, err = w:copy_metadata(spec.from)
    if not ok then return nil, err end
  end
  if spec.metadata ~= nil then
    if type(spec.metadata) ~= "table" then return nil, "gguf.write: metadata must be a table" end
    local keys, kerr = sorted_keys(spec.metadata)
    if not keys then return nil, kerr end
    for _, k in ipairs(keys) do
      ok, err = w:set(k, spec.metadata[k])
      if not ok then return nil, err end
    end
  end
  for _, k in ipairs(spec.remove or {}) do w:remove(k) end
  if spec.copy_tensors then
    if spec.from == nil then return nil, "gguf.write: copy_tensors needs from" end
    for _, t in ipairs(spec.from.tensors) do
      ok, err = w:add_tensor({ name = t.name, from = spec.from })
      if not ok then return nil, err end
    end
  end
  for i, t in ipairs(spec.tensors or {}) do
    if type(t) ~= "table" then return nil, "gguf.write: tensors[" .. i .. "] must be a table" end
    ok, err = w:add_tensor(t)
    if not ok then return nil, err end
  end
  ok, err = w:write(path)
  w:free()
  return ok, err
end

return M
