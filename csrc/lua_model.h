#ifndef LUA_MODEL_H
#define LUA_MODEL_H

#include "lua_compat.h"
#include "model.h"

#define LL_MODEL_MT "luallm.model"
#define LL_CONTEXT_MT "luallm.context"

struct ll_tokenizer;
typedef struct ll_lua_model {
    ll_model *m;
    struct ll_tokenizer *tok; /* built from the same file at load */
} ll_lua_model;

struct ll_context_params;
/* Reads {n_ctx, n_seq, n_batch, threads, kv_type} from the options table at
 * index t (absent fields: defaults) into p. Returns NULL, or a message
 * (without prefix) for a negative size or an unknown kv_type. */
const char *ll_lua_context_params(lua_State *L, int t, struct ll_context_params *p);

/* The model at stack index i; raises if it is not one or was closed. */
ll_model *ll_lua_check_model(lua_State *L, int i);

#endif
