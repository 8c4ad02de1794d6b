/* Context userdata: c:eval, c:logits, c:sample, c:pos, c:clear, c:trim, c:fork.
 * The context keeps its model userdata alive through its uservalue. */
#include "lua_luallm.h"
#include "lua_model.h"
#include "lua_floatbuf.h"
#include "lua_logits.h"
#include "context.h"
#include "sample_rows.h"

#include <stdlib.h>
#include <string.h>

typedef struct { ll_context *c; } lctx;

static ll_context *check_ctx(lua_State *L, int i) {
    lctx *u = luaL_checkudata(L, i, LL_CONTEXT_MT);
    if (!u->c) luaL_error(L, "context is closed");
    return u->c;
}

const char *ll_lua_context_params(lua_State *L, int t, ll_context_params *p) {
    memset(p, 0, sizeof *p);
    p->n_ctx = ll_lua_opt_int(L, t, "n_ctx", 0);
    p->n_seq = ll_lua_opt_int(L, t, "n_seq", 1);
    p->n_batch = ll_lua_opt_int(L, t, "n_batch", 512);
    p->n_threads = ll_lua_opt_int(L, t, "threads", 0);
    p->kv_type = LL_TYPE_F16;
    if (p->n_ctx < 0 || p->n_seq < 0 || p->n_batch < 0 || p->n_threads < 0)
        return "n_ctx, n_seq, n_batch and threads must be positive";
    if (lua_istable(L, t)) {
        lua_getfield(L, t, "kv_type");
        const char *k = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
        lua_pop(L, 1); /* k stays valid: the options table holds the string */
        if (k) {
            if (strcmp(k, "f16") == 0 || strcmp(k, "F16") == 0) p->kv_type = LL_TYPE_F16;
            else if (strcmp(k, "f32") == 0 || strcmp(k, "F32") == 0) p->kv_type = LL_TYPE_F32;
            else if (strcmp(k, "q8_0") == 0 || strcmp(k, "Q8_0") == 0) p->kv_type = LL_TYPE_Q8_0;
            else return "kv_type must be \"f16\", \"f32\" or \"q8_0\"";
        }
    }
    return NULL;
}

/* core.context_new(model, {n_ctx, n_seq, n_batch, threads, kv_type}) -> ctx | nil, msg */
static int l_context_new(lua_State *L) {
    ll_model *m = ll_lua_check_model(L, 1);
    ll_context_params p;
    const char *bad = ll_lua_context_params(L, 2, &p);
    if (bad) return ll_pushfail(L, lua_pushfstring(L, "context: %s", bad));
    ll_error e;
    ll_context *c = ll_context_new(m, &p, &e);
    if (!c) return ll_pushfail(L, e.msg);
    lctx *u = ll_newuserdata(L, sizeof *u);
    u->c = c;
    ll_setmetatable(L, LL_CONTEXT_MT);
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "model");
    ll_setuservalue(L, -2);
    return 1;
}

static int c_close(lua_State *L) {
    lctx *u = luaL_checkudata(L, 1, LL_CONTEXT_MT);
    ll_context_free(u->c);
    u->c = NULL;
    return 0;
}

/* Reads an array of integers at index i into a malloc'ed buffer (owned by a
 * userdata pushed on the stack so an error cannot leak it). */
static int32_t *int_array(lua_State *L, int i, int *n_out, const char *what) {
    luaL_checktype(L, i, LUA_TTABLE);
    int n = (int)ll_rawlen(L, i);
    int32_t *buf = ll_newuserdata(L, sizeof(int32_t) * (size_t)(n ? n : 1));
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, i, k + 1);
        if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "%s[%d] is not a number", what, k + 1);
        lua_Number v = lua_tonumber(L, -1);
        if (v != (lua_Number)(int32_t)v) luaL_error(L, "%s[%d] = %f is not a 32-bit integer", what, k + 1, v);
        buf[k] = (int32_t)v;
        lua_pop(L, 1);
    }
    *n_out = n;
    return buf;
}

/* c:eval(ids, {seq = 0, logits = "last"|"all"}) -> n_rows | nil, msg
 * Appends ids to sequence seq; keeps logits of the last (or every) token. */
static int c_eval(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    int n;
    int32_t *ids = int_array(L, 2, &n, "ids");
    if (n == 0) return ll_pushfail(L, "eval: no tokens");
    int s = ll_lua_opt_int(L, 3, "seq", 0);
    bool all = false;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "logits");
        all = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "all") == 0;
        lua_pop(L, 1);
    }
    int32_t *seq = ll_newuserdata(L, sizeof(int32_t) * (size_t)n);
    bool *want = ll_newuserdata(L, sizeof(bool) * (size_t)n);
    for (int i = 0; i < n; i++) {
        seq[i] = s;
        want[i] = all || i == n - 1;
    }
    ll_error e;
    if (ll_context_decode(c, n, ids, seq, NULL, want, &e)) return ll_pushfail(L, e.msg);
    ll_pushint(L, c->n_logits);
    return 1;
}

/* c:decode(tokens, seqs, want) -> n_rows | nil, msg: a batch over several
 * sequences; want[i] true keeps that token's logits (rows in order). */
static int c_decode(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    int n, ns;
    int32_t *ids = int_array(L, 2, &n, "tokens");
    int32_t *seq = int_array(L, 3, &ns, "seqs");
    if (n == 0) return ll_pushfail(L, "decode: no tokens");
    if (ns != n) return ll_pushfail(L, "decode: tokens and seqs differ in length");
    bool *want = ll_newuserdata(L, sizeof(bool) * (size_t)n);
    luaL_checktype(L, 4, LUA_TTABLE);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 4, i + 1);
        want[i] = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    ll_error e;
    if (ll_context_decode(c, n, ids, seq, NULL, want, &e)) return ll_pushfail(L, e.msg);
    ll_pushint(L, c->n_logits);
    return 1;
}

/* Row i (1-based argument at index 2; default the last row) of the last
 * decode's logits, or NULL. */
static const float *check_row(lua_State *L, ll_context *c) {
    int i = (int)luaL_optnumber(L, 2, c->n_logits) - 1;
    return ll_context_logits(c, i);
}

/* c:logits(i) -> Logits copy of row i (1-based; default: the last row):
 * #l, l:get(id), l:argmax(), l:topk(k); what samplers take. */
static int c_logits(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    const float *row = check_row(L, c);
    if (!row) return ll_pushfail(L, "logits: no such row (evaluate first)");
    ll_lua_push_logits(L, row, c->m->hp.n_vocab);
    return 1;
}

/* c:logits_buf(i) -> floatbuf copy of row i (1-based indexing of values) */
static int c_logits_buf(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    const float *row = check_row(L, c);
    if (!row) return ll_pushfail(L, "logits: no such row (evaluate first)");
    int V = c->m->hp.n_vocab;
    ll_floatbuf *b = ll_lua_new_floatbuf(L, V);
    memcpy(b->data, row, sizeof(float) * (size_t)V);
    return 1;
}

/* c:sample(samplers [, out]) -> out | nil, msg: samplers[i] draws from
 * logits row i of the last decode, all rows in one call (in parallel on the
 * context's threads, logits read in place); out[i] = the id (out: a table to
 * reuse, else a new one). Samplers with Lua stages are refused: use
 * s:sample(c:logits(i)) for those. Each sampler sees exactly what
 * s:sample(c:logits(i)) would give it; nothing is accepted (s:accept). */
static int c_sample(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    const int n = (int)ll_rawlen(L, 2);
    if (n > c->n_logits)
        return ll_pushfail(L, lua_pushfstring(L, "sample: %d samplers for %d logits rows", n, c->n_logits));
    lua_settop(L, 3);
    if (lua_isnil(L, 3)) {
        lua_pop(L, 1);
        lua_createtable(L, n, 0);
    } else {
        luaL_checktype(L, 3, LUA_TTABLE);
    }
    /* scratch owned by Lua: nothing leaks when a check below raises */
    ll_sampler_chain **chains = ll_newuserdata(L, (size_t)(n > 0 ? n : 1) * (sizeof *chains + sizeof(int32_t)));
    int32_t *ids = (int32_t *)(chains + (n > 0 ? n : 1));
    ll_error e;
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        chains[i] = ll_lua_sampler_chain_c(L, -1, &e);
        lua_pop(L, 1);
        if (!chains[i]) return ll_pushfail(L, lua_pushfstring(L, "sample: samplers[%d]: %s", i + 1, e.msg));
    }
    if (ll_sample_rows(c, n, chains, ids, &e)) return ll_pushfail(L, e.msg);
    lua_pop(L, 1);
    for (int i = 0; i < n; i++) {
        ll_pushint(L, ids[i]);
        lua_rawseti(L, 3, i + 1);
    }
    /* a reused table: drop the ids of a bigger earlier step */
    for (int i = n + 1;; i++) {
        lua_rawgeti(L, 3, i);
        const bool more = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (!more) break;
        lua_pushnil(L);
        lua_rawseti(L, 3, i);
    }
    return 1;
}

/* c:argmax(i) -> token id with the largest logit in row i (0-based id) */
static int c_argmax(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    const float *row = check_row(L, c);
    if (!row) return ll_pushfail(L, "argmax: no such row (evaluate first)");
    ll_cand best;
    ll_logits_top(row, (size_t)c->m->hp.n_vocab, 1, &best);
    ll_pushint(L, best.id);
    return 1;
}

static int check_seq(lua_State *L, ll_context *c, int i) {
    int s = (int)luaL_optnumber(L, i, 0);
    if (s < 0 || s >= c->kv.n_seq) luaL_error(L, "sequence %d is out of range (context has %d)", s, c->kv.n_seq);
    return s;
}

static int c_pos(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    ll_pushint(L, c->kv.seq_next[check_seq(L, c, 2)]);
    return 1;
}

static int c_clear(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    if (lua_isnoneornil(L, 2)) {
        for (int s = 0; s < c->kv.n_seq; s++) ll_kv_clear(&c->kv, s);
    } else {
        ll_kv_clear(&c->kv, check_seq(L, c, 2));
    }
    return 0;
}

static int c_trim(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    int s = check_seq(L, c, 2);
    int n = (int)luaL_checknumber(L, 3);
    if (n < 0) return luaL_error(L, "trim: n must be >= 0");
    ll_kv_trim(&c->kv, s, n);
    return 0;
}

static int c_fork(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    ll_kv_fork(&c->kv, check_seq(L, c, 2), check_seq(L, c, 3));
    return 0;
}

/* c:info() -> {n_ctx, n_seq, n_batch, threads, used, kv_type, bytes, backends} */
static int c_info(lua_State *L) {
    ll_context *c = check_ctx(L, 1);
    size_t bytes = 0;
    for (int b = 0; b < c->n_be; b++)
        if (c->be[b]->ops->bytes) bytes += c->be[b]->ops->bytes(c->be[b]);
    lua_newtable(L);
    ll_pushint(L, c->p.n_ctx); lua_setfield(L, -2, "n_ctx");
    ll_pushint(L, c->p.n_seq); lua_setfield(L, -2, "n_seq");
    ll_pushint(L, c->p.n_batch); lua_setfield(L, -2, "n_batch");
    ll_pushint(L, c->p.n_threads); lua_setfield(L, -2, "threads");
    ll_pushint(L, c->kv.n_used); lua_setfield(L, -2, "used");
    ll_pushint(L, (long long)bytes); lua_setfield(L, -2, "bytes");
    lua_pushstring(L, ll_type_get(c->p.kv_type)->name); lua_setfield(L, -2, "kv_type");
    /* per backend: what runs where and what it allocated (for the plan check) */
    lua_createtable(L, c->n_be, 0);
    for (int b = 0; b < c->n_be; b++) {
        const ll_backend *be = c->be[b];
        lua_createtable(L, 0, 5);
        lua_pushstring(L, be->ops->name); lua_setfield(L, -2, "name");
        ll_pushint(L, be->l0); lua_setfield(L, -2, "first_layer");
        ll_pushint(L, be->l1); lua_setfield(L, -2, "end_layer");
        lua_pushboolean(L, be->has_output); lua_setfield(L, -2, "output");
        ll_pushint(L, be->ops->bytes ? (long long)be->ops->bytes(be) : 0); lua_setfield(L, -2, "bytes");
        ll_pushint(L, be->ops->device_bytes ? (long long)be->ops->device_bytes(be) : 0);
        lua_setfield(L, -2, "device_bytes");
        lua_rawseti(L, -2, b + 1);
    }
    lua_setfield(L, -2, "backends");
    return 1;
}

void ll_lua_open_context(lua_State *L) {
    static const luaL_Reg meta[] = {{"__gc", c_close}, {NULL, NULL}};
    static const luaL_Reg methods[] = {
        {"close", c_close}, {"eval", c_eval}, {"decode", c_decode}, {"logits", c_logits}, {"sample", c_sample},
        {"logits_buf", c_logits_buf}, {"argmax", c_argmax}, {"pos", c_pos}, {"clear", c_clear},
        {"trim", c_trim}, {"fork", c_fork}, {"info", c_info}, {NULL, NULL},
    };
    ll_new_class(L, LL_CONTEXT_MT, meta, methods);
    lua_pushcfunction(L, l_context_new);
    lua_setfield(L, -2, "context_new");
}
