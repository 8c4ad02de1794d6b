/* core.synth_tensor(w, {name =, type = "Q4_K", shape = {ne0, ...}, mean =,
 * std =, seed =, threads =, values = {...}}) -> true | nil, msg: adds a
 * random (or, with values, exact F32) tensor to a core.gguf_writer(); its
 * bytes are generated while w:write streams the file (csrc/synth.c). */
#include "lua_luallm.h"
#include "synth.h"

#include <stdlib.h>

static double opt_num(lua_State *L, int t, const char *k, double def) {
    lua_getfield(L, t, k);
    double v = lua_isnil(L, -1) ? def : luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static int l_synth_tensor(lua_State *L) {
    gguf_writer *w = ll_lua_to_gguf_writer(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_getfield(L, 2, "name");
    const char *name = lua_tostring(L, -1);
    if (!name || lua_type(L, -1) != LUA_TSTRING) return ll_pushfail(L, "synth: tensor needs a string name");
    lua_getfield(L, 2, "type");
    const char *tname = lua_tostring(L, -1);
    int type = tname ? ll_type_from_name(tname) : -1;
    if (type < 0) return ll_pushfail(L, lua_pushfstring(L, "synth: tensor '%s' has unknown type '%s'", name, tname ? tname : "?"));
    lua_getfield(L, 2, "shape");
    if (!lua_istable(L, -1)) return ll_pushfail(L, lua_pushfstring(L, "synth: tensor '%s' needs a shape", name));
    int n_dims = (int)ll_rawlen(L, -1);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return ll_pushfail(L, lua_pushfstring(L, "synth: tensor '%s' has %d dimensions", name, n_dims));
    int64_t ne[GGUF_MAX_DIMS] = {1, 1, 1, 1};
    int64_t n = 1;
    for (int d = 0; d < n_dims; d++) {
        lua_rawgeti(L, -1, d + 1);
        double x = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (!(x >= 1 && x <= 9.0e15) || x != (double)(int64_t)x)
            return ll_pushfail(L, lua_pushfstring(L, "synth: tensor '%s' shape holds a bad size", name));
        ne[d] = (int64_t)x;
        n *= ne[d];
    }
    const double seed = opt_num(L, 2, "seed", 0.0);
    if (!(seed >= 0 && seed < 18446744073709551616.0))
        return ll_pushfail(L, "synth: seed must be a non-negative integer below 2^64");
    ll_synth_params p = {
        .type = (ll_type)type,
        .mean = (float)opt_num(L, 2, "mean", 0.0),
        .std = (float)opt_num(L, 2, "std", 0.02),
        .seed = (uint64_t)seed,
        .n_threads = ll_lua_opt_int(L, 2, "threads", 1),
    };
    lua_getfield(L, 2, "values");
    if (!lua_isnil(L, -1)) {
        if (!lua_istable(L, -1) || (int64_t)ll_rawlen(L, -1) != n)
            return ll_pushfail(L, lua_pushfstring(L, "synth: tensor '%s' values must be a table of %d numbers", name, (int)n));
        float *v = ll_newuserdata(L, sizeof(float) * (size_t)n); /* freed by the GC */
        for (int64_t i = 0; i < n; i++) {
            lua_rawgeti(L, -2, (int)(i + 1));
            v[i] = (float)lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        p.values = v;
    }
    ll_error e;
    if (ll_synth_add_tensor(w, name, n_dims, ne, &p, &e)) return ll_pushfail(L, e.msg);
    lua_pushboolean(L, 1);
    return 1;
}

void ll_lua_open_synth(lua_State *L) {
    lua_pushcfunction(L, l_synth_tensor);
    lua_setfield(L, -2, "synth_tensor");
}
