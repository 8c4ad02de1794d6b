/* core.plan(path, opts): the memory plan of csrc/plan.c as a table, for the
 * requested GPU layer count and (by_ngl) for every count, so that choosing a
 * split needs one read of the header. The policy (budgets, advice) is Lua's:
 * lua/luallm/plan.lua. */
#include "lua_luallm.h"
#include "plan.h"
#include "lua_model.h"
#include "context.h"

#include <string.h>

static void set_u(lua_State *L, const char *k, uint64_t v) {
    ll_pushint(L, (long long)v);
    lua_setfield(L, -2, k);
}

static void push_plan(lua_State *L, const ll_plan *p) {
    set_u(L, "gpu_layers", (uint64_t)p->gpu_layers);
    set_u(L, "cpu_layers", (uint64_t)p->cpu_layers);
    lua_pushboolean(L, p->output_on_gpu);
    lua_setfield(L, -2, "output_on_gpu");
    set_u(L, "weights_host", p->weights_host);
    set_u(L, "weights_device", p->weights_device);
    set_u(L, "kv_host", p->kv_host);
    set_u(L, "kv_device", p->kv_device);
    set_u(L, "compute_host", p->compute_host);
    set_u(L, "compute_device", p->compute_device);
    set_u(L, "host_bytes", p->host_bytes);
    set_u(L, "device_bytes", p->device_bytes);
}

/* core.plan(path, {n_ctx, n_seq, n_batch, threads, kv_type, n_gpu_layers}) -> table | nil, msg */
static int l_plan(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    ll_plan_params pp = {0};
    ll_context_params cp;
    const char *bad = ll_lua_context_params(L, 2, &cp);
    if (bad) return ll_pushfail(L, lua_pushfstring(L, "plan: %s", bad));
    pp.n_ctx = cp.n_ctx;
    pp.n_seq = cp.n_seq;
    pp.n_batch = cp.n_batch;
    pp.n_threads = cp.n_threads;
    pp.kv_type = cp.kv_type;
    pp.n_gpu_layers = ll_lua_opt_int(L, 2, "n_gpu_layers", 0);
    ll_error e;
    gguf_file *g = gguf_open(path, &e);
    if (!g) return ll_pushfail(L, e.msg);
    ll_model *m = ll_model_load(g, &e);
    if (!m) {
        gguf_close(g);
        return ll_pushfail(L, e.msg);
    }
    ll_plan p;
    if (ll_plan_compute(m, &pp, &p, &e)) {
        ll_model_free(m);
        return ll_pushfail(L, e.msg);
    }
    const ll_hparams *hp = &m->hp;
    lua_newtable(L);
    push_plan(L, &p);
    lua_pushstring(L, ll_arch_name(hp->arch));
    lua_setfield(L, -2, "arch");
    set_u(L, "n_layer", (uint64_t)p.n_layer);
    set_u(L, "n_embd", (uint64_t)hp->n_embd);
    set_u(L, "n_vocab", (uint64_t)hp->n_vocab);
    set_u(L, "n_ctx_train", (uint64_t)hp->n_ctx_train);
    set_u(L, "n_ctx", (uint64_t)p.n_ctx);
    set_u(L, "n_seq", (uint64_t)p.n_seq);
    set_u(L, "n_batch", (uint64_t)p.n_batch);
    set_u(L, "threads", (uint64_t)p.n_threads);
    lua_pushstring(L, ll_type_get(pp.kv_type)->name);
    lua_setfield(L, -2, "kv_type");
    set_u(L, "n_params", (uint64_t)p.n_params);
    set_u(L, "file_size", g->file_size);
    set_u(L, "weights_bytes", p.weights_bytes);
    set_u(L, "layers_bytes", p.layers_bytes);
    set_u(L, "embd_bytes", p.embd_bytes);
    set_u(L, "output_bytes", p.output_bytes);
    lua_pushboolean(L, p.tied_output);
    lua_setfield(L, -2, "tied_output");
    const uint64_t kv_layer = ll_plan_kv_layer_bytes(hp, pp.kv_type, p.n_ctx);
    const uint64_t kv_layer_gpu = ll_plan_kv_layer_bytes(hp, LL_TYPE_F16, p.n_ctx);
    lua_createtable(L, p.n_layer, 0);
    for (int il = 0; il < p.n_layer; il++) {
        bool gpu = il >= p.cpu_layers;
        lua_createtable(L, 0, 4);
        set_u(L, "index", (uint64_t)il);
        lua_pushstring(L, gpu ? "gpu" : "cpu");
        lua_setfield(L, -2, "device");
        set_u(L, "weights", m->layers[il].bytes);
        set_u(L, "kv", gpu ? kv_layer_gpu : kv_layer);
        lua_rawseti(L, -2, il + 1);
    }
    lua_setfield(L, -2, "per_layer");
    /* by_ngl[n + 1]: the plan with the last n layers on the GPU */
    lua_createtable(L, p.n_layer + 1, 0);
    for (int n = 0; n <= p.n_layer; n++) {
        ll_plan q;
        pp.n_gpu_layers = n;
        if (ll_plan_compute(m, &pp, &q, &e)) {
            ll_model_free(m);
            return ll_pushfail(L, e.msg);
        }
        lua_createtable(L, 0, 12);
        push_plan(L, &q);
        lua_rawseti(L, -2, n + 1);
    }
    lua_setfield(L, -2, "by_ngl");
    ll_model_free(m);
    return 1;
}

void ll_lua_open_plan(lua_State *L) {
    lua_pushcfunction(L, l_plan);
    lua_setfield(L, -2, "plan");
}
