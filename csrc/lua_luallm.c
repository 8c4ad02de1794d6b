/* luaopen_luallm_core: the C half of require("luallm"). */
#include "lua_luallm.h"
#include "ll_common.h"
#include "cpu/cpu_features.h"

#define LUALLM_VERSION "0.1.0"

/* core.cpu_info() -> {threads = n, isa = "avx512", features = {"avx2", ...}} */
static int l_cpu_info(lua_State *L) {
    const ll_cpu_features *f = ll_cpu_features_get();
    lua_newtable(L);
    ll_pushint(L, ll_cpu_count());
    lua_setfield(L, -2, "threads");
    lua_pushstring(L, ll_isa_name(ll_cpu_isa()));
    lua_setfield(L, -2, "isa");
    lua_newtable(L);
    struct { const char *name; bool on; } list[] = {
        {"avx", f->avx}, {"avx2", f->avx2}, {"fma", f->fma}, {"f16c", f->f16c},
        {"avx512f", f->avx512f}, {"avx512bw", f->avx512bw}, {"avx512vl", f->avx512vl},
        {"avx512dq", f->avx512dq}, {"avx512vnni", f->avx512vnni},
        {"avx512bf16", f->avx512bf16}, {"avxvnni", f->avxvnni},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        if (!list[i].on) continue;
        lua_pushstring(L, list[i].name);
        lua_rawseti(L, -2, ++n);
    }
    lua_setfield(L, -2, "features");
    return 1;
}

/* core.now_ms() -> monotonic milliseconds (generation statistics) */
static int l_now_ms(lua_State *L) {
    lua_pushnumber(L, ll_now_ms());
    return 1;
}

LL_API int luaopen_luallm_core(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"cpu_info", l_cpu_info},
        {"now_ms", l_now_ms},
        {NULL, NULL},
    };
    ll_newlib(L, fns);
    ll_lua_open_tokenizer(L);
    lua_pushstring(L, LUALLM_VERSION);
    lua_setfield(L, -2, "version");
    ll_lua_open_gguf(L);
    ll_lua_open_model(L);
    ll_lua_open_context(L);
    ll_lua_open_logits(L);
    ll_lua_open_sampler(L);
    ll_lua_open_quants(L);
    ll_lua_open_gguf_writer(L);
    ll_lua_open_plan(L);
    ll_lua_open_job(L);
    ll_lua_open_ppl(L);
    ll_lua_open_quantize(L);
    ll_lua_open_cuda(L);
    ll_lua_open_synth(L);
    return 1;
}
