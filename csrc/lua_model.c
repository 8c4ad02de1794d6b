/* core.model_load(path, opts) -> model userdata. The Lua object users see
 * (llm.load) wraps this in lua/luallm/model.lua; here only argument checks
 * and conversions. */
#include "lua_luallm.h"
#include "lua_model.h"
#include "model.h"
#include "tokenizer.h"
#ifdef LL_HAVE_CUDA
#include "cuda/backend_cuda.h"
#endif

#include <string.h>

ll_model *ll_lua_check_model(lua_State *L, int i) {
    ll_lua_model *u = luaL_checkudata(L, i, LL_MODEL_MT);
    if (!u->m) luaL_error(L, "model is closed");
    return u->m;
}

/* core.model_load(path, {n_gpu_layers = n}) -> model | nil, msg */
static int l_model_load(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int n_gpu = 0;
    if (lua_istable(L, 2)) n_gpu = ll_lua_opt_int(L, 2, "n_gpu_layers", 0);
    double t0 = ll_now_ms();
    ll_error e;
    gguf_file *g = gguf_open(path, &e);
    if (!g) return ll_pushfail(L, e.msg);
    ll_model *m = ll_model_load(g, &e);
    if (!m) {
        gguf_close(g);
        return ll_pushfail(L, e.msg);
    }
    ll_tokenizer *tok = ll_tokenizer_new(g, &e);
    if (!tok) {
        ll_model_free(m);
        return ll_pushfail(L, e.msg);
    }
#ifndef LL_HAVE_CUDA
    if (n_gpu != 0 && n_gpu != -9999) n_gpu = 0; /* no GPU in this build: all on the CPU */
#else
    /* A CUDA build asked for GPU layers on a machine without a device: an
     * error, not a silent CPU fallback (callers wanting "GPU if any" check
     * llm.backends().cuda.devices first). */
    char why[256];
    if (n_gpu != 0 && ll_cuda_device_info(NULL, 0, why, sizeof why) <= 0) {
        ll_tokenizer_free(tok);
        ll_model_free(m);
        lua_pushnil(L);
        lua_pushfstring(L, "model: n_gpu_layers = %d needs a CUDA device, but none is present (%s); "
                           "use n_gpu_layers = 0", n_gpu, why);
        return 2;
    }
#endif
    if (n_gpu < 0 || n_gpu > m->hp.n_layer) n_gpu = m->hp.n_layer;
    m->n_gpu_layers = n_gpu;
    m->output_on_gpu = n_gpu == m->hp.n_layer && n_gpu > 0;
    m->load_ms = ll_now_ms() - t0;
    ll_lua_model *u = ll_newuserdata(L, sizeof *u);
    u->m = m;
    u->tok = tok;
    ll_setmetatable(L, LL_MODEL_MT);
    lua_newtable(L);
    ll_setuservalue(L, -2);
    return 1;
}

static int m_close(lua_State *L) {
    ll_lua_model *u = luaL_checkudata(L, 1, LL_MODEL_MT);
    ll_tokenizer_free(u->tok);
    ll_model_free(u->m);
    u->m = NULL;
    u->tok = NULL;
    return 0;
}

/* m:tokenizer() -> tokenizer (borrowed: keeps the model alive) */
static int m_tokenizer(lua_State *L) {
    ll_lua_check_model(L, 1);
    ll_lua_model *u = lua_touserdata(L, 1);
    ll_lua_push_tokenizer(L, u->tok, 1);
    return 1;
}

/* m:info() -> table of hyper-parameters */
static int m_info(lua_State *L) {
    ll_model *m = ll_lua_check_model(L, 1);
    const ll_hparams *hp = &m->hp;
    lua_newtable(L);
    lua_pushstring(L, ll_arch_name(hp->arch)); lua_setfield(L, -2, "arch");
#define F(name, v) ll_pushint(L, (v)); lua_setfield(L, -2, name)
    F("n_layers", hp->n_layer);
    F("n_vocab", hp->n_vocab);
    F("n_ctx_train", hp->n_ctx_train);
    F("n_embd", hp->n_embd);
    F("n_head", hp->n_head);
    F("n_head_kv", hp->n_head_kv);
    F("head_dim", hp->head_dim);
    F("n_ff", hp->n_ff);
    F("n_params", ll_model_n_params(m));
    F("file_size", (long long)m->gguf->file_size);
    F("n_gpu_layers", m->n_gpu_layers);
#undef F
    lua_pushnumber(L, m->load_ms); lua_setfield(L, -2, "load_ms");
    lua_pushboolean(L, m->tied_output); lua_setfield(L, -2, "tied_output");
    return 1;
}

/* m:placement() -> {layers = {{device = "cpu"|"cuda", bytes = n}...}, cpu_bytes, gpu_bytes} */
static int m_placement(lua_State *L) {
    ll_model *m = ll_lua_check_model(L, 1);
    const int first_gpu = m->hp.n_layer - m->n_gpu_layers;
    size_t cpu = 0, gpu = 0;
    lua_newtable(L);
    lua_createtable(L, m->hp.n_layer, 0);
    for (int i = 0; i < m->hp.n_layer; i++) {
        bool on_gpu = i >= first_gpu;
        lua_createtable(L, 0, 2);
        lua_pushstring(L, on_gpu ? "cuda" : "cpu"); lua_setfield(L, -2, "device");
        ll_pushint(L, (long long)m->layers[i].bytes); lua_setfield(L, -2, "bytes");
        lua_rawseti(L, -2, i + 1);
        if (on_gpu) gpu += m->layers[i].bytes; else cpu += m->layers[i].bytes;
    }
    lua_setfield(L, -2, "layers");
    size_t out = m->output.row_bytes * (size_t)m->output.ne1;
    size_t emb = m->tok_embd.row_bytes * (size_t)m->tok_embd.ne1;
    cpu += emb; /* the embedding lookup stays on the CPU */
    if (m->output_on_gpu) gpu += out; else if (!m->tied_output) cpu += out;
    ll_pushint(L, (long long)cpu); lua_setfield(L, -2, "cpu_bytes");
    ll_pushint(L, (long long)gpu); lua_setfield(L, -2, "gpu_bytes");
    ll_pushint(L, m->n_gpu_layers); lua_setfield(L, -2, "gpu_layers");
    ll_pushint(L, m->hp.n_layer - m->n_gpu_layers); lua_setfield(L, -2, "cpu_layers");
    lua_pushboolean(L, m->output_on_gpu); lua_setfield(L, -2, "output_on_gpu");
    return 1;
}

/* m:gguf_path-free access to the opened file's metadata: m:meta(key) -> value | nil */
static int m_meta(lua_State *L) {
    ll_model *m = ll_lua_check_model(L, 1);
    const char *key = luaL_checkstring(L, 2);
    const gguf_value *v = gguf_get(m->gguf, key);
    if (!v) { lua_pushnil(L); return 1; }
    switch (v->type) {
    case GGUF_STRING: lua_pushlstring(L, v->s.data, v->s.len); break;
    case GGUF_BOOL: lua_pushboolean(L, v->b); break;
    case GGUF_FLOAT32: case GGUF_FLOAT64: lua_pushnumber(L, v->f); break;
    case GGUF_ARRAY: {
        /* arrays can be huge (the vocabulary): give element count and type */
        lua_createtable(L, 0, 2);
        ll_pushint(L, (long long)v->arr.n); lua_setfield(L, -2, "n");
        lua_pushstring(L, gguf_vtype_name(v->arr.type)); lua_setfield(L, -2, "type");
        break;
    }
    default: {
        int64_t x;
        if (gguf_get_i64(m->gguf, key, &x)) ll_pushint(L, x); else lua_pushnil(L);
    }
    }
    return 1;
}

void ll_lua_open_model(lua_State *L) {
    static const luaL_Reg meta[] = {{"__gc", m_close}, {NULL, NULL}};
    static const luaL_Reg methods[] = {
        {"close", m_close}, {"info", m_info}, {"placement", m_placement},
        {"meta", m_meta}, {"tokenizer", m_tokenizer}, {NULL, NULL},
    };
    ll_new_class(L, LL_MODEL_MT, meta, methods);
    lua_pushcfunction(L, l_model_load);
    lua_setfield(L, -2, "model_load");
}
