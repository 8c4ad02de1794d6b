/* cuBLAS products for prompt batches (see gemm.h). */
#include "cuda/gemm.h"

static const char *blas_status(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "architecture mismatch";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
    default: return "error";
    }
}

int ll_cuda_gemm_f16in(const ll_cublas *api, cublasHandle_t h, const ll_dweight *w, const __half *x16, int T,
                       float *y, bool accumulate, __half *w16, cudaStream_t st, ll_error *e) {
    const int N = w->ne1, K = w->ne0;
    const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
    const void *a = w->d;
    if (w->type != LL_TYPE_F16) {
        ll_cuda_dequant_f16(w, w16, st);
        a = w16;
    }
    const cublasStatus_t s = api->gemm_ex(h, CUBLAS_OP_T, CUBLAS_OP_N, N, T, K, &alpha, a, CUDA_R_16F, K, x16,
                                          CUDA_R_16F, K, &beta, y, CUDA_R_32F, N, CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS)
        return ll_err(e, "cuda: cublasGemmEx (%d x %d x %d): %s", N, T, K, blas_status(s));
    return 0;
}

int ll_cuda_gemm(const ll_cublas *api, cublasHandle_t h, const ll_dweight *w, const float *x, int T, float *y,
                 bool accumulate, __half *w16, __half *x16, cudaStream_t st, ll_error *e) {
    const int N = w->ne1, K = w->ne0;
    if (w->type != LL_TYPE_F32) {
        ll_cuda_f32_to_f16(x, x16, (int64_t)T * K, st);
        return ll_cuda_gemm_f16in(api, h, w, x16, T, y, accumulate, w16, st, e);
    }
    const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
    const cublasStatus_t s = api->gemm_ex(h, CUBLAS_OP_T, CUBLAS_OP_N, N, T, K, &alpha, w->d, CUDA_R_32F, K, x,
                                          CUDA_R_32F, K, &beta, y, CUDA_R_32F, N, CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS)
        return ll_err(e, "cuda: cublasGemmEx (%d x %d x %d): %s", N, T, K, blas_status(s));
    return 0;
}
