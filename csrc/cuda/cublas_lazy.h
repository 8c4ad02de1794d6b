/* cuBLAS opened when a CUDA backend is created (dlopen), not linked: loading
 * libcublas/libcublasLt maps some 150 MB of resident memory into every
 * process that loads the module, GPU or not. The header gives the types only;
 * the four entry points the backend uses are looked up by name. */
#ifndef LL_CUDA_CUBLAS_LAZY_H
#define LL_CUDA_CUBLAS_LAZY_H

#include "cuda/cuda_common.h"

#include <cublas_v2.h>
#include <dlfcn.h>
#include <stdio.h>

typedef struct ll_cublas {
    void *lib;
    cublasStatus_t (*create)(cublasHandle_t *);
    cublasStatus_t (*destroy)(cublasHandle_t);
    cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t);
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void *,
                              const void *, cudaDataType, int, const void *, cudaDataType, int, const void *, void *,
                              cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
} ll_cublas;

#ifndef LL_CUDA_LIBDIR
#define LL_CUDA_LIBDIR ""
#endif

/* Opens the library of the toolkit the module was built with (its soname,
 * found through the module's run path, then the toolkit's folder). */
static inline int ll_cublas_open(ll_cublas *b, ll_error *e) {
    if (b->lib) return 0;
    char so[64], full[512];
    snprintf(so, sizeof so, "libcublas.so.%d", CUBLAS_VER_MAJOR);
    snprintf(full, sizeof full, "%s/%s", LL_CUDA_LIBDIR, so);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h && LL_CUDA_LIBDIR[0]) h = dlopen(full, RTLD_NOW | RTLD_LOCAL);
    if (!h) return ll_err(e, "cuda backend: cannot open %s: %s", so, dlerror());
    b->create = (cublasStatus_t(*)(cublasHandle_t *))dlsym(h, "cublasCreate_v2");
    b->destroy = (cublasStatus_t(*)(cublasHandle_t))dlsym(h, "cublasDestroy_v2");
    b->set_stream = (cublasStatus_t(*)(cublasHandle_t, cudaStream_t))dlsym(h, "cublasSetStream_v2");
    *(void **)&b->gemm_ex = dlsym(h, "cublasGemmEx");
    if (!b->create || !b->destroy || !b->set_stream || !b->gemm_ex) {
        dlclose(h);
        return ll_err(e, "cuda backend: %s lacks the expected entry points", so);
    }
    b->lib = h;
    return 0;
}

static inline void ll_cublas_close(ll_cublas *b) {
    if (b->lib) dlclose(b->lib);
    b->lib = NULL;
}

#endif
