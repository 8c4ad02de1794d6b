/* Lua binding of samplers (csrc/sampler.h).
 *
 * One userdata type, "luallm.sampler", wraps an ll_sampler_chain: a stage
 * constructor returns a chain of one stage, and core.sampler.chain(list)
 * copies the stages of several samplers into a new chain (fresh state), so
 * a stage object can be reused in many chains without sharing its RNG.
 *
 * Lua custom stages: the function lives in the sampler's uservalue table at
 * `slot`; the C stage keeps only the slot. A call goes through a protected
 * trampoline that hands the function a "luallm.cand" view of the C array,
 * valid during that call only, so a Lua error never unwinds through C. */
#include "lua_luallm.h"
#include "lua_logits.h"
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLER_MT "luallm.sampler"
#define CAND_MT "luallm.cand"
#define RNG_MT "luallm.rng"

#if LUA_VERSION_NUM < 502
#define set_uservalue(L, i) lua_setfenv((L), (i))
#define get_uservalue(L, i) lua_getfenv((L), (i))
#else
#define set_uservalue(L, i) lua_setiuservalue((L), (i), 1)
#define get_uservalue(L, i) lua_getiuservalue((L), (i), 1)
#endif

typedef struct {
    ll_sampler_chain *chain; /* NULL until built; __gc copes */
    float *scratch;          /* (scratch_cap) logits copied from a Lua table */
    size_t scratch_cap;
    int n_fns; /* Lua custom functions in the uservalue table, [1..n_fns] */
} sampler_ud;

typedef struct {
    int slot;
} lua_custom;

/* What ll_sampler_sample passes to the Lua custom stages of one call. */
typedef struct {
    lua_State *L;
    int fns;     /* absolute stack index of the sampler's function table */
    bool raised; /* a Lua function raised: s:sample re-raises */
} lua_call_ctx;

typedef struct {
    ll_cand_array *a; /* NULL outside its custom stage call */
} cand_view;

/* ---- helpers ------------------------------------------------------------ */

static int fail(lua_State *L, const char *msg) { return ll_pushfail(L, msg); }

/* Pushes a new, empty sampler with its function table. */
static sampler_ud *new_sampler(lua_State *L) {
    sampler_ud *u = ll_newuserdata(L, sizeof *u);
    memset(u, 0, sizeof *u);
    ll_setmetatable(L, SAMPLER_MT);
    lua_newtable(L);
    set_uservalue(L, -2);
    return u;
}

static sampler_ud *check_sampler(lua_State *L, int idx) {
    sampler_ud *u = luaL_checkudata(L, idx, SAMPLER_MT);
    if (!u->chain) luaL_error(L, "sampler: not initialized");
    return u;
}

/* Builds the sampler on top of the stack into a one-stage chain; returns the
 * number of Lua results (1, or 2 for nil, msg). */
static int finish_single(lua_State *L, sampler_ud *u, ll_sampler_stage *s, ll_error *e) {
    if (!s) return fail(L, e->msg);
    u->chain = ll_sampler_chain_new(e);
    if (!u->chain) {
        ll_stage_free(s);
        return fail(L, e->msg);
    }
    if (ll_sampler_chain_add(u->chain, s, e) != 0) return fail(L, e->msg);
    return 1;
}

/* A number argument, or false with `name: <what> must be a number` pushed. */
static bool get_number(lua_State *L, int idx, const char *what, double *out) {
    if (lua_type(L, idx) != LUA_TNUMBER) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s must be a number (got %s)", what, luaL_typename(L, idx));
        return false;
    }
    *out = lua_tonumber(L, idx);
    return true;
}

static bool is_integral(double v) { return isfinite(v) && v == floor(v); }

/* ---- the candidate view ------------------------------------------------- */

static ll_cand_array *check_view(lua_State *L) {
    cand_view *v = luaL_checkudata(L, 1, CAND_MT);
    if (!v->a)
        luaL_error(L, "cand: this candidate view is only valid during its custom stage call");
    return v->a;
}

/* 1-based index argument -> 0-based position */
static size_t check_index(lua_State *L, ll_cand_array *a, int idx) {
    double i = luaL_checknumber(L, idx);
    if (!is_integral(i) || i < 1 || i > (double)a->n)
        luaL_error(L, "cand: index %f out of range [1, %d]", i, (int)a->n);
    return (size_t)i - 1;
}

static int c_len(lua_State *L) {
    ll_pushint(L, (long long)check_view(L)->n);
    return 1;
}

static int c_id(lua_State *L) {
    ll_cand_array *a = check_view(L);
    ll_pushint(L, a->data[check_index(L, a, 2)].id);
    return 1;
}

static int c_logit(lua_State *L) {
    ll_cand_array *a = check_view(L);
    lua_pushnumber(L, a->data[check_index(L, a, 2)].logit);
    return 1;
}

static int c_set_logit(lua_State *L) {
    ll_cand_array *a = check_view(L);
    size_t i = check_index(L, a, 2);
    double v = luaL_checknumber(L, 3);
    if (isnan(v)) return luaL_error(L, "cand:set_logit: value is NaN");
    a->data[i].logit = (float)v;
    a->sorted = false;
    a->normalized = false;
    return 0;
}

/* cand:p(i): softmax over the current candidates, computed when stale */
static int c_p(lua_State *L) {
    ll_cand_array *a = check_view(L);
    size_t i = check_index(L, a, 2);
    if (!a->normalized) ll_cand_softmax(a);
    lua_pushnumber(L, a->data[i].p);
    return 1;
}

static int c_sort(lua_State *L) {
    ll_cand_sort(check_view(L));
    return 0;
}

/* cand:resize(n): keep the first n (1 <= n <= #cand); sort first for top-n */
static int c_resize(lua_State *L) {
    ll_cand_array *a = check_view(L);
    double n = luaL_checknumber(L, 2);
    if (!is_integral(n) || n < 1 || n > (double)a->n)
        return luaL_error(L, "cand:resize: n must be an integer in [1, %d]", (int)a->n);
    if ((size_t)n < a->n) {
        a->n = (size_t)n;
        a->normalized = false;
    }
    return 0;
}

static int c_tostring(lua_State *L) {
    cand_view *v = luaL_checkudata(L, 1, CAND_MT);
    if (v->a) lua_pushfstring(L, "luallm.cand(%d)", (int)v->a->n);
    else lua_pushstring(L, "luallm.cand(expired)");
    return 1;
}

/* ---- Lua custom stages -------------------------------------------------- */

/* [fn, lightuserdata array] -> calls fn(view); re-raises its error after
 * expiring the view, so a view kept by the function can never dangle. */
static int custom_trampoline(lua_State *L) {
    ll_cand_array *a = lua_touserdata(L, 2);
    cand_view *v = ll_newuserdata(L, sizeof *v);
    v->a = NULL;
    ll_setmetatable(L, CAND_MT);
    v->a = a;
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 3);
    int rc = lua_pcall(L, 1, 0, 0);
    v->a = NULL;
    if (rc != 0) return lua_error(L);
    return 0;
}

static int lua_custom_apply(ll_cand_array *a, void *ud, void *call, ll_error *e) {
    lua_call_ctx *cc = call;
    if (!cc) return ll_err(e, "custom stage: a Lua stage can only run from s:sample()");
    lua_State *L = cc->L;
    if (!lua_checkstack(L, 4)) return ll_err(e, "custom stage: Lua stack overflow");
    lua_pushcfunction(L, custom_trampoline);
    lua_rawgeti(L, cc->fns, ((lua_custom *)ud)->slot);
    lua_pushlightuserdata(L, a);
    if (lua_pcall(L, 2, 0, 0) != 0) {
        const char *msg = lua_tostring(L, -1);
        ll_err(e, "sampler: custom stage failed: %s", msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
        cc->raised = true;
        return -1;
    }
    return 0;
}

static void lua_custom_free(void *ud) { free(ud); }

static const ll_custom_ops lua_custom_ops = {
    .name = "lua",
    .apply = lua_custom_apply,
    .free = lua_custom_free,
};

/* core.sampler.custom(fn) -> sampler */
static int s_custom(lua_State *L) {
    if (lua_type(L, 1) != LUA_TFUNCTION) return fail(L, "custom: expects a function(cand)");
    sampler_ud *u = new_sampler(L);
    ll_error e;
    lua_custom *lc = malloc(sizeof *lc);
    if (!lc) return fail(L, "custom: out of memory");
    lc->slot = 1;
    get_uservalue(L, -1);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
    u->n_fns = 1;
    ll_sampler_stage *s = ll_stage_custom(&lua_custom_ops, lc, &e);
    if (!s) free(lc);
    return finish_single(L, u, s, &e);
}

/* ---- built-in stage constructors ---------------------------------------- */

static int s_greedy(lua_State *L) {
    ll_error e;
    sampler_ud *u = new_sampler(L);
    return finish_single(L, u, ll_stage_greedy(&e), &e);
}

static int s_temperature(lua_State *L) {
    double t;
    if (!get_number(L, 1, "temperature: t", &t)) return 2;
    ll_error e;
    sampler_ud *u = new_sampler(L);
    return finish_single(L, u, ll_stage_temperature((float)t, &e), &e);
}

static int s_top_k(lua_State *L) {
    double k;
    if (!get_number(L, 1, "top_k: k", &k)) return 2;
    if (!is_integral(k) || k < 1 || k > 2147483647.0) return fail(L, "top_k: k must be an integer >= 1");
    ll_error e;
    sampler_ud *u = new_sampler(L);
    return finish_single(L, u, ll_stage_top_k((int64_t)k, &e), &e);
}

typedef ll_sampler_stage *(*p_ctor)(float, ll_error *);

static int p_stage(lua_State *L, const char *what, p_ctor ctor) {
    double p;
    if (!get_number(L, 1, what, &p)) return 2;
    ll_error e;
    sampler_ud *u = new_sampler(L);
    return finish_single(L, u, ctor((float)p, &e), &e);
}

static int s_top_p(lua_State *L) { return p_stage(L, "top_p: p", ll_stage_top_p); }
static int s_min_p(lua_State *L) { return p_stage(L, "min_p: p", ll_stage_min_p); }
static int s_typical(lua_State *L) { return p_stage(L, "typical: p", ll_stage_typical); }

/* core.sampler.penalties{repeat_ = r, frequency = f, presence = p, last_n = n} */
static int s_penalties(lua_State *L) {
    if (!lua_isnoneornil(L, 1) && lua_type(L, 1) != LUA_TTABLE)
        return fail(L, "penalties: expects a table {repeat_, frequency, presence, last_n}");
    ll_penalty_params pp = {1.0f, 0.0f, 0.0f, 64};
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            double v;
            char what[64];
            snprintf(what, sizeof what, "penalties: %s", k);
            if (!get_number(L, -1, what, &v)) return 2;
            if (!strcmp(k, "repeat_") || !strcmp(k, "repeat")) pp.repeat = (float)v;
            else if (!strcmp(k, "frequency")) pp.frequency = (float)v;
            else if (!strcmp(k, "presence")) pp.presence = (float)v;
            else if (!strcmp(k, "last_n")) {
                if (!is_integral(v) || v < 0 || v > 1048576.0)
                    return fail(L, "penalties: last_n must be an integer in [0, 1048576]");
                pp.last_n = (int32_t)v;
            } else {
                lua_pushnil(L);
                lua_pushfstring(L, "penalties: unknown field '%s' (repeat_, frequency, presence, last_n)", k);
                return 2;
            }
            lua_pop(L, 1);
        }
    }
    ll_error e;
    sampler_ud *u = new_sampler(L);
    return finish_single(L, u, ll_stage_penalties(&pp, &e), &e);
}

/* core.sampler.logit_bias{[id] = delta, ...} */
static int s_logit_bias(lua_State *L) {
    if (lua_type(L, 1) != LUA_TTABLE) return fail(L, "logit_bias: expects a table {[id] = delta}");
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        n++;
        lua_pop(L, 1);
    }
    /* Lua-owned scratch: nothing to free if a later call raises */
    ll_logit_bias *b = ll_newuserdata(L, (n ? n : 1) * sizeof *b);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        double id, d;
        if (lua_type(L, -2) != LUA_TNUMBER || !is_integral(id = lua_tonumber(L, -2)) || id < 0 ||
            id > 2147483647.0)
            return fail(L, "logit_bias: keys must be token ids (integers >= 0)");
        if (!get_number(L, -1, "logit_bias: delta", &d)) return 2;
        b[i].id = (int32_t)id;
        b[i].delta = (float)d;
        i++;
        lua_pop(L, 1);
    }
    ll_error e;
    sampler_ud *u = new_sampler(L);
    return finish_single(L, u, ll_stage_logit_bias(b, n, &e), &e);
}

/* Seed argument: nil -> 0, else an integer >= 0. */
static bool get_seed(lua_State *L, int idx, const char *who, uint64_t *seed) {
    *seed = 0;
    if (lua_isnoneornil(L, idx)) return true;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        if (v >= 0) {
            *seed = (uint64_t)v;
            return true;
        }
    }
#endif
    if (lua_type(L, idx) == LUA_TNUMBER) {
        double v = lua_tonumber(L, idx);
        if (is_integral(v) && v >= 0 && v < 18446744073709551616.0) {
            *seed = (uint64_t)v;
            return true;
        }
    }
    lua_pushnil(L);
    lua_pushfstring(L, "%s: seed must be an integer >= 0", who);
    return false;
}

static int s_dist(lua_State *L) {
    uint64_t seed;
    if (!get_seed(L, 1, "dist", &seed)) return 2;
    ll_error e;
    sampler_ud *u = new_sampler(L);
    return finish_single(L, u, ll_stage_dist(seed, &e), &e);
}

/* core.sampler.chain({sampler | function, ...}) -> sampler with copies of
 * every stage, in order */
static int s_chain(lua_State *L) {
    if (lua_type(L, 1) != LUA_TTABLE) return fail(L, "chain: expects a list of stages");
    int n = (int)ll_rawlen(L, 1);
    if (n == 0) return fail(L, "chain: needs at least one stage");
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        bool ok = ll_testudata(L, -1, SAMPLER_MT) != NULL || lua_type(L, -1) == LUA_TFUNCTION;
        lua_pop(L, 1);
        if (!ok) {
            lua_pushnil(L);
            lua_pushfstring(L, "chain: element %d is not a sampler stage or function", i);
            return 2;
        }
    }
    sampler_ud *u = new_sampler(L);
    int out = lua_gettop(L);
    get_uservalue(L, out);
    int fns = lua_gettop(L);
    ll_error e;
    u->chain = ll_sampler_chain_new(&e);
    if (!u->chain) return fail(L, e.msg);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        int src_idx = lua_gettop(L);
        sampler_ud *src = ll_testudata(L, src_idx, SAMPLER_MT);
        if (!src) {
            /* a bare function is a custom stage */
            lua_custom *lc = malloc(sizeof *lc);
            if (!lc) return fail(L, "chain: out of memory");
            lc->slot = ++u->n_fns;
            lua_pushvalue(L, src_idx);
            lua_rawseti(L, fns, lc->slot);
            ll_sampler_stage *s = ll_stage_custom(&lua_custom_ops, lc, &e);
            if (!s) free(lc);
            if (!s || ll_sampler_chain_add(u->chain, s, &e) != 0) return fail(L, e.msg);
            lua_pop(L, 1);
            continue;
        }
        if (!src->chain) return fail(L, "chain: uninitialized sampler");
        get_uservalue(L, src_idx);
        int src_fns = lua_gettop(L);
        for (size_t j = 0; j < ll_sampler_chain_len(src->chain); j++) {
            const ll_sampler_stage *st = ll_sampler_chain_stage(src->chain, j);
            lua_custom *old = ll_stage_custom_ud(st, &lua_custom_ops);
            ll_sampler_stage *s;
            if (old) {
                lua_custom *lc = malloc(sizeof *lc);
                if (!lc) return fail(L, "chain: out of memory");
                lc->slot = ++u->n_fns;
                lua_rawgeti(L, src_fns, old->slot);
                lua_rawseti(L, fns, lc->slot);
                s = ll_stage_custom(&lua_custom_ops, lc, &e);
                if (!s) free(lc);
            } else {
                s = ll_stage_clone(st, &e);
            }
            if (!s || ll_sampler_chain_add(u->chain, s, &e) != 0) return fail(L, e.msg);
        }
        lua_pop(L, 2);
    }
    lua_settop(L, out);
    return 1;
}

/* ---- sampler methods ---------------------------------------------------- */

/* s:sample(logits) -> id. logits: a Logits userdata or an array of numbers
 * (token id i-1 at index i). nil, msg when sampling fails; an error raised
 * by a Lua custom stage is raised again from here. */
static int m_sample(lua_State *L) {
    sampler_ud *u = check_sampler(L, 1);
    const float *data;
    int n;
    const ll_lua_logits *lg = ll_lua_test_logits(L, 2);
    if (lg) {
        data = lg->data;
        n = lg->n;
    } else if (lua_type(L, 2) == LUA_TTABLE) {
        size_t len = ll_rawlen(L, 2);
        if (len == 0 || len > 0x7fffffff) return fail(L, "sample: logits must be a non-empty array");
        if (len > u->scratch_cap) {
            float *buf = realloc(u->scratch, len * sizeof *buf);
            if (!buf) return fail(L, "sample: out of memory");
            u->scratch = buf;
            u->scratch_cap = len;
        }
        for (size_t i = 0; i < len; i++) {
            lua_rawgeti(L, 2, (int)i + 1);
            if (lua_type(L, -1) != LUA_TNUMBER) {
                lua_pushnil(L);
                lua_pushfstring(L, "sample: logits[%d] is not a number", (int)i + 1);
                return 2;
            }
            u->scratch[i] = (float)lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        data = u->scratch;
        n = (int)len;
    } else {
        return luaL_argerror(L, 2, "expected Logits or an array of numbers");
    }
    get_uservalue(L, 1);
    lua_call_ctx cc = {L, lua_gettop(L), false};
    ll_error e;
    int32_t id = ll_sampler_sample(u->chain, data, n, &cc, &e);
    if (id < 0) {
        if (cc.raised) {
            lua_pushstring(L, e.msg);
            return lua_error(L);
        }
        return fail(L, e.msg);
    }
    ll_pushint(L, id);
    return 1;
}

/* s:accept(id): records an emitted token (penalty window) */
static int m_accept(lua_State *L) {
    sampler_ud *u = check_sampler(L, 1);
    double id = luaL_checknumber(L, 2);
    if (!is_integral(id) || id < 0 || id > 2147483647.0)
        return luaL_argerror(L, 2, "token id must be an integer >= 0");
    ll_sampler_accept(u->chain, (int32_t)id);
    return 0;
}

static int m_reset(lua_State *L) {
    ll_sampler_reset(check_sampler(L, 1)->chain);
    return 0;
}

/* s:stages() -> {"top_k(40)", "temperature(0.6)", ...} */
static int m_stages(lua_State *L) {
    sampler_ud *u = check_sampler(L, 1);
    size_t n = ll_sampler_chain_len(u->chain);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        char buf[128];
        ll_stage_describe(ll_sampler_chain_stage(u->chain, i), buf, sizeof buf);
        lua_pushstring(L, buf);
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

static int m_tostring(lua_State *L) {
    sampler_ud *u = luaL_checkudata(L, 1, SAMPLER_MT);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "luallm.sampler(");
    size_t n = u->chain ? ll_sampler_chain_len(u->chain) : 0;
    for (size_t i = 0; i < n; i++) {
        char buf[128];
        ll_stage_describe(ll_sampler_chain_stage(u->chain, i), buf, sizeof buf);
        if (i) luaL_addstring(&b, " -> ");
        luaL_addstring(&b, buf);
    }
    luaL_addstring(&b, ")");
    luaL_pushresult(&b);
    return 1;
}

static int m_gc(lua_State *L) {
    sampler_ud *u = luaL_checkudata(L, 1, SAMPLER_MT);
    ll_sampler_chain_free(u->chain);
    free(u->scratch);
    u->chain = NULL;
    u->scratch = NULL;
    return 0;
}

/* The chain of the sampler at idx itself (state shared) for sampling in C
 * on this thread or the context's (c:sample); NULL with e set when idx is
 * not a sampler or holds a Lua stage. */
ll_sampler_chain *ll_lua_sampler_chain_c(lua_State *L, int idx, ll_error *e) {
    sampler_ud *u = ll_testudata(L, idx, SAMPLER_MT);
    if (!u || !u->chain) {
        ll_err(e, "expected a sampler (llm.sampler)");
        return NULL;
    }
    if (u->n_fns > 0) {
        ll_err(e, "the sampler has a Lua stage (sample it with s:sample)");
        return NULL;
    }
    return u->chain;
}

/* A fresh copy of the chain of the sampler at idx for a thread that has no
 * Lua state (lua_job.c); NULL with e set when idx is not a sampler or one of
 * its stages is a Lua function. */
ll_sampler_chain *ll_lua_sampler_clone_c(lua_State *L, int idx, ll_error *e) {
    sampler_ud *u = ll_testudata(L, idx, SAMPLER_MT);
    if (!u || !u->chain) {
        ll_err(e, "sampler: expected a sampler (llm.sampler)");
        return NULL;
    }
    size_t n = ll_sampler_chain_len(u->chain);
    for (size_t i = 0; i < n; i++) {
        if (ll_stage_custom_ud(ll_sampler_chain_stage(u->chain, i), &lua_custom_ops)) {
            ll_err(e, "sampler: stage %d is a Lua function, which cannot run off the Lua "
                      "thread; use C stages only", (int)i + 1);
            return NULL;
        }
    }
    ll_sampler_chain *c = ll_sampler_chain_new(e);
    if (!c) return NULL;
    for (size_t i = 0; i < n; i++) {
        ll_sampler_stage *s = ll_stage_clone(ll_sampler_chain_stage(u->chain, i), e);
        if (!s || ll_sampler_chain_add(c, s, e) != 0) {
            ll_sampler_chain_free(c);
            return NULL;
        }
    }
    return c;
}

/* ---- the RNG, exposed so specs can pin its sequence --------------------- */

static int r_new(lua_State *L) {
    uint64_t seed;
    if (!get_seed(L, 1, "rng", &seed)) return 2;
    ll_rng *r = ll_newuserdata(L, sizeof *r);
    ll_rng_seed(r, seed);
    ll_setmetatable(L, RNG_MT);
    return 1;
}

/* r:uniform() -> double in [0, 1), a multiple of 2^-53 */
static int r_uniform(lua_State *L) {
    lua_pushnumber(L, ll_rng_uniform(luaL_checkudata(L, 1, RNG_MT)));
    return 1;
}

void ll_lua_open_sampler(lua_State *L) {
    static const luaL_Reg s_meta[] = {{"__gc", m_gc}, {"__tostring", m_tostring}, {NULL, NULL}};
    static const luaL_Reg s_methods[] = {
        {"sample", m_sample}, {"accept", m_accept}, {"reset", m_reset},
        {"stages", m_stages}, {NULL, NULL},
    };
    static const luaL_Reg c_meta[] = {{"__len", c_len}, {"__tostring", c_tostring}, {NULL, NULL}};
    static const luaL_Reg c_methods[] = {
        {"id", c_id}, {"logit", c_logit}, {"set_logit", c_set_logit}, {"p", c_p},
        {"sort", c_sort}, {"resize", c_resize}, {NULL, NULL},
    };
    static const luaL_Reg r_meta[] = {{NULL, NULL}};
    static const luaL_Reg r_methods[] = {{"uniform", r_uniform}, {NULL, NULL}};
    static const luaL_Reg fns[] = {
        {"greedy", s_greedy}, {"temperature", s_temperature}, {"top_k", s_top_k},
        {"top_p", s_top_p}, {"min_p", s_min_p}, {"typical", s_typical},
        {"penalties", s_penalties}, {"logit_bias", s_logit_bias}, {"dist", s_dist},
        {"custom", s_custom}, {"chain", s_chain}, {"rng", r_new}, {NULL, NULL},
    };
    ll_new_class(L, SAMPLER_MT, s_meta, s_methods);
    ll_new_class(L, CAND_MT, c_meta, c_methods);
    ll_new_class(L, RNG_MT, r_meta, r_methods);
    ll_newlib(L, fns);
    lua_setfield(L, -2, "sampler");
}
