-- luallm: run DeepSeek-R1-style reasoning models (GGUF) from Lua.
-- This module is the public API (see README.md); the heavy work is in the C
-- core (luallm_core), the composition in the Lua modules beside this file.
local core = require("luallm_core")

local M = {}

M.version = core.version
M.core = core
M.sampler = require("luallm.sampler")
M.reasoning = require("luallm.reasoning")

--- What this build can run on: {cpu = {threads, isa, features}, cuda = {compiled, devices}}.
function M.backends()
  local cuda = { compiled = false, devices = {} }
  if core.cuda_info then
    cuda = core.cuda_info()
  end
  return { cpu = core.cpu_info(), cuda = cuda }
end

return M
