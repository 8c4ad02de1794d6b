/* The Lua binding: one file per exported object. Each lua_X.c registers its
 * functions into the module table on top of the stack. The binding holds no
 * model logic: it checks arguments, calls the core, converts results. */
#ifndef LUA_LUALLM_H
#define LUA_LUALLM_H

#include "lua_compat.h"

void ll_lua_open_logits(lua_State *L);  /* lua_logits.c: core.logits_from_table */
void ll_lua_open_sampler(lua_State *L); /* lua_sampler.c: core.sampler.* */

#endif
