/* core.quantize(src_path, dst_path, {types = {[tensor_name] = "Q4_K", ...},
 * file_type = N, threads = N}) -> true | nil, msg. Tensors not named in
 * types keep their type. */
#include "lua_luallm.h"
#include "quantize.h"

#include <stdlib.h>
#include <string.h>

static int opt_int(lua_State *L, int t, const char *k, int def) {
    lua_getfield(L, t, k);
    int v = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

static int l_quantize_file(lua_State *L) {
    const char *src = luaL_checkstring(L, 1);
    const char *dst = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    ll_error e;
    gguf_file *g = gguf_open(src, &e);
    if (!g) return ll_pushfail(L, e.msg);
    ll_type *types = ll_newuserdata(L, sizeof(ll_type) * (g->n_tensors ? g->n_tensors : 1));
    lua_getfield(L, 3, "types");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        types[i] = g->tensors[i].type;
        if (!lua_istable(L, -1)) continue;
        lua_pushlstring(L, g->tensors[i].name.data, g->tensors[i].name.len);
        lua_gettable(L, -2);
        if (lua_isstring(L, -1)) {
            int id = ll_type_from_name(lua_tostring(L, -1));
            if (id < 0) {
                gguf_close(g);
                return ll_pushfail(L, lua_pushfstring(L, "quantize: unknown type %s", lua_tostring(L, -1)));
            }
            types[i] = (ll_type)id;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    ll_quantize_params p = {types, opt_int(L, 3, "file_type", -1), opt_int(L, 3, "threads", 1)};
    int rc = ll_quantize_file(g, dst, &p, &e);
    gguf_close(g);
    if (rc) return ll_pushfail(L, e.msg);
    lua_pushboolean(L, 1);
    return 1;
}

void ll_lua_open_quantize(lua_State *L) {
    static const luaL_Reg fns[] = {{"quantize_file", l_quantize_file}, {NULL, NULL}};
    ll_setfuncs(L, fns);
}
