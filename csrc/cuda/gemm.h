/* Matrix products of prompt batches through cuBLAS: y (T, N) (+)= x (T, K) . W^T
 * with W as FP16 (dequantized into w16 unless stored as F16; F32 weights go
 * through an FP32 product) and x converted to FP16 in x16, accumulating in
 * FP32 on the tensor cores. Shared by the CUDA backend and the GPU assist. */
#ifndef LL_CUDA_GEMM_H
#define LL_CUDA_GEMM_H

#include "cuda/cublas_lazy.h"
#include "cuda/kernels.h"

int ll_cuda_gemm(const ll_cublas *api, cublasHandle_t h, const ll_dweight *w, const float *x, int T, float *y,
                 bool accumulate, __half *w16, __half *x16, cudaStream_t st, ll_error *e);
/* The same with x already in FP16 (x16), for weights other than F32: products
 * sharing an input convert it once. */
int ll_cuda_gemm_f16in(const ll_cublas *api, cublasHandle_t h, const ll_dweight *w, const __half *x16, int T,
                       float *y, bool accumulate, __half *w16, cudaStream_t st, ll_error *e);

#endif
