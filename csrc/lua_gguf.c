/* llm.gguf.open(path) -> g: metadata and tensor infos of a GGUF file without
 * loading weights. g.metadata and g.tensors are built on first access and
 * cached in the userdata's uservalue table. */
#include "lua_luallm.h"
#include "lua_floatbuf.h"
#include "gguf.h"

#include <string.h>

#define GGUF_MT LL_LUA_GGUF_MT

typedef struct { gguf_file *g; } lgguf;

static gguf_file *check_open(lua_State *L, int i) {
    lgguf *u = luaL_checkudata(L, i, GGUF_MT);
    if (!u->g) luaL_error(L, "gguf: file is closed");
    return u->g;
}

static void push_value(lua_State *L, const gguf_value *v);

static void push_array(lua_State *L, const gguf_value *v) {
    uint64_t n = v->arr.n;
    lua_createtable(L, n < (1u << 26) ? (int)n : 0, 0);
    for (uint64_t i = 0; i < n; i++) {
        switch (v->arr.type) {
        case GGUF_STRING: lua_pushlstring(L, v->arr.strs[i].data, v->arr.strs[i].len); break;
        case GGUF_ARRAY: push_value(L, &v->arr.items[i]); break;
        case GGUF_FLOAT32: case GGUF_FLOAT64: lua_pushnumber(L, gguf_arr_f64(v, i)); break;
        case GGUF_BOOL: lua_pushboolean(L, gguf_arr_i64(v, i) != 0); break;
        default: ll_pushint(L, gguf_arr_i64(v, i)); break;
        }
        lua_rawseti(L, -2, (int)(i + 1));
    }
}

static void push_value(lua_State *L, const gguf_value *v) {
    switch (v->type) {
    case GGUF_UINT8: case GGUF_UINT16: case GGUF_UINT32: case GGUF_UINT64:
        ll_pushint(L, (long long)v->u);
        break;
    case GGUF_INT8: case GGUF_INT16: case GGUF_INT32: case GGUF_INT64:
        ll_pushint(L, v->i);
        break;
    case GGUF_FLOAT32: case GGUF_FLOAT64: lua_pushnumber(L, v->f); break;
    case GGUF_BOOL: lua_pushboolean(L, v->b); break;
    case GGUF_STRING: lua_pushlstring(L, v->s.data, v->s.len); break;
    case GGUF_ARRAY: push_array(L, v); break;
    default: lua_pushnil(L); break;
    }
}

static void push_metadata(lua_State *L, const gguf_file *g) {
    lua_createtable(L, 0, (int)g->n_kv);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        lua_pushlstring(L, g->kv[i].key.data, g->kv[i].key.len);
        push_value(L, &g->kv[i].value);
        lua_rawset(L, -3);
    }
}

static void push_tensors(lua_State *L, const gguf_file *g) {
    lua_createtable(L, (int)g->n_tensors, 0);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        lua_createtable(L, 0, 6);
        lua_pushlstring(L, t->name.data, t->name.len);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, ll_type_get(t->type)->name);
        lua_setfield(L, -2, "type");
        lua_createtable(L, (int)t->n_dims, 0);
        for (uint32_t d = 0; d < t->n_dims; d++) {
            ll_pushint(L, t->ne[d]);
            lua_rawseti(L, -2, (int)d + 1);
        }
        lua_setfield(L, -2, "shape");
        ll_pushint(L, (long long)(g->data_offset + t->offset));
        lua_setfield(L, -2, "offset");
        ll_pushint(L, (long long)t->nbytes);
        lua_setfield(L, -2, "nbytes");
        ll_pushint(L, t->n_elements);
        lua_setfield(L, -2, "n_elements");
        lua_rawseti(L, -2, (int)i + 1);
    }
}

/* g:dequantize(name_or_index) -> floatbuf | nil, msg */
static int g_dequantize(lua_State *L) {
    gguf_file *g = check_open(L, 1);
    const gguf_tensor *t = NULL;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Number i = lua_tonumber(L, 2);
        if (i >= 1 && i <= (lua_Number)g->n_tensors) t = &g->tensors[(uint64_t)i - 1];
    } else {
        t = gguf_tensor_by_name(g, luaL_checkstring(L, 2));
    }
    if (!t) return ll_pushfail(L, lua_pushfstring(L, "gguf: no tensor %s", lua_tostring(L, 2)));
    const ll_type_traits *tr = ll_type_get(t->type);
    if (!tr->to_float)
        return ll_pushfail(L, lua_pushfstring(L, "gguf: tensor type %s is not supported", tr->name));
    ll_floatbuf *b = ll_lua_new_floatbuf(L, t->n_elements);
    ll_error e;
    if (gguf_tensor_to_float(t, b->data, &e)) return ll_pushfail(L, e.msg);
    return 1;
}

/* g:tensor_bytes(name) -> raw bytes of a tensor's data (for tests and tools) */
static int g_tensor_bytes(lua_State *L) {
    gguf_file *g = check_open(L, 1);
    const gguf_tensor *t = gguf_tensor_by_name(g, luaL_checkstring(L, 2));
    if (!t) return ll_pushfail(L, "gguf: no such tensor");
    lua_pushlstring(L, t->data, t->nbytes);
    return 1;
}

static int g_close(lua_State *L) {
    lgguf *u = luaL_checkudata(L, 1, GGUF_MT);
    gguf_close(u->g);
    u->g = NULL;
    return 0;
}

static int g_index(lua_State *L) {
    lgguf *u = luaL_checkudata(L, 1, GGUF_MT);
    const char *k = luaL_checkstring(L, 2);
    /* methods first */
    luaL_getmetatable(L, GGUF_MT);
    lua_getfield(L, -1, k);
    if (!lua_isnil(L, -1) && k[0] != '_') return 1;
    lua_pop(L, 2);
    if (!u->g) return luaL_error(L, "gguf: file is closed");
    const gguf_file *g = u->g;
    if (strcmp(k, "version") == 0) { ll_pushint(L, g->version); return 1; }
    if (strcmp(k, "alignment") == 0) { ll_pushint(L, (long long)g->alignment); return 1; }
    if (strcmp(k, "data_offset") == 0) { ll_pushint(L, (long long)g->data_offset); return 1; }
    if (strcmp(k, "file_size") == 0) { ll_pushint(L, (long long)g->file_size); return 1; }
    if (strcmp(k, "n_tensors") == 0) { ll_pushint(L, (long long)g->n_tensors); return 1; }
    if (strcmp(k, "metadata") == 0 || strcmp(k, "tensors") == 0) {
        ll_getuservalue(L, 1);
        lua_getfield(L, -1, k);
        if (!lua_isnil(L, -1)) return 1;
        lua_pop(L, 1);
        if (k[0] == 'm') push_metadata(L, g); else push_tensors(L, g);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, k);
        return 1;
    }
    lua_pushnil(L);
    return 1;
}

/* core.gguf_open(path) -> g | nil, msg */
static int l_gguf_open(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    ll_error e;
    gguf_file *g = gguf_open(path, &e);
    if (!g) return ll_pushfail(L, e.msg);
    lgguf *u = ll_newuserdata(L, sizeof *u);
    u->g = g;
    ll_setmetatable(L, GGUF_MT);
    lua_newtable(L);
    ll_setuservalue(L, -2);
    return 1;
}

/* core.type_info(name) -> {name, blck_size, type_size, supported} | nil */
static int l_type_info(lua_State *L) {
    int id = lua_type(L, 1) == LUA_TNUMBER ? (int)lua_tointeger(L, 1) : ll_type_from_name(luaL_checkstring(L, 1));
    const ll_type_traits *t = ll_type_get(id);
    if (!t) return ll_pushfail(L, "unknown type");
    lua_createtable(L, 0, 5);
    lua_pushstring(L, t->name); lua_setfield(L, -2, "name");
    ll_pushint(L, id); lua_setfield(L, -2, "id");
    ll_pushint(L, t->blck_size); lua_setfield(L, -2, "blck_size");
    ll_pushint(L, (long long)t->type_size); lua_setfield(L, -2, "type_size");
    lua_pushboolean(L, t->to_float != NULL); lua_setfield(L, -2, "supported");
    return 1;
}

gguf_file *ll_lua_to_gguf(lua_State *L, int i) {
    lgguf *u = ll_testudata(L, i, GGUF_MT);
    return u ? u->g : NULL;
}

void ll_lua_open_gguf(lua_State *L) {
    static const luaL_Reg meta[] = {
        {"__index", g_index}, {"__gc", g_close}, {"close", g_close},
        {"dequantize", g_dequantize}, {"tensor_bytes", g_tensor_bytes},
        {NULL, NULL},
    };
    luaL_newmetatable(L, GGUF_MT);
    ll_setfuncs(L, meta);
    lua_pop(L, 1);
    ll_lua_open_floatbuf(L);
    lua_pushcfunction(L, l_gguf_open);
    lua_setfield(L, -2, "gguf_open");
    lua_pushcfunction(L, l_type_info);
    lua_setfield(L, -2, "type_info");
}
