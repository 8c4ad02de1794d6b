/* Shared by the .cu files of the CUDA backend: the C headers of the core
 * (which use C11 _Static_assert, spelled static_assert in C++), error
 * checking that reports through ll_error, and small device helpers. */
#ifndef LL_CUDA_COMMON_H
#define LL_CUDA_COMMON_H

#define _Static_assert static_assert
extern "C" {
#include "context.h"
#include "quants.h"
}
#undef _Static_assert
#include "cuda/backend_cuda.h"

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

/* Returns -1 from the enclosing function with e set when a runtime call fails. */
#define LL_CUDA_TRY(call)                                                              \
    do {                                                                               \
        cudaError_t err_ = (call);                                                     \
        if (err_ != cudaSuccess)                                                       \
            return ll_err(e, "cuda: %s failed: %s", #call, cudaGetErrorString(err_)); \
    } while (0)

static __device__ __forceinline__ float ll_h2f(uint16_t h) { return __half2float(__ushort_as_half(h)); }

/* silu(g) * u: swiglu's value, one expression for every kernel that computes it. */
static __device__ __forceinline__ float ll_swiglu(float g, float u) { return g / (1.0f + expf(-g)) * u; }

static __device__ __forceinline__ float ll_warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ float ll_warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* The sum of every thread's v over the whole block (at most 1024 threads);
 * every thread gets it. */
static __device__ __forceinline__ float ll_block_sum(float v) {
    __shared__ float part[32];
    float ss = ll_warp_sum(v);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : 0.f;
        v = ll_warp_sum(v);
        if (threadIdx.x == 0) part[0] = v;
    }
    __syncthreads();
    return part[0];
}

/* rsqrt(mean(x^2) + eps) of row xr (D values), over the whole block; every
 * thread gets it. */
static __device__ __forceinline__ float ll_block_rms_scale(const float *__restrict__ xr, int D, float eps) {
    float ss = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) ss += xr[i] * xr[i];
    return rsqrtf(ll_block_sum(ss) / D + eps);
}

#endif
