/* The CUDA backend (C interface; the implementation is CUDA C++ in this
 * folder, compiled by nvcc only when the Makefile finds it).
 *
 * A CUDA backend instance runs layers [l0, l1) of a context on device 0: it
 * copies those layers' weights to device memory once (types kept as stored:
 * quantized stays quantized), holds their K/V rows on the device, and moves
 * the residual stream host<->device once per step. The K/V cache on the
 * device is always F16: a context asking for F32 or Q8_0 gets F16 rows there
 * (F32 gains nothing measurable for attention; Q8_0 is not implemented on
 * the device yet), while CPU layers of the same context keep the asked type. */
#ifndef LL_BACKEND_CUDA_H
#define LL_BACKEND_CUDA_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fails with a clear message when no CUDA device is present. */
ll_backend *ll_cuda_backend_new(ll_context *c, int l0, int l1, bool output, ll_error *e);

typedef struct ll_cuda_device {
    char name[256];
    size_t mem_total, mem_free; /* bytes */
} ll_cuda_device;

/* Number of CUDA devices (0 when the driver or a device is missing; never
 * fails). Describes up to max of them into out (out may be NULL). When
 * why is non-NULL and there are none, it receives the runtime's reason. */
int ll_cuda_device_info(ll_cuda_device *out, int max, char *why, size_t why_len);

/* Test hook for the kernels: y (T, N) = x (T, K) . W^T with W given as N rows
 * of row_bytes bytes of type `type` (host memory), computed on the device by
 * the same path a layer uses for T rows (matrix-vector for T <= 8, dequant +
 * cuBLAS otherwise). Returns 0, or -1 with e set. */
int ll_cuda_matmul_test(int type, const void *w, size_t row_bytes, int N, int K,
                        const float *x, int T, float *y, ll_error *e);

#ifdef __cplusplus
}
#endif

#endif
