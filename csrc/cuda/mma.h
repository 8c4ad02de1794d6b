/* Tensor-core helpers of the attention kernels (PTX mma.sync m16n8k16,
 * FP16 in, FP32 accumulate). FP16 operands would round q and p, so callers
 * split an FP32 pair into a high FP16 part and a low one (what the rounding
 * lost) and multiply both: the sum carries about 22 bits, as FP32 would. */
#ifndef LL_CUDA_MMA_H
#define LL_CUDA_MMA_H

#include "cuda/cuda_common.h"

/* d += a . b (PTX fragment layouts: lane = 4 * g + r; a0/a1 rows g/g+8 of
 * k 2r, 2r+1; a2/a3 the same of k 2r+8, 2r+9; b0/b1 column g of k 2r.. and
 * 2r+8..; d0,d1 row g and d2,d3 row g+8 of columns 2r, 2r+1). */
static __device__ __forceinline__ void ll_mma16816(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                                   uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

static __device__ __forceinline__ uint32_t ll_h2_u32(__half2 h) {
    return (uint32_t)__half_as_ushort(__low2half(h)) | ((uint32_t)__half_as_ushort(__high2half(h)) << 16);
}

/* (x, y) as FP16 pairs: hi = rounded, lo = what the rounding lost. */
static __device__ __forceinline__ void ll_split_h2(float x, float y, uint32_t &hi, uint32_t &lo) {
    const __half2 h = __floats2half2_rn(x, y);
    const float2 f = __half22float2(h);
    hi = ll_h2_u32(h);
    lo = ll_h2_u32(__floats2half2_rn(x - f.x, y - f.y));
}

/* Four 8x8 FP16 matrices from shared memory, transposed: lanes 8i..8i+7 give
 * the 16-byte rows of matrix i, and lane 4g + r receives elements (2r, g)
 * and (2r + 1, g) of each -- a B fragment when the rows run along k. */
static __device__ __forceinline__ void ll_ldmatrix_x4_trans(uint32_t (&v)[4], const void *row) {
    const unsigned a = (unsigned)__cvta_generic_to_shared(row);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v[0]), "=r"(v[1]), "=r"(v[2]), "=r"(v[3])
                 : "r"(a));
}

#endif
