/* Device dequantization of the ggml block formats, 8 weights at a time.
 * Group g of a row is elements [8g, 8g+8): every format's block is a whole
 * number of groups, and 32 lanes reading groups g..g+31 touch one or a few
 * consecutive blocks, so a warp's loads stay together. Values match the
 * scalar reference (the ggml layouts described in quants.h) exactly. */
#ifndef LL_CUDA_DEQUANT_H
#define LL_CUDA_DEQUANT_H

#include "cuda/cuda_common.h"
#include "cuda/packed.h"

/* Q4_K / Q5_K: 6-bit scale and min j (0..7) from the 12 packed bytes. */
static __device__ __forceinline__ void ll_k4_scale_min(int j, const uint8_t *q, int &sc, int &mn) {
    if (j < 4) {
        sc = q[j] & 63;
        mn = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

template <int TYPE>
static __device__ __forceinline__ void ll_deq8(const uint8_t *__restrict__ row, int g, float *y) {
    if constexpr (TYPE == LL_TYPE_F32) {
        const float4 *p = reinterpret_cast<const float4 *>(row) + 2 * g;
        float4 a = p[0], b = p[1];
        y[0] = a.x; y[1] = a.y; y[2] = a.z; y[3] = a.w;
        y[4] = b.x; y[5] = b.y; y[6] = b.z; y[7] = b.w;
    } else if constexpr (TYPE == LL_TYPE_F16) {
        uint4 u = reinterpret_cast<const uint4 *>(row)[g];
        const __half2 *h = reinterpret_cast<const __half2 *>(&u);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float2 f = __half22float2(h[i]);
            y[2 * i] = f.x;
            y[2 * i + 1] = f.y;
        }
    } else if constexpr (TYPE == LL_TYPE_BF16) {
        uint4 u = reinterpret_cast<const uint4 *>(row)[g];
        const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            y[2 * i] = __uint_as_float(w[i] << 16);
            y[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
    } else if constexpr (TYPE == LL_TYPE_Q8_0) {
        const ll_block_q8_0 *b = reinterpret_cast<const ll_block_q8_0 *>(row) + g / 4;
        const float d = ll_h2f(b->d);
        const int8_t *q = b->qs + (g % 4) * 8;
#pragma unroll
        for (int i = 0; i < 8; i++) y[i] = d * q[i];
    } else if constexpr (TYPE == LL_TYPE_Q4_0) {
        const ll_block_q4_0 *b = reinterpret_cast<const ll_block_q4_0 *>(row) + g / 4;
        const float d = ll_h2f(b->d);
        const int e0 = (g % 4) * 8; /* elements 0..15: low nibbles, 16..31: high */
        const uint8_t *q = b->qs + (e0 & 15);
        const int sh = e0 < 16 ? 0 : 4;
#pragma unroll
        for (int i = 0; i < 8; i++) y[i] = d * (float)(((q[i] >> sh) & 0xF) - 8);
    } else if constexpr (TYPE == LL_TYPE_Q5_0) {
        const ll_block_q5_0 *b = reinterpret_cast<const ll_block_q5_0 *>(row) + g / 4;
        const float d = ll_h2f(b->d);
        const uint32_t qh = (uint32_t)b->qh[0] | ((uint32_t)b->qh[1] << 8) | ((uint32_t)b->qh[2] << 16) |
                            ((uint32_t)b->qh[3] << 24);
        const int e0 = (g % 4) * 8; /* element e's 5th bit is bit e of qh */
        const uint8_t *q = b->qs + (e0 & 15);
        const int sh = e0 < 16 ? 0 : 4;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            int v = ((q[i] >> sh) & 0xF) | (((qh >> (e0 + i)) & 1) << 4);
            y[i] = d * (float)(v - 16);
        }
    } else if constexpr (TYPE == LL_TYPE_Q4_K || TYPE == LL_TYPE_Q5_K) {
        /* 256 weights: 4 chunks of 64; a chunk's 32 bytes of qs give its first
         * 32 weights in the low nibbles and the next 32 in the high ones, each
         * 32 with its own scale/min (sub-block is = 2*chunk + half). */
        const int e0 = (g % 32) * 8;
        const int chunk = e0 / 64, half = (e0 / 32) & 1, l0 = e0 & 31, is = 2 * chunk + half;
        const uint8_t *qs, *scales;
        uint16_t dh, mh;
        const uint8_t *qh = nullptr;
        if constexpr (TYPE == LL_TYPE_Q4_K) {
            const ll_block_q4_K *b = reinterpret_cast<const ll_block_q4_K *>(row) + g / 32;
            qs = b->qs; scales = b->scales; dh = b->d; mh = b->dmin;
        } else {
            const ll_block_q5_K *b = reinterpret_cast<const ll_block_q5_K *>(row) + g / 32;
            qs = b->qs; scales = b->scales; dh = b->d; mh = b->dmin; qh = b->qh;
        }
        int sc, mn;
        ll_k4_scale_min(is, scales, sc, mn);
        const float d = ll_h2f(dh) * sc, m = ll_h2f(mh) * mn;
        /* one 8-byte load each: blocks are 144 / 176 bytes (multiples of 16)
         * and rows start 256-aligned on the device, and l0 is a multiple of 8 */
        const uint2 qw = *reinterpret_cast<const uint2 *>(qs + chunk * 32 + l0);
        uint2 hw = make_uint2(0, 0);
        if constexpr (TYPE == LL_TYPE_Q5_K) hw = *reinterpret_cast<const uint2 *>(qh + l0);
        const int sh = half * 4;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const uint32_t qb = (i < 4 ? qw.x : qw.y) >> (8 * (i & 3));
            int v = (int)(qb >> sh) & 0xF;
            if constexpr (TYPE == LL_TYPE_Q5_K) v |= (int)((((i < 4 ? hw.x : hw.y) >> (8 * (i & 3))) >> is) & 1) << 4;
            y[i] = d * (float)v - m;
        }
    } else if constexpr (TYPE == LL_TYPE_Q6_K) {
        /* 256 weights: 2 halves of 128; in a half, quarter k (32 weights) takes
         * ql's low (k = 0, 1) or high (k = 2, 3) nibbles of bytes
         * [32*(k&1), +32) and bits 2k..2k+1 of qh; scales per 16 weights. */
        const ll_block_q6_K *b = reinterpret_cast<const ll_block_q6_K *>(row) + g / 32;
        const int e0 = (g % 32) * 8;
        const int h = e0 / 128, r = e0 & 127, k = r / 32, l0 = r & 31;
        const uint8_t *ql = b->ql + h * 64 + (k & 1) * 32 + l0;
        const uint8_t *qh = b->qh + h * 32 + l0;
        const float d = ll_h2f(b->d) * (float)b->scales[h * 8 + l0 / 16 + 2 * k];
        const int sh = (k >> 1) * 4;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            int v = ((ql[i] >> sh) & 0xF) | (((qh[i] >> (2 * k)) & 3) << 4);
            y[i] = d * (float)(v - 32);
        }
    }
}

/* Group g of row `row` of a weight (N rows of K) in any layout: the file's
 * (rows of row_bytes) or the packed ones of packed.h. */
template <int TYPE>
static __device__ __forceinline__ void ll_deq8_at(const uint8_t *__restrict__ W, size_t row_bytes, int N, int K,
                                                  int64_t row, int g, float *y) {
    if constexpr (TYPE == LL_CUDA_Q8_0P) {
        const ll_packed_sections s = ll_packed(TYPE, (size_t)N, (size_t)K);
        const float d = ll_h2f(reinterpret_cast<const uint16_t *>(W + s.s1)[(size_t)row * (K / 32) + g / 4]);
        const uint2 q = *reinterpret_cast<const uint2 *>(W + (size_t)row * K + (size_t)g * 8);
#pragma unroll
        for (int i = 0; i < 8; i++) y[i] = d * (float)(int8_t)((i < 4 ? q.x : q.y) >> (8 * (i & 3)));
    } else if constexpr (TYPE == LL_CUDA_Q6_KP) {
        const ll_packed_sections s = ll_packed(TYPE, (size_t)N, (size_t)K);
        const int j = g / 8, e0 = (g % 8) * 8, b = e0 / 32, l0 = e0 % 32; /* item, block in it, first element */
        const uint2 lo = *reinterpret_cast<const uint2 *>(W + (size_t)row * (K / 2) + (size_t)j * 32 + l0);
        const uint4 hi = *reinterpret_cast<const uint4 *>(W + s.s1 + (size_t)row * (K / 4) + (size_t)j * 16);
        const int8_t sc = reinterpret_cast<const int8_t *>(W + s.s2)[(size_t)row * (K / 16) + (size_t)j * 4 + b * 2 + l0 / 16];
        const float d = ll_h2f(reinterpret_cast<const uint16_t *>(W + s.s3)[(size_t)row * (K / 256) + j / 4]) * (float)sc;
        const uint32_t hw[4] = {hi.x, hi.y, hi.z, hi.w};
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const int w = l0 / 4 + i / 4, x = i % 4; /* word and byte of the element in its block */
            const uint32_t l = ((i < 4 ? lo.x : lo.y) >> (8 * x + 4 * b)) & 0xF;
            const uint32_t h = (hw[w & 3] >> (8 * x + 2 * ((w >> 2) + 2 * b))) & 3;
            const int u = (int)(l | h << 4); /* 6-bit two's complement */
            y[i] = d * (float)((u ^ 32) - 32);
        }
    } else {
        ll_deq8<TYPE>(W + (size_t)row * row_bytes, g, y);
    }
}

/* Whether the device kernels can read a weight type. */
static inline bool ll_cuda_type_ok(int t) {
    switch (t) {
    case LL_TYPE_F32: case LL_TYPE_F16: case LL_TYPE_BF16: case LL_TYPE_Q8_0: case LL_TYPE_Q4_0:
    case LL_TYPE_Q5_0: case LL_TYPE_Q4_K: case LL_TYPE_Q5_K: case LL_TYPE_Q6_K:
        return true;
    default:
        return false;
    }
}

/* Calls F(TYPE) for a runtime type id (one of the above, or packed). */
#define LL_CUDA_TYPE_SWITCH(t, F)            \
    switch (t) {                             \
    case LL_TYPE_F32: F(LL_TYPE_F32); break;   \
    case LL_TYPE_F16: F(LL_TYPE_F16); break;   \
    case LL_TYPE_BF16: F(LL_TYPE_BF16); break; \
    case LL_TYPE_Q8_0: F(LL_TYPE_Q8_0); break; \
    case LL_TYPE_Q4_0: F(LL_TYPE_Q4_0); break; \
    case LL_TYPE_Q5_0: F(LL_TYPE_Q5_0); break; \
    case LL_TYPE_Q4_K: F(LL_TYPE_Q4_K); break; \
    case LL_TYPE_Q5_K: F(LL_TYPE_Q5_K); break; \
    case LL_TYPE_Q6_K: F(LL_TYPE_Q6_K); break; \
    case LL_CUDA_Q8_0P: F(LL_CUDA_Q8_0P); break; \
    case LL_CUDA_Q6_KP: F(LL_CUDA_Q6_KP); break; \
    default: break;                          \
    }

#endif
