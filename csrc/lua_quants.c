/* Test and benchmark hooks of the block formats and CPU kernels. Types are
 * named as in GGUF ("Q4_K"); isa is "scalar", "avx2", "avx512" or nil (the
 * level ll_cpu_kernels_get() picks). Every failure is `nil, msg`.
 *   core.quantize(type, floats) -> bytes                reference quantizer
 *   core.dequantize(type, bytes [, isa]) -> floatbuf     reference (or isa) to_float
 *   core.quantize_act(type, isa, floats) -> bytes       the isa's activation quantizer
 *   core.vec_dot(type, isa, wbytes, act_floats) -> s    act quantized by the isa's quantizer
 *   core.quant_test_dot(type, isa, n, seed, mode) -> ref, simd, scale, act_same
 *   core.quant_test_dot_n(type, isa, n, nt, seed) -> same, err, tiled  vec_dot_n on nt random
 *       activation rows: same = every result bit-equal to the isa's vec_dot,
 *       err = max |ref - simd| / scale against the scalar reference; where
 *       the isa has vec_dot_tile for the type (tiled = true), 3 weight rows
 *       x nt through it count in same too
 *   core.kernels_info([isa]) -> {isa = name, simd = {TYPE = true, ...}, simd_n = {...}}
 *   core.bench_vec_dot(type, isa, bytes, n, min_s [, nt [, tile]]) -> s_per_pass, bytes_per_pass, rows
 *       (nt > 1: each row against nt activations through vec_dot_n; tile:
 *       16 rows at a time through vec_dot_tile)
 * floats: a floatbuf or a table of numbers. Scratch memory is Lua userdata,
 * so a raised error cannot leak it. */
#include "lua_luallm.h"
#include "lua_floatbuf.h"
#include "ll_common.h"
#include "quants_testgen.h"
#include "cpu/kernels.h"

#include <math.h>
#include <string.h>

/* Type named at stack index i that has the member `need` ("to_float",
 * "from_float", "vec_dot"); NULL with a message pushed otherwise. */
static const ll_type_traits *arg_type(lua_State *L, int i, const char *need, int *id) {
    const char *name = luaL_checkstring(L, i);
    *id = ll_type_from_name(name);
    const ll_type_traits *t = ll_type_get(*id);
    if (!t) {
        lua_pushfstring(L, "unknown type '%s'", name);
        return NULL;
    }
    const bool ok = strcmp(need, "to_float") == 0 ? t->to_float != NULL
                  : strcmp(need, "from_float") == 0 ? t->from_float != NULL
                  : t->vec_dot != NULL;
    if (!ok) {
        lua_pushfstring(L, "type %s is not supported (no %s)", name, need);
        return NULL;
    }
    return t;
}

static const ll_cpu_kernels *arg_isa(lua_State *L, int i) {
    if (lua_isnoneornil(L, i)) return ll_cpu_kernels_get();
    const char *s = luaL_checkstring(L, i);
    ll_isa isa;
    if (strcmp(s, "scalar") == 0) isa = LL_ISA_SCALAR;
    else if (strcmp(s, "avx2") == 0) isa = LL_ISA_AVX2;
    else if (strcmp(s, "avx512") == 0) isa = LL_ISA_AVX512;
    else {
        lua_pushfstring(L, "unknown isa '%s' (scalar, avx2, avx512)", s);
        return NULL;
    }
    const ll_cpu_kernels *k = ll_cpu_kernels_for(isa);
    if (!k) lua_pushfstring(L, "isa %s is not available on this CPU", s);
    return k;
}

/* Floats at index i (floatbuf or table); a table is copied into a userdata
 * left on the stack. */
static const float *arg_floats(lua_State *L, int i, int64_t *n) {
    ll_floatbuf *fb = ll_testudata(L, i, LL_FLOATBUF_MT);
    if (fb) {
        *n = fb->n;
        return fb->data;
    }
    luaL_checktype(L, i, LUA_TTABLE);
    *n = (int64_t)ll_rawlen(L, i);
    float *x = ll_newuserdata(L, (size_t)(*n > 0 ? *n : 1) * sizeof(float));
    for (int64_t k = 0; k < *n; k++) {
        lua_rawgeti(L, i, (int)(k + 1));
        x[k] = (float)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    return x;
}

static void *scratch(lua_State *L, size_t bytes) {
    return ll_newuserdata(L, bytes ? bytes : 1);
}

static int l_quantize(lua_State *L) {
    int id;
    const ll_type_traits *t = arg_type(L, 1, "from_float", &id);
    if (!t) return ll_pushfail(L, lua_tostring(L, -1));
    int64_t n;
    const float *x = arg_floats(L, 2, &n);
    if (n % t->blck_size)
        return ll_pushfail(L, lua_pushfstring(L, "%s: %d values is not a multiple of %d", t->name, (int)n, t->blck_size));
    const size_t bytes = ll_row_size((ll_type)id, n);
    void *y = scratch(L, bytes);
    t->from_float(x, y, n);
    lua_pushlstring(L, y, bytes);
    return 1;
}

static int l_dequantize(lua_State *L) {
    int id;
    const ll_type_traits *t = arg_type(L, 1, "to_float", &id);
    if (!t) return ll_pushfail(L, lua_tostring(L, -1));
    size_t len;
    const char *src = luaL_checklstring(L, 2, &len);
    ll_to_float_fn fn = t->to_float;
    if (!lua_isnoneornil(L, 3)) {
        const ll_cpu_kernels *k = arg_isa(L, 3);
        if (!k) return ll_pushfail(L, lua_tostring(L, -1));
        fn = k->to_float[id];
    }
    if (len % t->type_size)
        return ll_pushfail(L, lua_pushfstring(L, "%s: %d bytes is not a whole number of blocks", t->name, (int)len));
    const int64_t n = (int64_t)(len / t->type_size) * t->blck_size;
    /* copy: the string's bytes need not be aligned for the block structs */
    void *x = scratch(L, len);
    memcpy(x, src, len);
    ll_floatbuf *b = ll_lua_new_floatbuf(L, n);
    fn(x, b->data, n);
    return 1;
}

static int l_quantize_act(lua_State *L) {
    int id;
    const ll_type_traits *t = arg_type(L, 1, "from_float", &id);
    if (!t) return ll_pushfail(L, lua_tostring(L, -1));
    const ll_cpu_kernels *k = arg_isa(L, 2);
    if (!k) return ll_pushfail(L, lua_tostring(L, -1));
    if (!k->quantize_act[id]) return ll_pushfail(L, lua_pushfstring(L, "%s is not an activation format", t->name));
    int64_t n;
    const float *x = arg_floats(L, 3, &n);
    if (n % t->blck_size)
        return ll_pushfail(L, lua_pushfstring(L, "%s: %d values is not a multiple of %d", t->name, (int)n, t->blck_size));
    const size_t bytes = ll_row_size((ll_type)id, n);
    void *y = scratch(L, bytes);
    k->quantize_act[id](x, y, n);
    lua_pushlstring(L, y, bytes);
    return 1;
}

static int l_vec_dot(lua_State *L) {
    int id;
    const ll_type_traits *t = arg_type(L, 1, "vec_dot", &id);
    if (!t) return ll_pushfail(L, lua_tostring(L, -1));
    const ll_cpu_kernels *k = arg_isa(L, 2);
    if (!k) return ll_pushfail(L, lua_tostring(L, -1));
    size_t wlen;
    const char *wsrc = luaL_checklstring(L, 3, &wlen);
    int64_t n;
    const float *a = arg_floats(L, 4, &n);
    if (n % t->blck_size || n % ll_type_get(t->vec_dot_type)->blck_size || n > (1 << 30))
        return ll_pushfail(L, lua_pushfstring(L, "%s: bad row length %d", t->name, (int)n));
    if (ll_row_size((ll_type)id, n) != wlen)
        return ll_pushfail(L, lua_pushfstring(L, "%s: %d weight bytes for %d activations", t->name, (int)wlen, (int)n));
    void *w = scratch(L, wlen);
    memcpy(w, wsrc, wlen);
    void *q = scratch(L, ll_row_size(t->vec_dot_type, n));
    k->quantize_act[t->vec_dot_type](a, q, n);
    float s;
    k->vec_dot[id]((int)n, &s, w, q);
    lua_pushnumber(L, s);
    return 1;
}

/* ref: reference quantizer + reference dot; simd: the isa's quantizer + dot;
 * scale = Σ|w_i a_i| over the dequantized operands (the error yardstick);
 * act_same: the isa's activation bytes equal the reference's.
 * mode "random": weights quantized from random floats; "exact": raw blocks
 * with power-of-two scales and small activations, where sums are exact. */
static int l_quant_test_dot(lua_State *L) {
    int id;
    const ll_type_traits *t = arg_type(L, 1, "vec_dot", &id);
    if (!t) return ll_pushfail(L, lua_tostring(L, -1));
    const ll_cpu_kernels *k = arg_isa(L, 2);
    if (!k) return ll_pushfail(L, lua_tostring(L, -1));
    const int64_t n = (int64_t)luaL_checknumber(L, 3);
    ll_rng rng;
    ll_rng_seed(&rng, (uint64_t)luaL_optnumber(L, 4, 1));
    const char *mode = luaL_optstring(L, 5, "random");
    const ll_type vdt = t->vec_dot_type;
    const ll_type_traits *at = ll_type_get(vdt);
    if (n <= 0 || n > (1 << 24) || n % t->blck_size || n % at->blck_size)
        return ll_pushfail(L, lua_pushfstring(L, "%s: bad row length %d", t->name, (int)n));
    const size_t wb = ll_row_size((ll_type)id, n), ab = ll_row_size(vdt, n);
    float *xf = scratch(L, (size_t)n * sizeof(float)), *af = scratch(L, (size_t)n * sizeof(float));
    void *w = scratch(L, wb), *aref = scratch(L, ab), *asimd = scratch(L, ab);
    if (strcmp(mode, "exact") == 0) {
        if (ll_testgen_raw_weights(&rng, (ll_type)id, w, n) || ll_testgen_exact_act(&rng, vdt, aref, n))
            return ll_pushfail(L, lua_pushfstring(L, "%s: no exact generator", t->name));
        memcpy(asimd, aref, ab);
    } else if (strcmp(mode, "random") == 0) {
        ll_testgen_floats(&rng, xf, n);
        ll_testgen_floats(&rng, af, n);
        t->from_float(xf, w, n);
        at->from_float(af, aref, n);
        k->quantize_act[vdt](af, asimd, n);
    } else {
        return ll_pushfail(L, lua_pushfstring(L, "unknown mode '%s' (random, exact)", mode));
    }
    float ref, simd;
    t->vec_dot((int)n, &ref, w, aref);
    k->vec_dot[id]((int)n, &simd, w, asimd);
    t->to_float(w, xf, n);
    at->to_float(aref, af, n);
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale += fabs((double)xf[i] * af[i]);
    lua_pushnumber(L, ref);
    lua_pushnumber(L, simd);
    lua_pushnumber(L, scale);
    lua_pushboolean(L, memcmp(aref, asimd, ab) == 0);
    return 4;
}

static int l_quant_test_dot_n(lua_State *L) {
    int id;
    const ll_type_traits *t = arg_type(L, 1, "vec_dot", &id);
    if (!t) return ll_pushfail(L, lua_tostring(L, -1));
    const ll_cpu_kernels *k = arg_isa(L, 2);
    if (!k) return ll_pushfail(L, lua_tostring(L, -1));
    if (!k->vec_dot_n[id]) return ll_pushfail(L, lua_pushfstring(L, "%s: no vec_dot_n at %s", t->name, k->isa));
    const int64_t n = (int64_t)luaL_checknumber(L, 3);
    const int nt = (int)luaL_checknumber(L, 4);
    ll_rng rng;
    ll_rng_seed(&rng, (uint64_t)luaL_optnumber(L, 5, 1));
    const ll_type vdt = t->vec_dot_type;
    const ll_type_traits *at = ll_type_get(vdt);
    if (n <= 0 || n > (1 << 20) || n % t->blck_size || n % at->blck_size || nt < 1 || nt > 256)
        return ll_pushfail(L, lua_pushfstring(L, "%s: bad row length %d or count %d", t->name, (int)n, nt));
    const size_t wb = ll_row_size((ll_type)id, n), ab = ll_row_size(vdt, n);
    float *xf = scratch(L, (size_t)n * sizeof(float)), *af = scratch(L, (size_t)n * sizeof(float));
    uint8_t *w = scratch(L, wb), *aref = scratch(L, ab * (size_t)nt), *asimd = scratch(L, ab * (size_t)nt);
    /* results at a stride of 3 floats, to check s_stride is honoured */
    float *sn = scratch(L, sizeof(float) * 3 * (size_t)nt);
    ll_testgen_floats(&rng, xf, n);
    t->from_float(xf, w, n);
    t->to_float(w, xf, n);
    for (int r = 0; r < nt; r++) {
        ll_testgen_floats(&rng, af, n);
        at->from_float(af, aref + (size_t)r * ab, n);
        k->quantize_act[vdt](af, asimd + (size_t)r * ab, n);
    }
    k->vec_dot_n[id]((int)n, nt, sn, 3, w, asimd, ab);
    bool same = true;
    double err = 0;
    for (int r = 0; r < nt; r++) {
        float one, ref;
        k->vec_dot[id]((int)n, &one, w, asimd + (size_t)r * ab);
        t->vec_dot((int)n, &ref, w, aref + (size_t)r * ab);
        same &= memcmp(&one, &sn[3 * r], sizeof one) == 0;
        at->to_float(aref + (size_t)r * ab, af, n);
        double scale = 0;
        for (int64_t i = 0; i < n; i++) scale += fabs((double)xf[i] * af[i]);
        const double e = scale > 0 ? fabs((double)ref - sn[3 * r]) / scale : fabs((double)ref - sn[3 * r]);
        if (e > err) err = e;
    }
    const ll_vec_dot_tile_fn tile = k->vec_dot_tile[id];
    if (tile) { /* rows w, w2, w3 at a stride of wb, results at a stride of 4 per activation */
        uint8_t *w3 = scratch(L, wb * 3);
        float *st = scratch(L, sizeof(float) * 4 * (size_t)nt);
        memcpy(w3, w, wb);
        for (int r = 1; r < 3; r++) {
            ll_testgen_floats(&rng, xf, n);
            t->from_float(xf, w3 + (size_t)r * wb, n);
        }
        tile((int)n, 3, w3, wb, nt, asimd, ab, st, 4);
        for (int r = 0; r < 3; r++)
            for (int a = 0; a < nt; a++) {
                float one;
                k->vec_dot[id]((int)n, &one, w3 + (size_t)r * wb, asimd + (size_t)a * ab);
                same &= memcmp(&one, &st[4 * a + r], sizeof one) == 0;
            }
    }
    lua_pushboolean(L, same);
    lua_pushnumber(L, err);
    lua_pushboolean(L, tile != NULL);
    return 3;
}

static int l_kernels_info(lua_State *L) {
    const ll_cpu_kernels *k = arg_isa(L, 1);
    if (!k) return ll_pushfail(L, lua_tostring(L, -1));
    lua_createtable(L, 0, 2);
    lua_pushstring(L, k->isa);
    lua_setfield(L, -2, "isa");
    lua_newtable(L);
    for (int i = 0; i < LL_TYPE_COUNT; i++) {
        const ll_type_traits *t = ll_type_get(i);
        if (t && k->vec_dot[i] && k->vec_dot[i] != t->vec_dot) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, t->name);
        }
    }
    lua_setfield(L, -2, "simd");
    lua_newtable(L);
    for (int i = 0; i < LL_TYPE_COUNT; i++) {
        const ll_type_traits *t = ll_type_get(i);
        if (t && k->vec_dot_n[i]) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, t->name);
        }
    }
    lua_setfield(L, -2, "simd_n");
    return 1;
}

static int l_bench_vec_dot(lua_State *L) {
    int id;
    const ll_type_traits *t = arg_type(L, 1, "vec_dot", &id);
    if (!t) return ll_pushfail(L, lua_tostring(L, -1));
    const ll_cpu_kernels *k = arg_isa(L, 2);
    if (!k) return ll_pushfail(L, lua_tostring(L, -1));
    const double total = luaL_checknumber(L, 3);
    const int64_t n = (int64_t)luaL_checknumber(L, 4);
    const double min_s = luaL_optnumber(L, 5, 1.0);
    const int nt = (int)luaL_optnumber(L, 6, 1);
    const bool use_tile = lua_toboolean(L, 7);
    const ll_type vdt = t->vec_dot_type;
    if (nt < 1 || nt > 256 || (nt > 1 && !k->vec_dot_n[id]))
        return ll_pushfail(L, lua_pushfstring(L, "%s: no vec_dot_n for %d activations", t->name, nt));
    if (use_tile && !k->vec_dot_tile[id])
        return ll_pushfail(L, lua_pushfstring(L, "%s: no vec_dot_tile at %s", t->name, k->isa));
    if (n <= 0 || n > (1 << 24) || n % t->blck_size || n % ll_type_get(vdt)->blck_size)
        return ll_pushfail(L, lua_pushfstring(L, "%s: bad row length %d", t->name, (int)n));
    const size_t rb = ll_row_size((ll_type)id, n);
    const int64_t rows = (int64_t)(total / (double)rb) > 0 ? (int64_t)(total / (double)rb) : 1;
    if ((double)rows * (double)rb > 8e9) return ll_pushfail(L, "bench: matrix too large");
    uint8_t *w = scratch(L, (size_t)rows * rb);
    float *af = scratch(L, (size_t)n * sizeof(float));
    const size_t ab = ll_row_size(vdt, n);
    uint8_t *a = scratch(L, ab * (size_t)nt);
    float *s = scratch(L, sizeof(float) * 16 * (size_t)nt);
    ll_rng rng;
    ll_rng_seed(&rng, 42);
    for (int64_t r = 0; r < rows; r++) ll_testgen_raw_weights(&rng, (ll_type)id, w + (size_t)r * rb, n);
    for (int r = 0; r < nt; r++) {
        ll_testgen_floats(&rng, af, n);
        k->quantize_act[vdt](af, a + (size_t)r * ab, n);
    }
    ll_vec_dot_fn dot = k->vec_dot[id];
    ll_vec_dot_n_fn dotn = k->vec_dot_n[id];
    ll_vec_dot_tile_fn tile = k->vec_dot_tile[id];
    volatile float sink = 0;
#define PASS()                                                                              \
    for (int64_t r = 0; r < rows; r += use_tile ? 16 : 1) {                                 \
        if (use_tile) tile((int)n, rows - r < 16 ? (int)(rows - r) : 16, w + (size_t)r * rb, rb, nt, a, ab, s, 16); \
        else if (nt > 1) dotn((int)n, nt, s, 1, w + (size_t)r * rb, a, ab);                 \
        else dot((int)n, s, w + (size_t)r * rb, a);                                         \
        sink += s[0];                                                                       \
    }
    PASS()
    int passes = 0;
    const double t0 = ll_now_ms();
    double el;
    do {
        PASS()
        passes++;
        el = (ll_now_ms() - t0) / 1000.0;
    } while (el < min_s);
#undef PASS
    (void)sink;
    lua_pushnumber(L, el / passes);
    lua_pushnumber(L, (double)rows * (double)rb);
    ll_pushint(L, rows);
    return 3;
}

void ll_lua_open_quants(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"quantize", l_quantize}, {"dequantize", l_dequantize}, {"quantize_act", l_quantize_act},
        {"vec_dot", l_vec_dot}, {"quant_test_dot", l_quant_test_dot}, {"kernels_info", l_kernels_info},
        {"quant_test_dot_n", l_quant_test_dot_n},
        {"bench_vec_dot", l_bench_vec_dot},
        {NULL, NULL},
    };
    ll_setfuncs(L, fns);
}
