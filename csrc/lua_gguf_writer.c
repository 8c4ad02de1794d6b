/* core.gguf_writer([alignment]) -> w: builds a GGUF file from Lua.
 *   w:set(key, value [, type [, elem]])  value types: see to_value below
 *   w:remove(key) -> bool
 *   w:copy_metadata(g)                   every key of an opened file
 *   w:add_tensor{name=, type=, shape=, data=bytes}
 *   w:add_tensor{name=, from=g [, source=name]}   bytes of g's tensor, no copy
 *   w:write(path) -> true | nil, msg      temporary file + rename
 * Also g:value_type(key) -> type [, elem type] and g:copy_metadata_into(w) on
 * opened files, so specs and tools can see and keep exact value types.
 * Data strings and source files are kept alive in the writer's uservalue. */
#include "lua_luallm.h"
#include "gguf.h"

#include <math.h>
#include <string.h>

#define WRITER_MT "luallm.gguf_writer"

typedef struct { gguf_writer *w; } lwriter;

static gguf_writer *check_writer(lua_State *L, int i) {
    lwriter *u = luaL_checkudata(L, i, WRITER_MT);
    if (!u->w) luaL_error(L, "gguf writer: already freed");
    return u->w;
}

gguf_writer *ll_lua_to_gguf_writer(lua_State *L, int i) { return check_writer(L, i); }

static int vtype_from_name(const char *s) {
    for (int t = 0; t < GGUF_VTYPE_COUNT; t++)
        if (strcmp(s, gguf_vtype_name((gguf_vtype)t)) == 0) return t;
    return -1;
}

/* ---- Lua value -> gguf_value ----
 * Scratch arrays are Lua userdata stored in an anchor table, so a Lua error
 * midway cannot leak them; strings point into the Lua strings, which the
 * caller's arguments keep alive until gguf_writer_set has copied them. */
typedef struct conv {
    lua_State *L;
    int anchor;   /* absolute index of the anchor table */
    int n_anchor;
    const char *key;
    ll_error *e;
} conv;

static void *scratch(conv *c, size_t n) {
    void *p = lua_newuserdata(c->L, n ? n : 1);
    lua_rawseti(c->L, c->anchor, ++c->n_anchor);
    return p;
}

static bool is_integral(lua_State *L, int i) {
    if (ll_isinteger(L, i)) return true;
    lua_Number x = lua_tonumber(L, i);
    return x == floor(x) && fabs(x) < 9.2e18;
}

/* Integer type for the range [lo, hi]: uint32 when non-negative (the GGUF
 * convention for counts and ids), int32 when negative, 64-bit when wider. */
static int int_type(double lo, double hi) {
    if (lo >= 0) return hi <= (double)UINT32_MAX ? GGUF_UINT32 : GGUF_UINT64;
    return lo >= INT32_MIN && hi <= INT32_MAX ? GGUF_INT32 : GGUF_INT64;
}

/* Default type of a plain Lua value: string, bool, integers per int_type,
 * other numbers float32, tables arrays. */
static int infer_type(lua_State *L, int i) {
    switch (lua_type(L, i)) {
    case LUA_TSTRING: return GGUF_STRING;
    case LUA_TBOOLEAN: return GGUF_BOOL;
    case LUA_TTABLE: return GGUF_ARRAY;
    case LUA_TNUMBER: {
        if (!is_integral(L, i)) return GGUF_FLOAT32;
        double x = lua_tonumber(L, i);
        return int_type(x, x);
    }
    default: return -1;
    }
}

/* Element type of a plain array: all of one Lua kind; numbers join into one
 * integer type covering every element, or float32 when any is fractional. */
static int infer_elem(conv *c, int i, size_t n) {
    lua_State *L = c->L;
    int kind = LUA_TNONE;
    bool frac = false;
    double lo = 0, hi = 0;
    for (size_t k = 1; k <= n; k++) {
        lua_rawgeti(L, i, (int)k);
        int t = lua_type(L, -1);
        if (t == LUA_TNUMBER) {
            double x = lua_tonumber(L, -1);
            if (!is_integral(L, -1)) frac = true;
            if (k == 1 || x < lo) lo = x;
            if (k == 1 || x > hi) hi = x;
        }
        lua_pop(L, 1);
        if (k > 1 && t != kind)
            return ll_err(c->e, "gguf writer: array '%s' mixes %s and %s elements (give {type = 'array', elem = ..., value = ...})",
                          c->key, lua_typename(L, kind), lua_typename(L, t));
        kind = t;
    }
    switch (kind) {
    case LUA_TNONE:
        return ll_err(c->e, "gguf writer: empty array '%s' needs an element type ({type = 'array', elem = ..., value = {}})", c->key);
    case LUA_TSTRING: return GGUF_STRING;
    case LUA_TBOOLEAN: return GGUF_BOOL;
    case LUA_TTABLE: return GGUF_ARRAY;
    case LUA_TNUMBER: return frac ? GGUF_FLOAT32 : int_type(lo, hi);
    default: return ll_err(c->e, "gguf writer: array '%s' holds a %s, which GGUF cannot store", c->key, lua_typename(L, kind));
    }
}

static int number_into(conv *c, int i, gguf_vtype t, gguf_value *v) {
    lua_State *L = c->L;
    if (lua_type(L, i) != LUA_TNUMBER)
        return ll_err(c->e, "gguf writer: '%s' needs a number for %s, got %s", c->key,
                      gguf_vtype_name(t), luaL_typename(L, i));
    v->type = t;
    if (t == GGUF_FLOAT32 || t == GGUF_FLOAT64) { v->f = lua_tonumber(L, i); return 0; }
    if (!is_integral(L, i))
        return ll_err(c->e, "gguf writer: '%s' needs an integer for %s, got %.17g", c->key,
                      gguf_vtype_name(t), (double)lua_tonumber(L, i));
    long long x = ll_isinteger(L, i) ? (long long)lua_tointeger(L, i) : (long long)lua_tonumber(L, i);
    bool is_unsigned = t == GGUF_UINT8 || t == GGUF_UINT16 || t == GGUF_UINT32 || t == GGUF_UINT64;
    if (is_unsigned) {
        /* Lua has no unsigned 64-bit: a negative integer is the two's
         * complement of a uint64 above 2^63 (what the reader pushes). */
        if (x < 0 && t != GGUF_UINT64)
            return ll_err(c->e, "gguf writer: value %lld of '%s' does not fit %s", x, c->key, gguf_vtype_name(t));
        v->u = (uint64_t)x;
    } else {
        v->i = x;
    }
    return 0;
}

static int to_value(conv *c, int i, int type, int elem, int depth, gguf_value *v);

static void store_elem(uint8_t *p, const gguf_value *x, gguf_vtype t) {
    switch (t) {
    case GGUF_UINT8: case GGUF_BOOL: { uint8_t y = t == GGUF_BOOL ? x->b : (uint8_t)x->u; memcpy(p, &y, 1); break; }
    case GGUF_INT8: { int8_t y = (int8_t)x->i; memcpy(p, &y, 1); break; }
    case GGUF_UINT16: { uint16_t y = (uint16_t)x->u; memcpy(p, &y, 2); break; }
    case GGUF_INT16: { int16_t y = (int16_t)x->i; memcpy(p, &y, 2); break; }
    case GGUF_UINT32: { uint32_t y = (uint32_t)x->u; memcpy(p, &y, 4); break; }
    case GGUF_INT32: { int32_t y = (int32_t)x->i; memcpy(p, &y, 4); break; }
    case GGUF_FLOAT32: { float y = (float)x->f; memcpy(p, &y, 4); break; }
    case GGUF_UINT64: memcpy(p, &x->u, 8); break;
    case GGUF_INT64: memcpy(p, &x->i, 8); break;
    case GGUF_FLOAT64: memcpy(p, &x->f, 8); break;
    default: break;
    }
}

static bool fits(const gguf_value *x) {
    switch (x->type) {
    case GGUF_UINT8: return x->u <= UINT8_MAX;
    case GGUF_UINT16: return x->u <= UINT16_MAX;
    case GGUF_UINT32: return x->u <= UINT32_MAX;
    case GGUF_INT8: return x->i >= INT8_MIN && x->i <= INT8_MAX;
    case GGUF_INT16: return x->i >= INT16_MIN && x->i <= INT16_MAX;
    case GGUF_INT32: return x->i >= INT32_MIN && x->i <= INT32_MAX;
    default: return true;
    }
}

static int array_into(conv *c, int i, int elem, int depth, gguf_value *v) {
    lua_State *L = c->L;
    if (lua_type(L, i) != LUA_TTABLE)
        return ll_err(c->e, "gguf writer: '%s' needs a table for an array, got %s", c->key, luaL_typename(L, i));
    if (depth >= GGUF_MAX_DEPTH)
        return ll_err(c->e, "gguf writer: arrays in '%s' nested deeper than %d", c->key, GGUF_MAX_DEPTH);
    luaL_checkstack(L, 4, "gguf writer");
    size_t n = ll_rawlen(L, i);
    if (elem < 0 && (elem = infer_elem(c, i, n)) < 0) return -1;
    v->type = GGUF_ARRAY;
    v->arr.type = (gguf_vtype)elem;
    v->arr.n = n;
    size_t es = gguf_vtype_size((gguf_vtype)elem);
    if (es) {
        if (n > SIZE_MAX / es) return ll_err(c->e, "gguf writer: array '%s' too large", c->key);
        uint8_t *raw = scratch(c, n * es);
        for (size_t k = 1; k <= n; k++) {
            gguf_value x;
            memset(&x, 0, sizeof x);
            lua_rawgeti(L, i, (int)k);
            int rc = to_value(c, lua_gettop(L), elem, -1, depth + 1, &x);
            lua_pop(L, 1);
            if (rc) return -1;
            if (!fits(&x))
                return ll_err(c->e, "gguf writer: element %zu of '%s' does not fit %s", k, c->key,
                              gguf_vtype_name((gguf_vtype)elem));
            store_elem(raw + (k - 1) * es, &x, (gguf_vtype)elem);
        }
        v->arr.raw = raw;
        return 0;
    }
    if (elem == GGUF_STRING) {
        if (n > SIZE_MAX / sizeof(ll_str)) return ll_err(c->e, "gguf writer: array '%s' too large", c->key);
        ll_str *s = scratch(c, n * sizeof(ll_str));
        for (size_t k = 1; k <= n; k++) {
            lua_rawgeti(L, i, (int)k);
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 1);
                return ll_err(c->e, "gguf writer: element %zu of string array '%s' is not a string", k, c->key);
            }
            size_t len;
            s[k - 1].data = lua_tolstring(L, -1, &len); /* kept alive by the table */
            s[k - 1].len = len;
            lua_pop(L, 1);
        }
        v->arr.strs = s;
        return 0;
    }
    /* array of arrays */
    if (n > SIZE_MAX / sizeof(gguf_value)) return ll_err(c->e, "gguf writer: array '%s' too large", c->key);
    gguf_value *items = scratch(c, n * sizeof(gguf_value));
    memset(items, 0, n * sizeof(gguf_value));
    for (size_t k = 1; k <= n; k++) {
        lua_rawgeti(L, i, (int)k);
        int rc = to_value(c, lua_gettop(L), GGUF_ARRAY, -1, depth + 1, &items[k - 1]);
        lua_pop(L, 1);
        if (rc) return -1;
    }
    v->arr.items = items;
    return 0;
}

/* A wrapper {type = "uint32", value = x} or {type = "array", elem = "int32",
 * value = {...}} gives explicit types; plain values get infer_type's. */
static int to_value(conv *c, int i, int type, int elem, int depth, gguf_value *v) {
    lua_State *L = c->L;
    memset(v, 0, sizeof *v);
    luaL_checkstack(L, 6, "gguf writer");
    if (lua_type(L, i) == LUA_TTABLE) {
        lua_pushstring(L, "type");
        lua_rawget(L, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            int t = vtype_from_name(lua_tostring(L, -1));
            if (t < 0) {
                int r = ll_err(c->e, "gguf writer: '%s' has unknown value type '%s'", c->key, lua_tostring(L, -1));
                lua_pop(L, 1);
                return r;
            }
            if (type >= 0 && t != type) {
                lua_pop(L, 1);
                return ll_err(c->e, "gguf writer: '%s' element is %s inside an array of %s", c->key,
                              gguf_vtype_name((gguf_vtype)t), gguf_vtype_name((gguf_vtype)type));
            }
            lua_pop(L, 1);
            lua_pushstring(L, "elem");
            lua_rawget(L, i);
            int et = -1;
            if (lua_type(L, -1) == LUA_TSTRING && (et = vtype_from_name(lua_tostring(L, -1))) < 0) {
                lua_pop(L, 1);
                return ll_err(c->e, "gguf writer: '%s' has unknown element type", c->key);
            }
            lua_pop(L, 1);
            lua_pushstring(L, "value");
            lua_rawget(L, i);
            int top = lua_gettop(L);
            int rc = to_value(c, top, t, et, depth, v);
            lua_pop(L, 1); /* the value stays reachable through the wrapper */
            return rc;
        }
        lua_pop(L, 1);
    }
    if (type < 0) type = infer_type(L, i);
    if (type < 0)
        return ll_err(c->e, "gguf writer: '%s' has a %s value, which GGUF cannot store", c->key, luaL_typename(L, i));
    switch (type) {
    case GGUF_STRING: {
        if (lua_type(L, i) != LUA_TSTRING)
            return ll_err(c->e, "gguf writer: '%s' needs a string, got %s", c->key, luaL_typename(L, i));
        size_t len;
        v->type = GGUF_STRING;
        v->s.data = lua_tolstring(L, i, &len);
        v->s.len = len;
        return 0;
    }
    case GGUF_BOOL:
        if (lua_type(L, i) != LUA_TBOOLEAN)
            return ll_err(c->e, "gguf writer: '%s' needs a boolean, got %s", c->key, luaL_typename(L, i));
        v->type = GGUF_BOOL;
        v->b = lua_toboolean(L, i);
        return 0;
    case GGUF_ARRAY: return array_into(c, i, elem, depth, v);
    default: return number_into(c, i, (gguf_vtype)type, v);
    }
}

/* Appends the value at index i to the writer's keep-alive list. */
static void keep(lua_State *L, int wi, int i) {
    i = i < 0 ? lua_gettop(L) + i + 1 : i;
    ll_getuservalue(L, wi);
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, (int)ll_rawlen(L, -2) + 1);
    lua_pop(L, 1);
}

/* w:set(key, value [, type [, elem]]) -> true | nil, msg */
static int w_set(lua_State *L) {
    gguf_writer *w = check_writer(L, 1);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    if (strlen(key) != klen) return ll_pushfail(L, "gguf writer: metadata key holds a NUL byte");
    luaL_checkany(L, 3);
    int type = -1, elem = -1;
    if (!lua_isnoneornil(L, 4) && (type = vtype_from_name(luaL_checkstring(L, 4))) < 0)
        return ll_pushfail(L, lua_pushfstring(L, "gguf writer: unknown value type '%s'", lua_tostring(L, 4)));
    if (!lua_isnoneornil(L, 5) && (elem = vtype_from_name(luaL_checkstring(L, 5))) < 0)
        return ll_pushfail(L, lua_pushfstring(L, "gguf writer: unknown element type '%s'", lua_tostring(L, 5)));
    lua_settop(L, 5);
    lua_newtable(L);
    ll_error e;
    conv c = {L, lua_gettop(L), 0, key, &e};
    gguf_value v;
    if (to_value(&c, 3, type, elem, 0, &v) || gguf_writer_set(w, key, &v, &e)) return ll_pushfail(L, e.msg);
    lua_pushboolean(L, 1);
    return 1;
}

static int w_remove(lua_State *L) {
    gguf_writer *w = check_writer(L, 1);
    lua_pushboolean(L, gguf_writer_remove(w, luaL_checkstring(L, 2)));
    return 1;
}

static int copy_metadata(lua_State *L, int wi, int gi) {
    gguf_writer *w = check_writer(L, wi);
    gguf_file *g = ll_lua_to_gguf(L, gi);
    if (!g) return ll_pushfail(L, "gguf writer: copy_metadata needs an open llm.gguf.open() file");
    ll_error e;
    if (gguf_writer_copy_metadata(w, g, &e)) return ll_pushfail(L, e.msg);
    lua_pushboolean(L, 1);
    return 1;
}

/* w:copy_metadata(g) / g:copy_metadata_into(w) -> true | nil, msg */
static int w_copy_metadata(lua_State *L) { return copy_metadata(L, 1, 2); }
static int g_copy_metadata_into(lua_State *L) { return copy_metadata(L, 2, 1); }

/* Field f of the table at index t, left on the stack. */
static int field(lua_State *L, int t, const char *f) {
    lua_getfield(L, t, f);
    return lua_type(L, -1);
}

/* w:add_tensor{name, type, shape, data} or {name, from = g [, source]} */
static int w_add_tensor(lua_State *L) {
    gguf_writer *w = check_writer(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    size_t nlen;
    if (field(L, 2, "name") != LUA_TSTRING) return ll_pushfail(L, "gguf writer: tensor needs a string name");
    const char *name = lua_tolstring(L, 3, &nlen);
    if (strlen(name) != nlen) return ll_pushfail(L, "gguf writer: tensor name holds a NUL byte");

    const gguf_tensor *src = NULL;
    if (field(L, 2, "from") != LUA_TNIL) { /* index 4 */
        gguf_file *g = ll_lua_to_gguf(L, 4);
        if (!g) return ll_pushfail(L, "gguf writer: tensor 'from' must be an open llm.gguf.open() file");
        const char *sname = field(L, 2, "source") == LUA_TSTRING ? lua_tostring(L, -1) : name;
        src = gguf_tensor_by_name(g, sname);
        if (!src) return ll_pushfail(L, lua_pushfstring(L, "gguf writer: source file has no tensor '%s'", sname));
        lua_pop(L, 1);
    }

    int type;
    if (field(L, 2, "type") == LUA_TNUMBER) type = (int)lua_tointeger(L, -1);
    else if (lua_type(L, -1) == LUA_TSTRING) type = ll_type_from_name(lua_tostring(L, -1));
    else if (src) type = (int)src->type;
    else return ll_pushfail(L, lua_pushfstring(L, "gguf writer: tensor '%s' needs a type", name));
    const ll_type_traits *tr = ll_type_get(type);
    if (!tr) return ll_pushfail(L, lua_pushfstring(L, "gguf writer: tensor '%s' has unknown type", name));
    lua_pop(L, 1);

    int64_t ne[GGUF_MAX_DIMS];
    int n_dims;
    if (field(L, 2, "shape") == LUA_TTABLE) {
        size_t n = ll_rawlen(L, -1);
        if (n < 1 || n > GGUF_MAX_DIMS)
            return ll_pushfail(L, lua_pushfstring(L, "gguf writer: tensor '%s' has %d dimensions (1 to %d allowed)",
                                                  name, (int)n, GGUF_MAX_DIMS));
        n_dims = (int)n;
        for (int d = 0; d < n_dims; d++) {
            lua_rawgeti(L, -1, d + 1);
            if (lua_type(L, -1) != LUA_TNUMBER || !is_integral(L, -1))
                return ll_pushfail(L, lua_pushfstring(L, "gguf writer: tensor '%s' shape holds a non-integer", name));
            ne[d] = (int64_t)lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    } else if (src) {
        n_dims = (int)src->n_dims;
        memcpy(ne, src->ne, sizeof ne);
    } else {
        return ll_pushfail(L, lua_pushfstring(L, "gguf writer: tensor '%s' needs a shape", name));
    }
    lua_pop(L, 1);

    /* Expected size; gguf_writer_add_tensor reports the shape errors. */
    uint64_t nel = 1, want = 0;
    bool shape_ok = true;
    for (int d = 0; d < n_dims; d++)
        if (ne[d] < 1 || ll_mul_overflow(nel, (uint64_t)ne[d], &nel)) shape_ok = false;
    if (shape_ok && ne[0] % tr->blck_size == 0 &&
        ll_mul_overflow(nel / (uint64_t)tr->blck_size, tr->type_size, &want))
        shape_ok = false;

    const void *data = NULL;
    size_t have = 0;
    int keep_i = 0;
    if (field(L, 2, "data") == LUA_TSTRING) {
        data = lua_tolstring(L, -1, &have);
        keep_i = lua_gettop(L);
    } else if (src) {
        data = src->data;
        have = (size_t)src->nbytes;
        keep_i = 4;
    } else if (!gguf_writer_sparse(w)) {
        return ll_pushfail(L, lua_pushfstring(L, "gguf writer: tensor '%s' needs data (a string) or from", name));
    }
    if (data && shape_ok && ne[0] % tr->blck_size == 0 && have != want)
        return ll_pushfail(L, lua_pushfstring(L, "gguf writer: tensor '%s' data is %d bytes, its %s shape needs %d",
                                              name, (int)have, tr->name, (int)want));
    ll_error e;
    if (gguf_writer_add_tensor(w, name, (ll_type)type, n_dims, ne, data, &e)) return ll_pushfail(L, e.msg);
    keep(L, 1, keep_i);
    lua_pushboolean(L, 1);
    return 1;
}

/* w:write(path) -> true | nil, msg */
static int w_write(lua_State *L) {
    gguf_writer *w = check_writer(L, 1);
    const char *path = luaL_checkstring(L, 2);
    /* Tensor data taken from a file points into its mapping: refuse when
     * that file has been closed since. */
    ll_getuservalue(L, 1);
    size_t n = ll_rawlen(L, -1);
    for (size_t k = 1; k <= n; k++) {
        lua_rawgeti(L, -1, (int)k);
        if (lua_type(L, -1) == LUA_TUSERDATA && !ll_lua_to_gguf(L, -1))
            return ll_pushfail(L, "gguf writer: a file that tensors are copied from was closed before write");
        lua_pop(L, 1);
    }
    ll_error e;
    if (gguf_writer_write(w, path, &e)) return ll_pushfail(L, e.msg);
    lua_pushboolean(L, 1);
    return 1;
}

/* w:set_sparse(bool): tensors without data become holes in the file */
static int w_set_sparse(lua_State *L) {
    gguf_writer_set_sparse(check_writer(L, 1), lua_toboolean(L, 2));
    return 0;
}

static int w_alignment(lua_State *L) {
    ll_pushint(L, gguf_writer_alignment(check_writer(L, 1)));
    return 1;
}

static int w_gc(lua_State *L) {
    lwriter *u = luaL_checkudata(L, 1, WRITER_MT);
    gguf_writer_free(u->w);
    u->w = NULL;
    return 0;
}

/* core.gguf_writer([alignment]) -> w | nil, msg */
static int l_gguf_writer(lua_State *L) {
    lua_Integer a = luaL_optinteger(L, 1, 0);
    if (a < 0 || a > (1 << 20)) return ll_pushfail(L, "gguf writer: alignment must be a power of two up to 1 MiB");
    lwriter *u = ll_newuserdata(L, sizeof *u);
    u->w = NULL;
    ll_setmetatable(L, WRITER_MT);
    lua_newtable(L);
    ll_setuservalue(L, -2);
    u->w = gguf_writer_new((uint32_t)a);
    if (!u->w) return ll_pushfail(L, "gguf writer: alignment must be a power of two up to 1 MiB");
    return 1;
}

/* g:value_type(key) -> "uint32" | "array", "int32" | nil when absent */
static int g_value_type(lua_State *L) {
    gguf_file *g = ll_lua_to_gguf(L, 1);
    if (!g) return luaL_error(L, "gguf: file is closed");
    const gguf_value *v = gguf_get(g, luaL_checkstring(L, 2));
    if (!v) return 0;
    lua_pushstring(L, gguf_vtype_name(v->type));
    if (v->type != GGUF_ARRAY) return 1;
    lua_pushstring(L, gguf_vtype_name(v->arr.type));
    return 2;
}

void ll_lua_open_gguf_writer(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"set", w_set}, {"remove", w_remove}, {"copy_metadata", w_copy_metadata},
        {"add_tensor", w_add_tensor}, {"write", w_write}, {"alignment", w_alignment}, {"set_sparse", w_set_sparse},
        {"free", w_gc}, {NULL, NULL},
    };
    static const luaL_Reg meta[] = {{"__gc", w_gc}, {NULL, NULL}};
    ll_new_class(L, WRITER_MT, meta, methods);

    /* Extra methods of opened files (their __index looks in the metatable). */
    luaL_getmetatable(L, LL_LUA_GGUF_MT);
    if (lua_istable(L, -1)) {
        lua_pushcfunction(L, g_value_type);
        lua_setfield(L, -2, "value_type");
        lua_pushcfunction(L, g_copy_metadata_into);
        lua_setfield(L, -2, "copy_metadata_into");
    }
    lua_pop(L, 1);

    lua_pushcfunction(L, l_gguf_writer);
    lua_setfield(L, -2, "gguf_writer");
}
