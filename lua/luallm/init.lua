-- luallm: run DeepSeek-R1-style reasoning models (GGUF) from Lua.
-- This module is the public API (see README.md); the heavy work is in the C
-- core (luallm_core), the composition in the Lua modules beside this file.
local core = require("luallm_core")

local M = {}

M.version = core.version
M.core = core
M.sampler = require("luallm.sampler")
M.reasoning = require("luallm.reasoning")

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

--- Tokenizer of a GGUF file, without loading weights: llm.tokenizer.open(path).
M.tokenizer = {
  open = function(path)
    return core.tokenizer_open(path)
  end,
}

local model = require("luallm.model")

--- llm.load(path, opts) -> Model | nil, msg (see luallm/model.lua)
M.load = model.load

--- llm.chat_template(model, messages, {add_generation_prompt = true, thinking = bool})
function M.chat_template(m, messages, opts)
  return m:chat_template(messages, opts)
end

M.chat = require("luallm.chat")
M.plan = require("luallm.plan").plan -- memory plan: luallm/plan.lua, docs/plan.md
M.perplexity = require("luallm.perplexity").perplexity
M.quantize = function(...) return require("luallm.quantize").quantize(...) end
M.synth = function(...) return require("luallm.synth").synth(...) end -- random-weight models: luallm/synth.lua
M.eval = require("luallm.eval")
M.mpi = require("luallm.mpi") -- optional MPI (luallm_mpi module): sharded `luallm eval`

return M
