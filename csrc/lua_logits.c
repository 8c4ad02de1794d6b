/* Logits userdata: a copied float vector with read-only accessors. */
#include "lua_logits.h"
#include "sampler.h"

#include <string.h>

/* Header padded to the float alignment; the floats follow it. */
typedef struct {
    ll_lua_logits h;
    float v[];
} logits_ud;

static float *new_logits(lua_State *L, int n) {
    logits_ud *u = ll_newuserdata(L, sizeof(logits_ud) + (size_t)n * sizeof(float));
    u->h.data = u->v;
    u->h.n = n;
    ll_setmetatable(L, LL_LUA_LOGITS_MT);
    return u->v;
}

void ll_lua_push_logits(lua_State *L, const float *src, int n) {
    float *dst = new_logits(L, n);
    if (n > 0) memcpy(dst, src, (size_t)n * sizeof *dst);
}

const ll_lua_logits *ll_lua_test_logits(lua_State *L, int idx) {
    return ll_testudata(L, idx, LL_LUA_LOGITS_MT);
}

static const ll_lua_logits *check_logits(lua_State *L) {
    return luaL_checkudata(L, 1, LL_LUA_LOGITS_MT);
}

/* [-0, +(1|2)] #l */
static int l_len(lua_State *L) {
    ll_pushint(L, check_logits(L)->n);
    return 1;
}

/* l:get(id) -> logit of token id, or nil, msg when out of range */
static int l_get(lua_State *L) {
    const ll_lua_logits *g = check_logits(L);
    lua_Number id = luaL_checknumber(L, 2);
    if (!(id >= 0 && id < g->n) || id != (lua_Number)(long long)id) {
        lua_pushnil(L);
        lua_pushfstring(L, "logits:get: token id %s out of range [0, %d)", lua_tostring(L, 2), g->n);
        return 2;
    }
    lua_pushnumber(L, g->data[(int)id]);
    return 1;
}

/* l:argmax() -> id of the highest logit (lowest id on ties) */
static int l_argmax(lua_State *L) {
    const ll_lua_logits *g = check_logits(L);
    if (g->n == 0) return ll_pushfail(L, "logits:argmax: empty logits");
    ll_cand best;
    ll_logits_top(g->data, (size_t)g->n, 1, &best);
    ll_pushint(L, best.id);
    return 1;
}

/* l:topk(k) -> {ids...}, {values...}: the best k, highest first */
static int l_topk(lua_State *L) {
    const ll_lua_logits *g = check_logits(L);
    lua_Number kn = luaL_checknumber(L, 2);
    if (!(kn >= 1) || kn != (lua_Number)(long long)kn)
        return ll_pushfail(L, "logits:topk: k must be an integer >= 1");
    size_t k = kn > g->n ? (size_t)g->n : (size_t)kn;
    /* scratch owned by Lua so nothing leaks if a later push fails */
    ll_cand *top = ll_newuserdata(L, (k ? k : 1) * sizeof *top);
    k = ll_logits_top(g->data, (size_t)g->n, k, top);
    lua_createtable(L, (int)k, 0);
    lua_createtable(L, (int)k, 0);
    for (size_t i = 0; i < k; i++) {
        ll_pushint(L, top[i].id);
        lua_rawseti(L, -3, (int)i + 1);
        lua_pushnumber(L, top[i].logit);
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 2;
}

static int l_tostring(lua_State *L) {
    lua_pushfstring(L, "luallm.logits(%d)", check_logits(L)->n);
    return 1;
}

/* core.logits_from_table({numbers...}) -> Logits (ids 0.. follow t[1]..) */
static int l_from_table(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = ll_rawlen(L, 1);
    if (n == 0 || n > 0x7fffffff) return ll_pushfail(L, "logits_from_table: need a non-empty array of numbers");
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, (int)i);
        int ok = lua_type(L, -1) == LUA_TNUMBER;
        lua_pop(L, 1);
        if (!ok) {
            lua_pushnil(L);
            lua_pushfstring(L, "logits_from_table: element %d is not a number", (int)i);
            return 2;
        }
    }
    float *dst = new_logits(L, (int)n);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, (int)i);
        dst[i - 1] = (float)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    return 1;
}

void ll_lua_open_logits(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"get", l_get}, {"argmax", l_argmax}, {"topk", l_topk}, {NULL, NULL},
    };
    static const luaL_Reg meta[] = {{"__len", l_len}, {"__tostring", l_tostring}, {NULL, NULL}};
    ll_new_class(L, LL_LUA_LOGITS_MT, meta, methods);
    lua_pushcfunction(L, l_from_table);
    lua_setfield(L, -2, "logits_from_table");
}
