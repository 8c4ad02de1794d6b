/* The Logits object shared by the context and sampler bindings.
 *
 * A "luallm.logits" userdata *begins* with ll_lua_logits; `data` points at
 * the n floats stored right after the header in the same userdata, so the
 * object owns its copy and is freed by Lua's GC. Producers (the context
 * binding) call ll_lua_push_logits; consumers (samplers) call
 * ll_lua_test_logits and read data[0..n). Lua methods: #l, l:get(id),
 * l:argmax(), l:topk(k) -> ids, values (token ids are 0-based). */
#ifndef LUA_LOGITS_H
#define LUA_LOGITS_H

#include "lua_compat.h"

#define LL_LUA_LOGITS_MT "luallm.logits"

typedef struct {
    const float *data;
    int n;
} ll_lua_logits;

/* Pushes a new Logits userdata holding a copy of src[0..n). */
void ll_lua_push_logits(lua_State *L, const float *src, int n);
/* The Logits at idx, or NULL when it is something else. */
const ll_lua_logits *ll_lua_test_logits(lua_State *L, int idx);
/* Registers the metatable, and core.logits_from_table(t) into the table on top. */
void ll_lua_open_logits(lua_State *L);

#endif
