/* GPU assist for the CPU layers of a split model: a prompt batch's matrix
 * products run on the GPU with the weights streamed over PCIe, instead of on
 * the CPU. At 512 tokens a layer's weights are used 512 times per transfer,
 * so copying them is far cheaper than computing on the CPU; generation steps
 * (a few tokens) stay on the CPU, which reads the weights from RAM faster
 * than PCIe could bring them.
 *
 * The weights of the CPU layers (one range of the mmap'ed file) and the CPU
 * backend's activation buffers are page-locked (cudaHostRegister) so the
 * copies are DMA; where the file cannot be locked, the CPU threads copy each
 * weight into a pinned staging buffer while the GPU multiplies the previous one. */
#ifndef LL_CUDA_ASSIST_H
#define LL_CUDA_ASSIST_H

#ifdef __cplusplus
extern "C" {
#endif

#include "model.h"
#include "cpu/threadpool.h"

typedef struct ll_gpu_assist ll_gpu_assist;

/* Fewest tokens for which a batch goes to the GPU. */
#define LL_GPU_ASSIST_MIN_T 32

/* For layers [l0, l1) of m and batches of up to n_batch tokens; NULL with e
 * set when there is no device or memory. */
ll_gpu_assist *ll_gpu_assist_new(const ll_model *m, int l0, int l1, int n_batch, ll_error *e);
/* Page-locks a host buffer the products read or write (best effort). */
void ll_gpu_assist_pin(ll_gpu_assist *a, void *p, size_t bytes);
/* y_i (T, N_i) = x (T, K) . W_i^T + b_i, as ll_cpu_matmul, on the GPU; the
 * pool's threads stage the weights when the file could not be page-locked. */
int ll_gpu_assist_matmul(ll_gpu_assist *a, ll_pool *pool, int n_w, const ll_weight *const *w, float *const *y,
                         const float *const *bias, const float *x, int T, ll_error *e);
/* Device bytes it allocated. */
size_t ll_gpu_assist_bytes(const ll_gpu_assist *a);
void ll_gpu_assist_free(ll_gpu_assist *a);
/* (Its device bytes are ll_plan_assist_bytes of plan.h.) */

#ifdef __cplusplus
}
#endif

#endif
