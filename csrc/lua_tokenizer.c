/* Lua binding of the tokenizer: argument checking and conversion only.
 *   core.tokenizer_open(path) -> tokenizer | nil, msg
 *   t:encode(text [, {bos = bool, special = bool}]) -> {ids...}
 *   t:decode(ids [, {special = bool}]) -> string | nil, msg
 *   t:piece(id [, special]) -> string | nil, msg ; t:is_eog(id) -> bool
 *   t.bos, t.eos (nil when none), t.n_vocab, t.add_bos, t.model
 *   t:stream([{special = bool}]) -> s ; s:feed(id) -> text | nil, msg ; s:flush() -> text */
#include "lua_luallm.h"
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>

#define TOK_MT "luallm.tokenizer"
#define STREAM_MT "luallm.tokenizer_stream"
#define BOX_MT "luallm.tokenizer_box"

typedef struct tok_ud { ll_tokenizer *t; bool owned; } tok_ud;
typedef struct stream_ud { ll_detok_stream s; } stream_ud;
/* Holds a malloc'ed block while Lua calls that may raise run; __gc frees it. */
typedef struct box_ud { void *p; } box_ud;

static void set_uservalue(lua_State *L, int ud, int val) {
#if LUA_VERSION_NUM < 502
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, val);
    lua_rawseti(L, -2, 1);
    lua_setfenv(L, ud);
#else
    lua_pushvalue(L, val);
    lua_setiuservalue(L, ud, 1);
#endif
}

static box_ud *push_box(lua_State *L, void *p) {
    box_ud *b = ll_newuserdata(L, sizeof *b);
    b->p = p;
    ll_setmetatable(L, BOX_MT);
    return b;
}

static int box_gc(lua_State *L) {
    box_ud *b = luaL_checkudata(L, 1, BOX_MT);
    free(b->p);
    b->p = NULL;
    return 0;
}

static const ll_tokenizer *check_tok(lua_State *L, int i) {
    tok_ud *u = luaL_checkudata(L, i, TOK_MT);
    if (!u->t) luaL_argerror(L, i, "tokenizer is closed");
    return u->t;
}

/* Optional boolean field of the options table at index opts. */
static bool opt_flag(lua_State *L, int opts, const char *name, bool dflt) {
    if (lua_isnoneornil(L, opts)) return dflt;
    luaL_checktype(L, opts, LUA_TTABLE);
    lua_getfield(L, opts, name);
    bool v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A token id argument: an integer in [0, n_vocab), else -1. */
static int32_t to_id(lua_State *L, int i, const ll_tokenizer *t) {
    if (lua_type(L, i) != LUA_TNUMBER || !ll_isinteger(L, i)) return -1;
    lua_Number v = lua_tonumber(L, i);
    return (v >= 0 && v < ll_tokenizer_n_vocab(t)) ? (int32_t)v : -1;
}

/* Pushes a userdata for t that does not own it: t lives as long as the value
 * at owner_index (e.g. the model), which the userdata keeps alive. */
LL_API void ll_lua_push_tokenizer(lua_State *L, struct ll_tokenizer *t, int owner_index) {
    if (owner_index < 0 && owner_index > LUA_REGISTRYINDEX)
        owner_index = lua_gettop(L) + owner_index + 1;
    tok_ud *u = ll_newuserdata(L, sizeof *u);
    u->t = t;
    u->owned = false;
    ll_setmetatable(L, TOK_MT);
    set_uservalue(L, lua_gettop(L), owner_index);
}

/* core.tokenizer_open(path) */
static int l_open(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    tok_ud *u = ll_newuserdata(L, sizeof *u); /* first: no C memory held if this raises */
    u->t = NULL;
    u->owned = true;
    ll_setmetatable(L, TOK_MT);
    ll_error e = {{0}};
    gguf_file *g = gguf_open(path, &e);
    if (!g) return ll_pushfail(L, e.msg);
    u->t = ll_tokenizer_new(g, &e);
    gguf_close(g);
    if (!u->t) return ll_pushfail(L, e.msg);
    return 1;
}

static int l_gc(lua_State *L) {
    tok_ud *u = luaL_checkudata(L, 1, TOK_MT);
    if (u->owned) ll_tokenizer_free(u->t);
    u->t = NULL;
    return 0;
}

/* t:encode(text, opts) */
static int l_encode(lua_State *L) {
    const ll_tokenizer *t = check_tok(L, 1);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    bool bos = opt_flag(L, 3, "bos", ll_tokenizer_add_bos(t));
    bool special = opt_flag(L, 3, "special", true);
    ll_error e = {{0}};
    int32_t *ids;
    int n = ll_tokenize(t, text, len, bos, special, &ids, &e);
    if (n < 0) return ll_pushfail(L, e.msg);
    box_ud *b = push_box(L, ids);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        ll_pushint(L, ids[i]);
        lua_rawseti(L, -2, i + 1);
    }
    free(b->p);
    b->p = NULL;
    return 1;
}

/* t:decode(ids, opts) */
static int l_decode(lua_State *L) {
    const ll_tokenizer *t = check_tok(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    bool special = opt_flag(L, 3, "special", false);
    size_t n = ll_rawlen(L, 2);
    int32_t *ids = ll_newuserdata(L, (n ? n : 1) * sizeof *ids); /* GC-owned scratch */
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (int)i + 1);
        int32_t id = to_id(L, -1, t);
        lua_pop(L, 1);
        if (id < 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "tokenizer: bad token id at index %d", (int)i + 1);
            return 2;
        }
        ids[i] = id;
    }
    ll_error e = {{0}};
    char *s;
    size_t len;
    if (ll_detokenize(t, ids, n, special, &s, &len, &e)) return ll_pushfail(L, e.msg);
    box_ud *b = push_box(L, s);
    lua_pushlstring(L, s, len);
    free(b->p);
    b->p = NULL;
    return 1;
}

/* t:piece(id, special) -- special defaults to true: a single piece is asked
 * for to look at it, control tokens included. */
static int l_piece(lua_State *L) {
    const ll_tokenizer *t = check_tok(L, 1);
    int32_t id = to_id(L, 2, t);
    if (id < 0) return ll_pushfail(L, "tokenizer: token id out of range");
    bool special = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
    char small[256];
    int n = ll_token_to_piece(t, id, special, small, sizeof small);
    if (n >= 0) {
        lua_pushlstring(L, small, (size_t)n);
        return 1;
    }
    char *big = ll_newuserdata(L, (size_t)-n);
    n = ll_token_to_piece(t, id, special, big, -n);
    lua_pushlstring(L, big, (size_t)n);
    return 1;
}

static int l_is_eog(lua_State *L) {
    const ll_tokenizer *t = check_tok(L, 1);
    int32_t id = to_id(L, 2, t);
    lua_pushboolean(L, id >= 0 && ll_tokenizer_is_eog(t, id));
    return 1;
}

/* t:stream(opts) */
static int l_stream(lua_State *L) {
    const ll_tokenizer *t = check_tok(L, 1);
    bool special = opt_flag(L, 2, "special", false);
    stream_ud *s = ll_newuserdata(L, sizeof *s);
    ll_detok_stream_init(&s->s, t, special);
    ll_setmetatable(L, STREAM_MT);
    set_uservalue(L, lua_gettop(L), 1); /* the stream keeps its tokenizer alive */
    return 1;
}

static int l_stream_feed(lua_State *L) {
    stream_ud *s = luaL_checkudata(L, 1, STREAM_MT);
    int32_t id = to_id(L, 2, s->s.t);
    if (id < 0) return ll_pushfail(L, "tokenizer: token id out of range");
    char small[256];
    int n = ll_detok_stream_feed(&s->s, id, small, sizeof small);
    if (n >= 0) {
        lua_pushlstring(L, small, (size_t)n);
        return 1;
    }
    char *big = ll_newuserdata(L, (size_t)-n);
    n = ll_detok_stream_feed(&s->s, id, big, -n);
    lua_pushlstring(L, big, (size_t)n);
    return 1;
}

static int l_stream_flush(lua_State *L) {
    stream_ud *s = luaL_checkudata(L, 1, STREAM_MT);
    char buf[8];
    int n = ll_detok_stream_flush(&s->s, buf, sizeof buf);
    lua_pushlstring(L, buf, (size_t)(n > 0 ? n : 0));
    return 1;
}

static int l_index(lua_State *L) {
    const ll_tokenizer *t = check_tok(L, 1);
    const char *k = lua_tostring(L, 2);
    if (k) {
        int32_t v;
        if (strcmp(k, "bos") == 0 || strcmp(k, "eos") == 0) {
            v = k[0] == 'b' ? ll_tokenizer_bos(t) : ll_tokenizer_eos(t);
            if (v < 0) lua_pushnil(L); else ll_pushint(L, v);
            return 1;
        }
        if (strcmp(k, "n_vocab") == 0) { ll_pushint(L, ll_tokenizer_n_vocab(t)); return 1; }
        if (strcmp(k, "add_bos") == 0) { lua_pushboolean(L, ll_tokenizer_add_bos(t)); return 1; }
        if (strcmp(k, "model") == 0) { lua_pushstring(L, ll_tokenizer_model(t)); return 1; }
    }
    lua_pushvalue(L, lua_upvalueindex(1)); /* methods */
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int l_tostring(lua_State *L) {
    const ll_tokenizer *t = check_tok(L, 1);
    lua_pushfstring(L, "luallm.tokenizer (%s, %d tokens)", ll_tokenizer_model(t),
                    (int)ll_tokenizer_n_vocab(t));
    return 1;
}

void ll_lua_open_tokenizer(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"encode", l_encode}, {"decode", l_decode}, {"piece", l_piece},
        {"is_eog", l_is_eog}, {"stream", l_stream}, {NULL, NULL},
    };
    static const luaL_Reg stream_methods[] = {
        {"feed", l_stream_feed}, {"flush", l_stream_flush}, {NULL, NULL},
    };
    luaL_newmetatable(L, BOX_MT);
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_newmetatable(L, TOK_MT);
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    ll_newlib(L, methods);
    lua_pushcclosure(L, l_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    ll_new_class(L, STREAM_MT, NULL, stream_methods);

    lua_pushcfunction(L, l_open);
    lua_setfield(L, -2, "tokenizer_open");
}
