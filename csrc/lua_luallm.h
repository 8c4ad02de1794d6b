/* The Lua binding: one file per exported object. Each lua_X.c registers its
 * functions into the module table on top of the stack. The binding holds no
 * model logic: it checks arguments, calls the core, converts results. */
#ifndef LUA_LUALLM_H
#define LUA_LUALLM_H

#include "lua_compat.h"

void ll_lua_open_gguf(lua_State *L);      /* core.gguf_open, core.type_info, floatbuf */
void ll_lua_open_model(lua_State *L);     /* core.model_load */
void ll_lua_open_context(lua_State *L);   /* core.context_new */
void ll_lua_open_quants(lua_State *L);    /* block-format and kernel test hooks */
void ll_lua_open_gguf_writer(lua_State *L); /* core.gguf_writer; g:value_type, g:copy_metadata_into */

/* The gguf_file of an open llm.gguf.open() result at index i; NULL when the
 * value is something else or the file was closed. */
#define LL_LUA_GGUF_MT "luallm.gguf"
struct gguf_file;
struct gguf_file *ll_lua_to_gguf(lua_State *L, int i);

struct ll_tokenizer;
/* lua_tokenizer.c: core.tokenizer_open; ll_lua_push_tokenizer wraps a
 * tokenizer owned by the value at owner_index (kept alive, never freed). */
void ll_lua_open_tokenizer(lua_State *L);
void ll_lua_push_tokenizer(lua_State *L, struct ll_tokenizer *t, int owner_index);
void ll_lua_open_logits(lua_State *L);  /* lua_logits.c: core.logits_from_table */
void ll_lua_open_sampler(lua_State *L); /* lua_sampler.c: core.sampler.* */
void ll_lua_open_plan(lua_State *L);    /* lua_plan.c: core.plan */
struct ll_sampler_chain;
struct ll_error;
/* lua_sampler.c: a fresh copy (same stages, new state) of the sampler at idx,
 * for use off the Lua thread; NULL with e set when it holds a Lua stage. */
struct ll_sampler_chain *ll_lua_sampler_clone_c(lua_State *L, int idx, struct ll_error *e);
/* lua_sampler.c: the chain of the sampler at idx itself (state shared), for
 * sampling in C; NULL with e set when it is no sampler or holds a Lua stage. */
struct ll_sampler_chain *ll_lua_sampler_chain_c(lua_State *L, int idx, struct ll_error *e);
void ll_lua_open_job(lua_State *L);     /* lua_job.c: core.job_start */
void ll_lua_open_ppl(lua_State *L);     /* lua_ppl.c: core.ppl_nll, core.ppl_kld */
void ll_lua_open_quantize(lua_State *L); /* lua_quantize.c: core.quantize */
void ll_lua_open_cuda(lua_State *L);    /* lua_cuda.c: core.cuda_info (CUDA builds only) */
void ll_lua_open_synth(lua_State *L);   /* lua_synth.c: core.synth_tensor */
struct gguf_writer;
/* lua_gguf_writer.c: the writer of a core.gguf_writer() value (raises an
 * error for anything else or a freed writer). */
struct gguf_writer *ll_lua_to_gguf_writer(lua_State *L, int i);

#endif
