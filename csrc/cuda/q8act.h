/* Device side of the 8-bit activation format (cuda/sizes.h): a warp
 * quantizes one block of 32 values, a value per lane. */
#ifndef LL_CUDA_Q8ACT_H
#define LL_CUDA_Q8ACT_H

#include "cuda/cuda_common.h"

/* The per-block pairs {d, d * sum(q)} after the int8 values of T rows of K. */
static __host__ __device__ __forceinline__ float2 *ll_q8_meta(void *q8, int T, int K) {
    return reinterpret_cast<float2 *>(static_cast<uint8_t *>(q8) + LL_CUDA_Q8_XQ_BYTES(T, K));
}

/* Lane's value v into block b (q8 + b*32 holds its int8 values). */
static __device__ __forceinline__ void ll_q8_put(float v, int lane, int8_t *q, float2 *meta, size_t b) {
    const float amax = ll_warp_max(fabsf(v));
    const float d = amax / 127.f;
    const int qi = d > 0.f ? __float2int_rn(v / d) : 0;
    q[b * 32 + lane] = (int8_t)qi;
    const int s = __reduce_add_sync(0xffffffffu, qi);
    if (lane == 0) meta[b] = make_float2(d, d * (float)s);
}

#endif
