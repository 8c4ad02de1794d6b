#include "quants_testgen.h"

#include <stddef.h>
#include <string.h>

static float uniform(ll_rng *r) { /* [-1, 1) */
    return (float)(ll_rng_next(r) >> 40) / (float)(1 << 23) - 1.0f;
}

static int small_int(ll_rng *r, int lim) { /* [-lim, lim] */
    return (int)(ll_rng_next(r) % (uint64_t)(2 * lim + 1)) - lim;
}

void ll_testgen_floats(ll_rng *r, float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = (uniform(r) + uniform(r) + uniform(r)) * 0.5f;
        if (ll_rng_next(r) % 97 == 0) v *= 12.0f; /* outlier channels */
        x[i] = v;
    }
}

static ll_fp16 pow2_half(ll_rng *r, bool signed_) {
    static const ll_fp16 vals[3] = {0x3400, 0x3800, 0x3C00}; /* 0.25, 0.5, 1 */
    ll_fp16 h = vals[ll_rng_next(r) % 3];
    if (signed_ && (ll_rng_next(r) & 1)) h |= 0x8000;
    return h;
}

static void put16(uint8_t *p, ll_fp16 h) { memcpy(p, &h, 2); }

int ll_testgen_raw_weights(ll_rng *r, ll_type t, void *dst, int64_t n) {
    const ll_type_traits *tr = ll_type_get(t);
    if (!tr || !tr->vec_dot || n % tr->blck_size) return -1;
    uint8_t *p = dst;
    if (!tr->is_quantized) {
        for (int64_t i = 0; i < n; i++) {
            const float v = (float)small_int(r, 8);
            if (t == LL_TYPE_F32) memcpy(p + 4 * i, &v, 4);
            else if (t == LL_TYPE_F16) put16(p + 2 * i, ll_fp32_to_fp16(v));
            else put16(p + 2 * i, ll_fp32_to_bf16(v));
        }
        return 0;
    }
    const size_t bytes = ll_row_size(t, n);
    for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)ll_rng_next(r);
    /* where the fp16 scale (d) and min (m) fields sit in each block */
    int d = -1, m = -1;
    switch (t) {
    case LL_TYPE_Q4_0: d = offsetof(ll_block_q4_0, d); break;
    case LL_TYPE_Q5_0: d = offsetof(ll_block_q5_0, d); break;
    case LL_TYPE_Q8_0: d = offsetof(ll_block_q8_0, d); break;
    case LL_TYPE_Q4_1: d = offsetof(ll_block_q4_1, d); m = offsetof(ll_block_q4_1, m); break;
    case LL_TYPE_Q5_1: d = offsetof(ll_block_q5_1, d); m = offsetof(ll_block_q5_1, m); break;
    case LL_TYPE_Q2_K: d = offsetof(ll_block_q2_K, d); m = offsetof(ll_block_q2_K, dmin); break;
    case LL_TYPE_Q3_K: d = offsetof(ll_block_q3_K, d); break;
    case LL_TYPE_Q4_K: d = offsetof(ll_block_q4_K, d); m = offsetof(ll_block_q4_K, dmin); break;
    case LL_TYPE_Q5_K: d = offsetof(ll_block_q5_K, d); m = offsetof(ll_block_q5_K, dmin); break;
    case LL_TYPE_Q6_K: d = offsetof(ll_block_q6_K, d); break;
    default: return -1;
    }
    for (size_t off = 0; off < bytes; off += tr->type_size) {
        put16(p + off + d, pow2_half(r, false));
        if (m >= 0) put16(p + off + m, pow2_half(r, true));
    }
    return 0;
}

int ll_testgen_exact_act(ll_rng *r, ll_type vdt, void *dst, int64_t n) {
    switch (vdt) {
    case LL_TYPE_F32: {
        float *y = dst;
        for (int64_t i = 0; i < n; i++) y[i] = (float)small_int(r, 8);
        return 0;
    }
    case LL_TYPE_Q8_0: {
        ll_block_q8_0 *y = dst;
        for (int64_t b = 0; b < n / LL_QK8_0; b++) {
            y[b].d = 0x3C00;
            for (int j = 0; j < LL_QK8_0; j++) y[b].qs[j] = (int8_t)small_int(r, 8);
        }
        return 0;
    }
    case LL_TYPE_Q8_1: {
        ll_block_q8_1 *y = dst;
        for (int64_t b = 0; b < n / LL_QK8_1; b++) {
            int sum = 0;
            for (int j = 0; j < LL_QK8_1; j++) sum += y[b].qs[j] = (int8_t)small_int(r, 8);
            y[b].d = 0x3C00;
            y[b].s = ll_fp32_to_fp16((float)sum);
        }
        return 0;
    }
    case LL_TYPE_Q8_K: {
        ll_block_q8_K *y = dst;
        for (int64_t b = 0; b < n / LL_QK_K; b++) {
            y[b].d = 1.0f;
            for (int g = 0; g < LL_QK_K / 16; g++) {
                int sum = 0;
                for (int l = 0; l < 16; l++) sum += y[b].qs[16 * g + l] = (int8_t)small_int(r, 8);
                y[b].bsums[g] = (int16_t)sum;
            }
        }
        return 0;
    }
    default: return -1;
    }
}
