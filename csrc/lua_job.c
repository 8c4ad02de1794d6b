/* core.job_start: a generation on a background thread (generate.h), for
 * hosts whose Lua must not block, such as Neovim's event loop.
 *
 * The thread never touches the Lua state: it owns its context and a copy of
 * the sampler chain, and hands text over through the generation's locked
 * buffer; every Lua call below runs on the Lua thread. The job userdata keeps
 * the model alive through its uservalue, and its __gc cancels and joins the
 * thread before freeing anything the thread uses. */
#include "lua_luallm.h"
#include "lua_model.h"
#include "generate.h"

#include <pthread.h>
#include <string.h>

#define JOB_MT "luallm.job"
#define MAX_STOPS 64

typedef struct {
    ll_gen *g;     /* NULL until set up */
    pthread_t th;
    bool started;  /* th is a thread to join */
    bool joined;
} job_ud;

static void *job_main(void *arg) {
    ll_gen_run(arg);
    return NULL;
}

static job_ud *check_job(lua_State *L, int i) {
    job_ud *j = luaL_checkudata(L, i, JOB_MT);
    if (!j->g) luaL_error(L, "job: not started");
    return j;
}

static void join(job_ud *j) {
    if (j->started && !j->joined) {
        pthread_join(j->th, NULL);
        j->joined = true;
    }
}

static int opt_int(lua_State *L, int t, const char *k, int def, int min) {
    lua_getfield(L, t, k);
    int v = def;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) < min ||
            lua_tonumber(L, -1) > 2147483647.0)
            luaL_error(L, "job_start: %s must be a number >= %d", k, min);
        v = (int)lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* core.job_start(model, ids, {max_tokens = 256, stop = {...}, sampler = s,
 *                             n_ctx, threads}) -> job | nil, msg
 * Without a sampler the job samples greedily. */
static int l_job_start(lua_State *L) {
    ll_lua_model *mu = luaL_checkudata(L, 1, LL_MODEL_MT);
    if (!mu->m) return luaL_error(L, "model is closed");
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_isnoneornil(L, 3)) {
        lua_settop(L, 2);
        lua_newtable(L);
    }
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);

    ll_gen_params p;
    memset(&p, 0, sizeof p);
    p.max_tokens = opt_int(L, 3, "max_tokens", 256, 0);
    p.ctx.n_ctx = opt_int(L, 3, "n_ctx", 0, 0);
    p.ctx.n_threads = opt_int(L, 3, "threads", 0, 0);
    p.ctx.n_seq = 1;
    p.ctx.n_batch = 512;
    p.ctx.kv_type = LL_TYPE_F16;

    /* prompt ids: checked here so the thread never meets a bad one */
    const int V = mu->m->hp.n_vocab;
    int n = (int)ll_rawlen(L, 2);
    if (n == 0) return ll_pushfail(L, "job_start: the prompt has no tokens");
    int32_t *ids = ll_newuserdata(L, sizeof(int32_t) * (size_t)n); /* 4: freed by the GC */
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        lua_Number v = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || v != (lua_Number)(int32_t)v || v < 0 || v >= V) {
            lua_pushnil(L);
            lua_pushfstring(L, "job_start: prompt token %d is not a valid id", i + 1);
            return 2;
        }
        ids[i] = (int32_t)v;
        lua_pop(L, 1);
    }

    /* stop strings: Lua strings stay on the stack until ll_gen_new copied them */
    const char *stops[MAX_STOPS];
    lua_getfield(L, 3, "stop"); /* 5 */
    if (lua_type(L, 5) == LUA_TSTRING) {
        stops[p.n_stops++] = lua_tostring(L, 5);
    } else if (lua_type(L, 5) == LUA_TTABLE) {
        int ns = (int)ll_rawlen(L, 5);
        if (ns > MAX_STOPS) return ll_pushfail(L, "job_start: at most 64 stop strings");
        for (int i = 1; i <= ns; i++) {
            lua_rawgeti(L, 5, i);
            if (lua_type(L, -1) != LUA_TSTRING) return ll_pushfail(L, "job_start: stop must be a list of strings");
            stops[p.n_stops++] = lua_tostring(L, -1); /* the table at 5 keeps it alive */
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, 5)) {
        return ll_pushfail(L, "job_start: stop must be a string or a list of strings");
    }
    p.stops = stops;

    /* the userdata exists before the chain and the thread, so its __gc covers
     * every exit (6) */
    job_ud *j = ll_newuserdata(L, sizeof *j);
    memset(j, 0, sizeof *j);
    ll_setmetatable(L, JOB_MT);
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "model");
    ll_setuservalue(L, 6);

    ll_error e;
    ll_sampler_chain *chain;
    lua_getfield(L, 3, "sampler"); /* 7 */
    if (lua_isnil(L, 7)) {
        chain = ll_sampler_chain_new(&e);
        ll_sampler_stage *g = chain ? ll_stage_greedy(&e) : NULL;
        if (chain && (!g || ll_sampler_chain_add(chain, g, &e) != 0)) {
            ll_sampler_chain_free(chain);
            chain = NULL;
        }
    } else {
        chain = ll_lua_sampler_clone_c(L, 7, &e);
    }
    if (!chain) {
        lua_pushnil(L);
        lua_pushfstring(L, "job_start: %s", e.msg);
        return 2;
    }
    j->g = ll_gen_new(mu->m, mu->tok, chain, ids, n, &p, &e);
    if (!j->g) return ll_pushfail(L, e.msg);
    if (pthread_create(&j->th, NULL, job_main, j->g) != 0)
        return ll_pushfail(L, "job_start: cannot create a thread");
    j->started = true;
    lua_settop(L, 6);
    return 1;
}

/* job:poll() -> text produced since the last poll ("" when none); never blocks */
static int j_poll(lua_State *L) {
    job_ud *j = check_job(L, 1);
    bool done = ll_gen_done(j->g); /* read first: after it, all output is in */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t k;
    while ((k = ll_gen_read(j->g, luaL_prepbuffer(&b), LUAL_BUFFERSIZE)) > 0) luaL_addsize(&b, k);
    luaL_pushresult(&b);
    if (done) join(j); /* the thread has ended or is about to: reclaim it */
    return 1;
}

static int j_cancel(lua_State *L) {
    ll_gen_cancel(check_job(L, 1)->g);
    return 0;
}

static void push_stats(lua_State *L, ll_gen *g) {
    ll_gen_stats s = ll_gen_stats_get(g);
    lua_createtable(L, 0, 7);
    ll_pushint(L, s.prompt_n); lua_setfield(L, -2, "prompt_n");
    lua_pushnumber(L, s.prompt_ms); lua_setfield(L, -2, "prompt_ms");
    lua_pushnumber(L, s.prompt_ms > 0 ? s.prompt_n * 1000.0 / s.prompt_ms : 0);
    lua_setfield(L, -2, "prompt_tps");
    ll_pushint(L, s.gen_n); lua_setfield(L, -2, "gen_n");
    lua_pushnumber(L, s.gen_ms); lua_setfield(L, -2, "gen_ms");
    lua_pushnumber(L, s.gen_ms > 0 ? s.gen_n * 1000.0 / s.gen_ms : 0);
    lua_setfield(L, -2, "gen_tps");
    lua_pushnumber(L, s.total_ms); lua_setfield(L, -2, "total_ms");
}

/* job:wait() -> {text, tokens, stop_reason, stats, error?}: blocks until the end */
static int j_wait(lua_State *L) {
    job_ud *j = check_job(L, 1);
    join(j);
    size_t len;
    const char *text = ll_gen_text(j->g, &len);
    int nt;
    const int32_t *toks = ll_gen_tokens(j->g, &nt);
    lua_createtable(L, 0, 5);
    lua_pushlstring(L, text, len);
    lua_setfield(L, -2, "text");
    lua_createtable(L, nt, 0);
    for (int i = 0; i < nt; i++) {
        ll_pushint(L, toks[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "tokens");
    ll_gen_reason r = ll_gen_reason_get(j->g);
    lua_pushstring(L, ll_gen_reason_name(r));
    lua_setfield(L, -2, "stop_reason");
    push_stats(L, j->g);
    lua_setfield(L, -2, "stats");
    if (r == LL_GEN_ERROR) {
        lua_pushstring(L, ll_gen_error(j->g));
        lua_setfield(L, -2, "error");
    }
    return 1;
}

/* job.done, job.stats, then the methods */
static int j_index(lua_State *L) {
    job_ud *j = check_job(L, 1);
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    if (k && strcmp(k, "done") == 0) {
        lua_pushboolean(L, ll_gen_done(j->g));
        return 1;
    }
    if (k && strcmp(k, "stats") == 0) {
        push_stats(L, j->g);
        return 1;
    }
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int j_gc(lua_State *L) {
    job_ud *j = luaL_checkudata(L, 1, JOB_MT);
    if (!j->g) return 0;
    if (j->started && !j->joined) ll_gen_cancel(j->g);
    join(j);
    ll_gen_free(j->g);
    j->g = NULL;
    return 0;
}

void ll_lua_open_job(lua_State *L) {
    static const luaL_Reg meta[] = {{"__gc", j_gc}, {"__index", j_index}, {NULL, NULL}};
    static const luaL_Reg methods[] = {
        {"poll", j_poll}, {"cancel", j_cancel}, {"wait", j_wait}, {NULL, NULL},
    };
    luaL_newmetatable(L, JOB_MT);
    ll_setfuncs(L, meta);
    lua_newtable(L);
    ll_setfuncs(L, methods);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_job_start);
    lua_setfield(L, -2, "job_start");
}
