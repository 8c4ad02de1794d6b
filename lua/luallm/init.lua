-- luallm: run DeepSeek-R1-style reasoning models (GGUF) from Lua.
-- This module is the public API (see README.md); the heavy work is in the C
-- core (luallm_core), the composition in the Lua modules beside this file.
local core = require("luallm_core")

local M = {}

M.version = core.version
M.core = core

--- GGUF inspection without loading weights: llm.gguf.open(path) -> g | nil, msg
M.gguf = {
  open = function(path)
    if type(path) ~= "string" then return nil, "gguf.open: path must be a string" end
    return core.gguf_open(path)
  end,
  write = require("luallm.gguf_writer").write,   -- see lua/luallm/gguf_writer.lua
  writer = require("luallm.gguf_writer").writer,
}

--- Summary of a GGUF file (architecture, sizes, quant mix): see luallm/inspect.lua
function M.inspect(path) return require("luallm.inspect").inspect(path) end

--- What this build can run on: {cpu = {threads, isa, features}, cuda = {compiled, devices}}.
function M.backends()
  local cuda = { compiled = false, devices = {} }
  if core.cuda_info then
    cuda = core.cuda_info()
  end
  return { cpu = core.cpu_info(), cuda = cuda }
end

return M
