/* The Lua binding: one file per exported object. Each lua_X.c registers its
 * functions into the module table on top of the stack. The binding holds no
 * model logic: it checks arguments, calls the core, converts results. */
#ifndef LUA_LUALLM_H
#define LUA_LUALLM_H

#include "lua_compat.h"

void ll_lua_open_gguf(lua_State *L);      /* core.gguf_open, core.type_info, floatbuf */
void ll_lua_open_quants(lua_State *L);    /* block-format and kernel test hooks */


#endif
