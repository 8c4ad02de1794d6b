package = "luallm"
version = "scm-1"
source = { url = "git+https://example.invalid/luallm.git" }
description = {
  summary = "Run DeepSeek-R1-style reasoning models (GGUF) from Lua",
  detailed = "A C core (GGUF, quantized CPU/CUDA kernels, KV cache, tokenizer, samplers) with a Lua API.",
  license = "MIT",
}
dependencies = { "lua >= 5.1" }
build = {
  type = "make",
  build_variables = {
    LUA = "$(LUA)",
    LUA_INC = "$(LUA_INCDIR)",
  },
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
  },
  build_target = "all",
  install_target = "install",
}
