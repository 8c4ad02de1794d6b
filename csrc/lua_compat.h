/* The few differences between Lua 5.4 and LuaJIT (5.1 API) the binding needs.
 * Everything else is written against the common subset. */
#ifndef LUA_COMPAT_H
#define LUA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
/* LuaJIT / 5.1 */
#define ll_rawlen(L, i) lua_objlen((L), (i))
#define ll_setfuncs(L, l) luaL_register((L), NULL, (l))
#define ll_newlib(L, l) (lua_newtable(L), luaL_register((L), NULL, (l)))
static inline int ll_isinteger(lua_State *L, int i) {
    if (lua_type(L, i) != LUA_TNUMBER) return 0;
    lua_Number n = lua_tonumber(L, i);
    return n == (lua_Number)(long long)n;
}
static inline void ll_setmetatable(lua_State *L, const char *tname) {
    luaL_getmetatable(L, tname);
    lua_setmetatable(L, -2);
}
static inline void *ll_testudata(lua_State *L, int ud, const char *tname) {
    void *p = lua_touserdata(L, ud);
    if (p == NULL || !lua_getmetatable(L, ud)) return NULL;
    luaL_getmetatable(L, tname);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? p : NULL;
}
#define ll_newuserdata(L, sz) lua_newuserdata((L), (sz))
/* One Lua value attached to a userdata (5.1: its environment table). */
#define ll_setuservalue(L, i) lua_setfenv((L), (i))
#define ll_getuservalue(L, i) lua_getfenv((L), (i))
#else
#define ll_rawlen(L, i) lua_rawlen((L), (i))
#define ll_setfuncs(L, l) luaL_setfuncs((L), (l), 0)
#define ll_newlib(L, l) luaL_newlib((L), (l))
#define ll_isinteger(L, i) lua_isinteger((L), (i))
#define ll_setmetatable(L, t) luaL_setmetatable((L), (t))
#define ll_testudata(L, i, t) luaL_testudata((L), (i), (t))
#define ll_newuserdata(L, sz) lua_newuserdatauv((L), (sz), 1)
#define ll_setuservalue(L, i) ((void)lua_setiuservalue((L), (i), 1))
#define ll_getuservalue(L, i) ((void)lua_getiuservalue((L), (i), 1))
#endif

/* Push nil, message; return 2 (the `nil, msg` error convention). */
static inline int ll_pushfail(lua_State *L, const char *msg) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

/* Integer field k of the options table at index t; def when t is not a
 * table or the field is nil; raises when it is not a number. */
static inline int ll_lua_opt_int(lua_State *L, int t, const char *k, int def) {
    if (!lua_istable(L, t)) return def;
    lua_getfield(L, t, k);
    int v = lua_isnil(L, -1) ? def : (int)luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A userdata class: metatable `name` holding the metamethods `meta` (may be
 * NULL), with the table of `methods` as its __index. */
static inline void ll_new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods) {
    luaL_newmetatable(L, name);
    if (meta) ll_setfuncs(L, meta);
    lua_newtable(L);
    ll_setfuncs(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* Integers travel as lua_Number under LuaJIT; keep them exact up to 2^53. */
static inline void ll_pushint(lua_State *L, long long v) {
#if LUA_VERSION_NUM < 503
    lua_pushnumber(L, (lua_Number)v);
#else
    lua_pushinteger(L, (lua_Integer)v);
#endif
}

#endif
