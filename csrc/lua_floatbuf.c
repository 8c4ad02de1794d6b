#include "lua_floatbuf.h"
#include "lua_luallm.h"

#include <string.h>

ll_floatbuf *ll_lua_new_floatbuf(lua_State *L, int64_t n) {
    size_t bytes = sizeof(ll_floatbuf) + (size_t)n * sizeof(float);
    ll_floatbuf *b = ll_newuserdata(L, bytes);
    b->n = n;
    ll_setmetatable(L, LL_FLOATBUF_MT);
    return b;
}

static ll_floatbuf *check(lua_State *L) {
    return luaL_checkudata(L, 1, LL_FLOATBUF_MT);
}

/* f[i] -> number (1-based; nil outside), f.method -> method */
static int fb_index(lua_State *L) {
    ll_floatbuf *b = check(L);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Number i = lua_tonumber(L, 2);
        if (i >= 1 && i <= (lua_Number)b->n && i == (lua_Number)(int64_t)i) {
            lua_pushnumber(L, b->data[(int64_t)i - 1]);
            return 1;
        }
        lua_pushnil(L);
        return 1;
    }
    luaL_getmetatable(L, LL_FLOATBUF_MT);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int fb_len(lua_State *L) {
    ll_pushint(L, check(L)->n);
    return 1;
}

static int fb_sum(lua_State *L) {
    ll_floatbuf *b = check(L);
    double s = 0;
    for (int64_t i = 0; i < b->n; i++) s += b->data[i];
    lua_pushnumber(L, s);
    return 1;
}

static int fb_to_table(lua_State *L) {
    ll_floatbuf *b = check(L);
    lua_createtable(L, b->n < 1 << 26 ? (int)b->n : 0, 0);
    for (int64_t i = 0; i < b->n; i++) {
        lua_pushnumber(L, b->data[i]);
        lua_rawseti(L, -2, (int)(i + 1));
    }
    return 1;
}

static int fb_bytes(lua_State *L) {
    ll_floatbuf *b = check(L);
    lua_pushlstring(L, (const char *)b->data, (size_t)b->n * sizeof(float));
    return 1;
}

static int fb_tostring(lua_State *L) {
    lua_pushfstring(L, "luallm.floatbuf(%d)", (int)check(L)->n);
    return 1;
}

void ll_lua_open_floatbuf(lua_State *L) {
    static const luaL_Reg meta[] = {
        {"__index", fb_index}, {"__len", fb_len}, {"__tostring", fb_tostring},
        {"sum", fb_sum}, {"to_table", fb_to_table}, {"bytes", fb_bytes},
        {NULL, NULL},
    };
    luaL_newmetatable(L, LL_FLOATBUF_MT);
    ll_setfuncs(L, meta);
    lua_pop(L, 1);
}
