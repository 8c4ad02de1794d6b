/* core.cuda_info() and core.cuda_matmul_test(): registered only in builds
 * with the CUDA backend (LL_HAVE_CUDA); elsewhere this file is empty and
 * llm.backends() reports cuda = {compiled = false, devices = {}}. */
#include "lua_luallm.h"
#include "ll_common.h"

#ifdef LL_HAVE_CUDA
#include "lua_floatbuf.h"
#include "cuda/backend_cuda.h"
#include "quants.h"

#include <string.h>

#define LL_CUDA_MAX_DEVICES 16

/* core.cuda_info() -> {compiled = true, devices = {{name, mem_total, mem_free}...}, error = why | nil} */
static int l_cuda_info(lua_State *L) {
    ll_cuda_device dev[LL_CUDA_MAX_DEVICES];
    char why[256] = "";
    int n = ll_cuda_device_info(dev, LL_CUDA_MAX_DEVICES, why, sizeof why);
    if (n > LL_CUDA_MAX_DEVICES) n = LL_CUDA_MAX_DEVICES;
    lua_createtable(L, 0, 3);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "compiled");
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, dev[i].name);
        lua_setfield(L, -2, "name");
        ll_pushint(L, (long long)dev[i].mem_total);
        lua_setfield(L, -2, "mem_total");
        ll_pushint(L, (long long)dev[i].mem_free);
        lua_setfield(L, -2, "mem_free");
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "devices");
    if (n == 0) {
        lua_pushstring(L, why);
        lua_setfield(L, -2, "error");
    }
    return 1;
}

/* core.cuda_matmul_test(type_name, wbytes, N, K, x_floatbuf_or_table, T) -> floatbuf (T*N) | nil, msg
 * Runs the device matmul path on raw weight bytes (for the kernel spec). */
static int l_cuda_matmul_test(lua_State *L) {
    const char *tn = luaL_checkstring(L, 1);
    size_t wlen;
    const char *w = luaL_checklstring(L, 2, &wlen);
    int N = (int)luaL_checknumber(L, 3), K = (int)luaL_checknumber(L, 4), T = (int)luaL_checknumber(L, 6);
    int type = ll_type_from_name(tn);
    if (type < 0) return ll_pushfail(L, "cuda_matmul_test: unknown type");
    if (N <= 0 || K <= 0 || T <= 0) return ll_pushfail(L, "cuda_matmul_test: bad shape");
    size_t rb = ll_row_size((ll_type)type, K);
    if (!rb || rb * (size_t)N != wlen) return ll_pushfail(L, "cuda_matmul_test: weight bytes do not match N x K");
    luaL_checktype(L, 5, LUA_TTABLE);
    ll_floatbuf *x = ll_lua_new_floatbuf(L, (int64_t)T * K);
    for (int i = 0; i < T * K; i++) {
        lua_rawgeti(L, 5, i + 1);
        x->data[i] = (float)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    ll_floatbuf *y = ll_lua_new_floatbuf(L, (int64_t)T * N);
    ll_error e;
    if (ll_cuda_matmul_test(type, w, rb, N, K, x->data, T, y->data, &e)) return ll_pushfail(L, e.msg);
    return 1;
}

#endif

/* core.now_ms() -> monotonic wall clock in ms (benchmarks time GPU work,
 * which os.clock's CPU time does not see). Registered in every build. */
static int l_now_ms(lua_State *L) {
    lua_pushnumber(L, ll_now_ms());
    return 1;
}

void ll_lua_open_cuda(lua_State *L) {
    lua_pushcfunction(L, l_now_ms);
    lua_setfield(L, -2, "now_ms");
#ifdef LL_HAVE_CUDA
    lua_pushcfunction(L, l_cuda_info);
    lua_setfield(L, -2, "cuda_info");
    lua_pushcfunction(L, l_cuda_matmul_test);
    lua_setfield(L, -2, "cuda_matmul_test");
#endif
}
