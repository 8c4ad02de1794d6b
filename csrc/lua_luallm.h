/* The Lua binding: one file per exported object. Each lua_X.c registers its
 * functions into the module table on top of the stack. The binding holds no
 * model logic: it checks arguments, calls the core, converts results. */
#ifndef LUA_LUALLM_H
#define LUA_LUALLM_H

#include "lua_compat.h"

void ll_lua_open_gguf(lua_State *L);      /* core.gguf_open, core.type_info, floatbuf */
void ll_lua_open_model(lua_State *L);     /* core.model_load */
void ll_lua_open_context(lua_State *L);   /* core.context_new */

struct ll_tokenizer;
/* lua_tokenizer.c: core.tokenizer_open; ll_lua_push_tokenizer wraps a
 * tokenizer owned by the value at owner_index (kept alive, never freed). */
void ll_lua_open_tokenizer(lua_State *L);
void ll_lua_push_tokenizer(lua_State *L, struct ll_tokenizer *t, int owner_index);
void ll_lua_open_logits(lua_State *L);  /* lua_logits.c: core.logits_from_table */
void ll_lua_open_sampler(lua_State *L); /* lua_sampler.c: core.sampler.* */
void ll_lua_open_cuda(lua_State *L);    /* lua_cuda.c: core.cuda_info (CUDA builds only) */

#endif
