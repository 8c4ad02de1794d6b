/* Scalar reference code of the 32-element block formats Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0 and the Q8_1 activation format. Element j of a block is the low
 * nibble of qs[j] for j < 16 and the high nibble of qs[j - 16] otherwise; the
 * 5-bit formats keep bit 4 of element j in bit j of the little-endian qh.
 * Dequantization matches ggml bit for bit (same float operations, same order). */
#include "quants_impl.h"

#include <string.h>

static uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

static void store_qh(uint8_t qh[4], uint32_t v) {
    for (int i = 0; i < 4; i++) qh[i] = (uint8_t)(v >> (8 * i));
}

/* ---- dequantization ---- */

void ll_q4_0_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q4_0 *x = vx;
    for (int64_t b = 0; b < n / LL_QK4_0; b++, y += LL_QK4_0) {
        const float d = ll_fp16_to_fp32(x[b].d);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((x[b].qs[j] & 0xF) - 8) * d;
            y[j + 16] = (float)((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void ll_q4_1_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q4_1 *x = vx;
    for (int64_t b = 0; b < n / LL_QK4_1; b++, y += LL_QK4_1) {
        const float d = ll_fp16_to_fp32(x[b].d), m = ll_fp16_to_fp32(x[b].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(x[b].qs[j] & 0xF) * d + m;
            y[j + 16] = (float)(x[b].qs[j] >> 4) * d + m;
        }
    }
}

void ll_q5_0_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q5_0 *x = vx;
    for (int64_t b = 0; b < n / LL_QK5_0; b++, y += LL_QK5_0) {
        const float d = ll_fp16_to_fp32(x[b].d);
        const uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < 16; j++) {
            int lo = (x[b].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int hi = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(lo - 16) * d;
            y[j + 16] = (float)(hi - 16) * d;
        }
    }
}

void ll_q5_1_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q5_1 *x = vx;
    for (int64_t b = 0; b < n / LL_QK5_1; b++, y += LL_QK5_1) {
        const float d = ll_fp16_to_fp32(x[b].d), m = ll_fp16_to_fp32(x[b].m);
        const uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < 16; j++) {
            int lo = (x[b].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int hi = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)lo * d + m;
            y[j + 16] = (float)hi * d + m;
        }
    }
}

void ll_q8_0_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q8_0 *x = vx;
    for (int64_t b = 0; b < n / LL_QK8_0; b++, y += LL_QK8_0) {
        const float d = ll_fp16_to_fp32(x[b].d);
        for (int j = 0; j < LL_QK8_0; j++) y[j] = (float)x[b].qs[j] * d;
    }
}

void ll_q8_1_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q8_1 *x = vx;
    for (int64_t b = 0; b < n / LL_QK8_1; b++, y += LL_QK8_1) {
        const float d = ll_fp16_to_fp32(x[b].d);
        for (int j = 0; j < LL_QK8_1; j++) y[j] = (float)x[b].qs[j] * d;
    }
}

/* ---- reference quantization (round to nearest, no importance weights) ---- */

/* Element of largest magnitude, with its sign (the first one on ties). */
static float signed_absmax(const float *x, int n, float *amax) {
    float best = 0, a = 0;
    for (int j = 0; j < n; j++) {
        if (fabsf(x[j]) > a) { a = fabsf(x[j]); best = x[j]; }
    }
    *amax = a;
    return best;
}

/* Symmetric 4/5-bit: the largest-magnitude element maps to -8 (-16) exactly,
 * so the grid's extra negative level is used. */
void ll_q4_0_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q4_0 *y = vy;
    for (int64_t b = 0; b < n / LL_QK4_0; b++, x += LL_QK4_0) {
        float amax, max = signed_absmax(x, LL_QK4_0, &amax);
        const float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = ll_fp32_to_fp16(d);
        for (int j = 0; j < 16; j++) {
            int lo = (int8_t)(x[j] * id + 8.5f), hi = (int8_t)(x[j + 16] * id + 8.5f);
            if (lo > 15) lo = 15;
            if (hi > 15) hi = 15;
            y[b].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

void ll_q5_0_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q5_0 *y = vy;
    for (int64_t b = 0; b < n / LL_QK5_0; b++, x += LL_QK5_0) {
        float amax, max = signed_absmax(x, LL_QK5_0, &amax);
        const float d = max / -16.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = ll_fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (int8_t)(x[j] * id + 16.5f), hi = (int8_t)(x[j + 16] * id + 16.5f);
            if (lo > 31) lo = 31;
            if (hi > 31) hi = 31;
            y[b].qs[j] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
            qh |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
        }
        store_qh(y[b].qh, qh);
    }
}

static void block_min_max(const float *x, int n, float *mn, float *mx) {
    float a = INFINITY, b = -INFINITY;
    for (int j = 0; j < n; j++) {
        if (x[j] < a) a = x[j];
        if (x[j] > b) b = x[j];
    }
    *mn = a;
    *mx = b;
}

/* Affine 4/5-bit: w = d * q + m with m the block minimum. */
void ll_q4_1_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q4_1 *y = vy;
    for (int64_t b = 0; b < n / LL_QK4_1; b++, x += LL_QK4_1) {
        float mn, mx;
        block_min_max(x, LL_QK4_1, &mn, &mx);
        const float d = (mx - mn) / 15.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = ll_fp32_to_fp16(d);
        y[b].m = ll_fp32_to_fp16(mn);
        for (int j = 0; j < 16; j++) {
            int lo = (int8_t)((x[j] - mn) * id + 0.5f), hi = (int8_t)((x[j + 16] - mn) * id + 0.5f);
            if (lo > 15) lo = 15;
            if (hi > 15) hi = 15;
            y[b].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

void ll_q5_1_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q5_1 *y = vy;
    for (int64_t b = 0; b < n / LL_QK5_1; b++, x += LL_QK5_1) {
        float mn, mx;
        block_min_max(x, LL_QK5_1, &mn, &mx);
        const float d = (mx - mn) / 31.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = ll_fp32_to_fp16(d);
        y[b].m = ll_fp32_to_fp16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (uint8_t)((x[j] - mn) * id + 0.5f), hi = (uint8_t)((x[j + 16] - mn) * id + 0.5f);
            y[b].qs[j] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
            qh |= (uint32_t)((lo >> 4) & 1) << j | (uint32_t)((hi >> 4) & 1) << (j + 16);
        }
        store_qh(y[b].qh, qh);
    }
}

/* Q8_0 and Q8_1 (activations): d = amax / 127, q = round(x / d), half away
 * from zero (roundf). Q8_1 also stores s = d * sum(q). The SIMD versions in
 * csrc/cpu/ reproduce these bytes exactly. */
void ll_q8_0_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / LL_QK8_0; b++, x += LL_QK8_0) {
        float amax = 0;
        for (int j = 0; j < LL_QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = ll_fp32_to_fp16(d);
        for (int j = 0; j < LL_QK8_0; j++) y[b].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

void ll_q8_1_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / LL_QK8_1; b++, x += LL_QK8_1) {
        float amax = 0;
        for (int j = 0; j < LL_QK8_1; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < LL_QK8_1; j++) {
            y[b].qs[j] = (int8_t)roundf(x[j] * id);
            sum += y[b].qs[j];
        }
        y[b].d = ll_fp32_to_fp16(d);
        y[b].s = ll_fp32_to_fp16((float)sum * d);
    }
}

/* ---- reference dot products: integer sums per block, float across blocks ---- */

void ll_vec_dot_q4_0_ref(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q4_0 *x = vx;
    const ll_block_q8_0 *y = vy;
    float sum = 0;
    for (int b = 0; b < n / LL_QK8_0; b++) {
        int si = 0;
        for (int j = 0; j < 16; j++) {
            si += ((x[b].qs[j] & 0xF) - 8) * y[b].qs[j];
            si += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
        }
        sum += (float)si * (ll_fp16_to_fp32(x[b].d) * ll_fp16_to_fp32(y[b].d));
    }
    *s = sum;
}

void ll_vec_dot_q4_1_ref(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q4_1 *x = vx;
    const ll_block_q8_1 *y = vy;
    float sum = 0;
    for (int b = 0; b < n / LL_QK8_1; b++) {
        int si = 0;
        for (int j = 0; j < 16; j++) {
            si += (x[b].qs[j] & 0xF) * y[b].qs[j];
            si += (x[b].qs[j] >> 4) * y[b].qs[j + 16];
        }
        sum += (float)si * (ll_fp16_to_fp32(x[b].d) * ll_fp16_to_fp32(y[b].d))
             + ll_fp16_to_fp32(x[b].m) * ll_fp16_to_fp32(y[b].s);
    }
    *s = sum;
}

void ll_vec_dot_q5_0_ref(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q5_0 *x = vx;
    const ll_block_q8_0 *y = vy;
    float sum = 0;
    for (int b = 0; b < n / LL_QK8_0; b++) {
        const uint32_t qh = load_qh(x[b].qh);
        int si = 0;
        for (int j = 0; j < 16; j++) {
            int lo = ((x[b].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4) - 16;
            int hi = ((x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16;
            si += lo * y[b].qs[j] + hi * y[b].qs[j + 16];
        }
        sum += (float)si * (ll_fp16_to_fp32(x[b].d) * ll_fp16_to_fp32(y[b].d));
    }
    *s = sum;
}

void ll_vec_dot_q5_1_ref(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q5_1 *x = vx;
    const ll_block_q8_1 *y = vy;
    float sum = 0;
    for (int b = 0; b < n / LL_QK8_1; b++) {
        const uint32_t qh = load_qh(x[b].qh);
        int si = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (x[b].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int hi = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            si += lo * y[b].qs[j] + hi * y[b].qs[j + 16];
        }
        sum += (float)si * (ll_fp16_to_fp32(x[b].d) * ll_fp16_to_fp32(y[b].d))
             + ll_fp16_to_fp32(x[b].m) * ll_fp16_to_fp32(y[b].s);
    }
    *s = sum;
}

void ll_vec_dot_q8_0_ref(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q8_0 *x = vx;
    const ll_block_q8_0 *y = vy;
    float sum = 0;
    for (int b = 0; b < n / LL_QK8_0; b++) {
        int si = 0;
        for (int j = 0; j < LL_QK8_0; j++) si += x[b].qs[j] * y[b].qs[j];
        sum += (float)si * (ll_fp16_to_fp32(x[b].d) * ll_fp16_to_fp32(y[b].d));
    }
    *s = sum;
}
