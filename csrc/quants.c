/* Type table and scalar reference implementations of the block formats. */
#include "quants.h"

#include <math.h>
#include <string.h>

float ll_fp16_to_fp32(ll_fp16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Round to nearest even, as the F16C instruction does. */
ll_fp16 ll_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (ll_fp16)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    if (absx >= 0x477ff000u) return (ll_fp16)(sign | 0x7c00); /* overflow -> inf */
    if (absx < 0x38800000u) { /* result is subnormal or zero */
        if (absx < 0x33000000u) return (ll_fp16)sign;
        uint32_t man = (absx & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(absx >> 23); /* 14..24 */
        uint32_t r = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (ll_fp16)(sign | r);
    }
    uint32_t r = absx - 0x38000000u; /* rebias exponent 127 -> 15 */
    uint32_t m = r >> 13, rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (m & 1))) m++;
    return (ll_fp16)(sign | m);
}

float ll_bf16_to_fp32(ll_bf16 h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

ll_bf16 ll_fp32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000u) return (ll_bf16)((x >> 16) | 64); /* quiet nan */
    return (ll_bf16)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

static void f32_to_float(const void *x, float *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }
static void f32_from_float(const float *x, void *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }
static void f16_to_float(const void *x, float *y, int64_t n) {
    const ll_fp16 *h = x;
    for (int64_t i = 0; i < n; i++) y[i] = ll_fp16_to_fp32(h[i]);
}
static void f16_from_float(const float *x, void *y, int64_t n) {
    ll_fp16 *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = ll_fp32_to_fp16(x[i]);
}
static void bf16_to_float(const void *x, float *y, int64_t n) {
    const ll_bf16 *h = x;
    for (int64_t i = 0; i < n; i++) y[i] = ll_bf16_to_fp32(h[i]);
}
static void bf16_from_float(const float *x, void *y, int64_t n) {
    ll_bf16 *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = ll_fp32_to_bf16(x[i]);
}

/* Float weights dot float activations. */
static void vec_dot_f32(int n, float *s, const void *x, const void *y) {
    const float *a = x, *b = y;
    double acc = 0;
    for (int i = 0; i < n; i++) acc += (double)a[i] * b[i];
    *s = (float)acc;
}
static void vec_dot_f16(int n, float *s, const void *x, const void *y) {
    const ll_fp16 *a = x;
    const float *b = y;
    double acc = 0;
    for (int i = 0; i < n; i++) acc += (double)ll_fp16_to_fp32(a[i]) * b[i];
    *s = (float)acc;
}
static void vec_dot_bf16(int n, float *s, const void *x, const void *y) {
    const ll_bf16 *a = x;
    const float *b = y;
    double acc = 0;
    for (int i = 0; i < n; i++) acc += (double)ll_bf16_to_fp32(a[i]) * b[i];
    *s = (float)acc;
}

#define T(id, nm, bs, ts, q) [id] = {.name = nm, .blck_size = bs, .type_size = ts, .is_quantized = q}

static ll_type_traits traits[LL_TYPE_COUNT] = {
    [LL_TYPE_F32] = {"F32", 1, 4, false, f32_to_float, f32_from_float, LL_TYPE_F32, vec_dot_f32},
    [LL_TYPE_F16] = {"F16", 1, 2, false, f16_to_float, f16_from_float, LL_TYPE_F32, vec_dot_f16},
    [LL_TYPE_BF16] = {"BF16", 1, 2, false, bf16_to_float, bf16_from_float, LL_TYPE_F32, vec_dot_bf16},
    T(LL_TYPE_Q4_0, "Q4_0", 32, 18, true),
    T(LL_TYPE_Q4_1, "Q4_1", 32, 20, true),
    T(LL_TYPE_Q5_0, "Q5_0", 32, 22, true),
    T(LL_TYPE_Q5_1, "Q5_1", 32, 24, true),
    T(LL_TYPE_Q8_0, "Q8_0", 32, 34, true),
    T(LL_TYPE_Q8_1, "Q8_1", 32, 36, true),
    T(LL_TYPE_Q2_K, "Q2_K", 256, 84, true),
    T(LL_TYPE_Q3_K, "Q3_K", 256, 110, true),
    T(LL_TYPE_Q4_K, "Q4_K", 256, 144, true),
    T(LL_TYPE_Q5_K, "Q5_K", 256, 176, true),
    T(LL_TYPE_Q6_K, "Q6_K", 256, 210, true),
    T(LL_TYPE_Q8_K, "Q8_K", 256, 292, true),
    T(LL_TYPE_IQ2_XXS, "IQ2_XXS", 256, 66, true),
    T(LL_TYPE_IQ2_XS, "IQ2_XS", 256, 74, true),
    T(LL_TYPE_IQ3_XXS, "IQ3_XXS", 256, 98, true),
    T(LL_TYPE_IQ1_S, "IQ1_S", 256, 50, true),
    T(LL_TYPE_IQ4_NL, "IQ4_NL", 32, 18, true),
    T(LL_TYPE_IQ3_S, "IQ3_S", 256, 110, true),
    T(LL_TYPE_IQ2_S, "IQ2_S", 256, 82, true),
    T(LL_TYPE_IQ4_XS, "IQ4_XS", 256, 136, true),
    T(LL_TYPE_I8, "I8", 1, 1, false),
    T(LL_TYPE_I16, "I16", 1, 2, false),
    T(LL_TYPE_I32, "I32", 1, 4, false),
    T(LL_TYPE_I64, "I64", 1, 8, false),
    T(LL_TYPE_F64, "F64", 1, 8, false),
    T(LL_TYPE_IQ1_M, "IQ1_M", 256, 56, true),
    T(LL_TYPE_TQ1_0, "TQ1_0", 256, 54, true),
    T(LL_TYPE_TQ2_0, "TQ2_0", 256, 66, true),
    T(LL_TYPE_MXFP4, "MXFP4", 32, 17, true),
};

const ll_type_traits *ll_type_get(int type) {
    if (type < 0 || type >= LL_TYPE_COUNT || !traits[type].name) return NULL;
    return &traits[type];
}

int ll_type_from_name(const char *name) {
    for (int i = 0; i < LL_TYPE_COUNT; i++)
        if (traits[i].name && strcmp(traits[i].name, name) == 0) return i;
    return -1;
}

size_t ll_row_size(ll_type type, int64_t n) {
    const ll_type_traits *t = ll_type_get(type);
    if (!t || n % t->blck_size) return 0;
    return (size_t)(n / t->blck_size) * t->type_size;
}
