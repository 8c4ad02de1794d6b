/* A float vector owned by Lua (dequantized tensors, logits copies):
 * #f, f[i] (1-based), f:sum(), f:to_table(), f:bytes() (raw little-endian f32). */
#ifndef LUA_FLOATBUF_H
#define LUA_FLOATBUF_H

#include "lua_compat.h"
#include <stdint.h>

typedef struct ll_floatbuf {
    int64_t n;
    float data[];
} ll_floatbuf;

#define LL_FLOATBUF_MT "luallm.floatbuf"

/* Pushes a new zero-length-checked buffer of n floats; raises on allocation failure. */
ll_floatbuf *ll_lua_new_floatbuf(lua_State *L, int64_t n);
void ll_lua_open_floatbuf(lua_State *L);

#endif
