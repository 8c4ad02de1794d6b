/* Type table, fp16/bf16 conversions and the float formats. The block formats
 * live in quants_legacy.c (32-element blocks) and quants_k.c (K formats). */
#include "quants_impl.h"

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

void ll_f32_to_float(const void *x, float *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }
void ll_f32_from_float(const float *x, void *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }
void ll_f16_to_float(const void *x, float *y, int64_t n) {
    const ll_fp16 *h = x;
    for (int64_t i = 0; i < n; i++) y[i] = ll_fp16_to_fp32(h[i]);
}
void ll_f16_from_float(const float *x, void *y, int64_t n) {
    ll_fp16 *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = ll_fp32_to_fp16(x[i]);
}
void ll_bf16_to_float(const void *x, float *y, int64_t n) {
    const ll_bf16 *h = x;
    for (int64_t i = 0; i < n; i++) y[i] = ll_bf16_to_fp32(h[i]);
}
void ll_bf16_from_float(const float *x, void *y, int64_t n) {
    ll_bf16 *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = ll_fp32_to_bf16(x[i]);
}

/* Float weights dot float activations. */
void ll_vec_dot_f32_ref(int n, float *s, const void *x, const void *y) {
    const float *a = x, *b = y;
    double acc = 0;
    for (int i = 0; i < n; i++) acc += (double)a[i] * b[i];
    *s = (float)acc;
}
void ll_vec_dot_f16_ref(int n, float *s, const void *x, const void *y) {
    const ll_fp16 *a = x;
    const float *b = y;
    double acc = 0;
    for (int i = 0; i < n; i++) acc += (double)ll_fp16_to_fp32(a[i]) * b[i];
    *s = (float)acc;
}
void ll_vec_dot_bf16_ref(int n, float *s, const void *x, const void *y) {
    const ll_bf16 *a = x;
    const float *b = y;
    double acc = 0;
    for (int i = 0; i < n; i++) acc += (double)ll_bf16_to_fp32(a[i]) * b[i];
    *s = (float)acc;
}

#define T(id, nm, bs, ts, q) [id] = {.name = nm, .blck_size = bs, .type_size = ts, .is_quantized = q}
/* A computable type: reference dequantizer, quantizer, activation format, dot. */
#define C(id, nm, bs, q, t, vdt, dot) \
    [id] = {nm, bs, sizeof(t), q, ll_##t##_to_float, ll_##t##_from_float, vdt, dot}

typedef float f32;
typedef ll_fp16 f16;
typedef ll_bf16 bf16;
typedef ll_block_q4_0 q4_0;
typedef ll_block_q4_1 q4_1;
typedef ll_block_q5_0 q5_0;
typedef ll_block_q5_1 q5_1;
typedef ll_block_q8_0 q8_0;
typedef ll_block_q8_1 q8_1;
typedef ll_block_q2_K q2_K;
typedef ll_block_q3_K q3_K;
typedef ll_block_q4_K q4_K;
typedef ll_block_q5_K q5_K;
typedef ll_block_q6_K q6_K;
typedef ll_block_q8_K q8_K;

static const ll_type_traits traits[LL_TYPE_COUNT] = {
    C(LL_TYPE_F32, "F32", 1, false, f32, LL_TYPE_F32, ll_vec_dot_f32_ref),
    C(LL_TYPE_F16, "F16", 1, false, f16, LL_TYPE_F32, ll_vec_dot_f16_ref),
    C(LL_TYPE_BF16, "BF16", 1, false, bf16, LL_TYPE_F32, ll_vec_dot_bf16_ref),
    C(LL_TYPE_Q4_0, "Q4_0", LL_QK4_0, true, q4_0, LL_TYPE_Q8_0, ll_vec_dot_q4_0_ref),
    C(LL_TYPE_Q4_1, "Q4_1", LL_QK4_1, true, q4_1, LL_TYPE_Q8_1, ll_vec_dot_q4_1_ref),
    C(LL_TYPE_Q5_0, "Q5_0", LL_QK5_0, true, q5_0, LL_TYPE_Q8_0, ll_vec_dot_q5_0_ref),
    C(LL_TYPE_Q5_1, "Q5_1", LL_QK5_1, true, q5_1, LL_TYPE_Q8_1, ll_vec_dot_q5_1_ref),
    C(LL_TYPE_Q8_0, "Q8_0", LL_QK8_0, true, q8_0, LL_TYPE_Q8_0, ll_vec_dot_q8_0_ref),
    /* activation-only formats: no weight dot product */
    C(LL_TYPE_Q8_1, "Q8_1", LL_QK8_1, true, q8_1, LL_TYPE_Q8_1, NULL),
    C(LL_TYPE_Q2_K, "Q2_K", LL_QK_K, true, q2_K, LL_TYPE_Q8_K, ll_vec_dot_q2_K_ref),
    C(LL_TYPE_Q3_K, "Q3_K", LL_QK_K, true, q3_K, LL_TYPE_Q8_K, ll_vec_dot_q3_K_ref),
    C(LL_TYPE_Q4_K, "Q4_K", LL_QK_K, true, q4_K, LL_TYPE_Q8_K, ll_vec_dot_q4_K_ref),
    C(LL_TYPE_Q5_K, "Q5_K", LL_QK_K, true, q5_K, LL_TYPE_Q8_K, ll_vec_dot_q5_K_ref),
    C(LL_TYPE_Q6_K, "Q6_K", LL_QK_K, true, q6_K, LL_TYPE_Q8_K, ll_vec_dot_q6_K_ref),
    C(LL_TYPE_Q8_K, "Q8_K", LL_QK_K, true, q8_K, LL_TYPE_Q8_K, NULL),
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
