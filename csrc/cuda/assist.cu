/* GPU assist for prompt batches of CPU layers (see assist.h). Two weight
 * slots on the device: while one weight is multiplied on the compute stream,
 * the next is copied on the copy stream; events order the reuse of a slot. */
#include "cuda/gemm.h" /* first: the C headers through cuda_common.h */
#include "cuda/assist.h"
#include "cuda/dequant.h"
extern "C" {
#include "plan.h"
#include "cpu/threadpool.h"
}

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PINNED 16

struct ll_gpu_assist {
    ll_cublas api;
    cublasHandle_t blas;
    cudaStream_t st, cs;           /* compute, copy */
    cudaEvent_t copied[2], done[2];
    uint8_t *wdev[2];              /* weight slots */
    __half *w16, *x16;
    float *x, *y;                  /* (n_batch, max K), (n_batch, max sum of N in one call) */
    int n_batch;
    size_t w_cap, w16_elems, x_elems, y_elems;
    int slot;                      /* next slot to fill */
    bool weights_pinned;           /* the CPU layers' file range is page-locked: copies are DMA */
    uint8_t *stage[2];             /* else: pinned staging, filled by the CPU threads */
    void *pinned[MAX_PINNED];
    int n_pinned;
    size_t bytes;
};

extern "C" void ll_gpu_assist_free(ll_gpu_assist *a) {
    if (!a) return;
    if (a->st) cudaStreamSynchronize(a->st);
    if (a->cs) cudaStreamSynchronize(a->cs);
    for (int i = 0; i < a->n_pinned; i++) cudaHostUnregister(a->pinned[i]);
    for (int i = 0; i < 2; i++)
        if (a->stage[i]) cudaFreeHost(a->stage[i]);
    if (a->blas) a->api.destroy(a->blas);
    ll_cublas_close(&a->api);
    for (int i = 0; i < 2; i++) {
        if (a->copied[i]) cudaEventDestroy(a->copied[i]);
        if (a->done[i]) cudaEventDestroy(a->done[i]);
    }
    cudaFree(a->wdev[0]);
    cudaFree(a->w16);
    cudaFree(a->x16);
    cudaFree(a->x);
    cudaFree(a->y);
    if (a->st) cudaStreamDestroy(a->st);
    if (a->cs) cudaStreamDestroy(a->cs);
    free(a);
}

extern "C" void ll_gpu_assist_pin(ll_gpu_assist *a, void *p, size_t bytes) {
    if (!a || !p || !bytes || a->n_pinned >= MAX_PINNED) return;
    if (cudaHostRegister(p, bytes, cudaHostRegisterPortable) == cudaSuccess)
        a->pinned[a->n_pinned++] = p;
    else
        (void)cudaGetLastError(); /* stays pageable: slower copies, same results */
}

/* Page-locks the file range holding layers [l0, l1)'s matrices (read-only). */
static void pin_weights(ll_gpu_assist *a, const ll_model *m, int l0, int l1) {
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int il = l0; il < l1; il++) {
        const ll_weight *ws[LL_LAYER_MATRICES];
        ll_layer_matrices(&m->layers[il], ws);
        for (int i = 0; i < LL_LAYER_MATRICES; i++) {
            const uintptr_t b = (uintptr_t)ws[i]->data, e = b + ws[i]->row_bytes * (size_t)ws[i]->ne1;
            if (b < lo) lo = b;
            if (e > hi) hi = e;
        }
    }
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    lo &= ~(page - 1);
    hi = (hi + page - 1) & ~(page - 1);
    if (hi <= lo || a->n_pinned >= MAX_PINNED) return;
    if (cudaHostRegister((void *)lo, hi - lo, cudaHostRegisterPortable | cudaHostRegisterReadOnly) == cudaSuccess) {
        a->pinned[a->n_pinned++] = (void *)lo;
        a->weights_pinned = true;
    } else {
        (void)cudaGetLastError();
    }
}

#define TRY_NULL(call)                                                               \
    do {                                                                             \
        cudaError_t err_ = (call);                                                   \
        if (err_ != cudaSuccess) {                                                   \
            ll_err(e, "gpu assist: %s failed: %s", #call, cudaGetErrorString(err_)); \
            ll_gpu_assist_free(a);                                                   \
            return NULL;                                                             \
        }                                                                            \
    } while (0)

extern "C" ll_gpu_assist *ll_gpu_assist_new(const ll_model *m, int l0, int l1, int n_batch, ll_error *e) {
    char why[256];
    if (ll_cuda_device_info(NULL, 0, why, sizeof why) <= 0) {
        ll_err(e, "gpu assist: no CUDA device (%s)", why);
        return NULL;
    }
    for (int il = l0; il < l1; il++) {
        const ll_weight *ws[LL_LAYER_MATRICES];
        ll_layer_matrices(&m->layers[il], ws);
        for (int i = 0; i < LL_LAYER_MATRICES; i++)
            if (!ll_cuda_type_ok(ws[i]->type) || ws[i]->ne0 % 8) {
                ll_err(e, "gpu assist: a weight of layer %d has a type the CUDA kernels cannot read", il);
                return NULL;
            }
    }
    ll_gpu_assist *a = (ll_gpu_assist *)calloc(1, sizeof *a);
    if (!a) {
        ll_err(e, "gpu assist: out of memory");
        return NULL;
    }
    const ll_assist_sizes z = ll_plan_assist_sizes(m, l0, l1);
    const size_t nb = (size_t)n_batch;
    a->n_batch = n_batch;
    a->w_cap = ll_align256(z.w_bytes);
    a->w16_elems = z.nk;
    a->x_elems = nb * z.k;
    a->y_elems = nb * z.n_call;
    TRY_NULL(cudaSetDevice(0));
    TRY_NULL(cudaStreamCreateWithFlags(&a->st, cudaStreamNonBlocking));
    TRY_NULL(cudaStreamCreateWithFlags(&a->cs, cudaStreamNonBlocking));
    for (int i = 0; i < 2; i++) {
        TRY_NULL(cudaEventCreateWithFlags(&a->copied[i], cudaEventDisableTiming));
        TRY_NULL(cudaEventCreateWithFlags(&a->done[i], cudaEventDisableTiming));
    }
    TRY_NULL(cudaMalloc((void **)&a->wdev[0], 2 * a->w_cap));
    a->wdev[1] = a->wdev[0] + a->w_cap;
    TRY_NULL(cudaMalloc((void **)&a->w16, ll_align256(a->w16_elems * 2)));
    TRY_NULL(cudaMalloc((void **)&a->x16, ll_align256(a->x_elems * 2)));
    TRY_NULL(cudaMalloc((void **)&a->x, ll_align256(a->x_elems * 4)));
    TRY_NULL(cudaMalloc((void **)&a->y, ll_align256(a->y_elems * 4)));
    a->bytes = ll_plan_assist_bytes(m, l0, l1, n_batch);
    if (ll_cublas_open(&a->api, e)) {
        ll_gpu_assist_free(a);
        return NULL;
    }
    if (a->api.create(&a->blas) != CUBLAS_STATUS_SUCCESS) {
        a->blas = NULL;
        ll_err(e, "gpu assist: cublasCreate failed");
        ll_gpu_assist_free(a);
        return NULL;
    }
    a->api.set_stream(a->blas, a->st);
    /* LUALLM_ASSIST_STAGE=1 skips page-locking the file (to compare the two paths) */
    const char *sv = getenv("LUALLM_ASSIST_STAGE");
    if (!(sv && strcmp(sv, "1") == 0)) pin_weights(a, m, l0, l1);
    if (!a->weights_pinned) /* copies from pageable file pages crawl: stage them */
        for (int i = 0; i < 2; i++) TRY_NULL(cudaMallocHost((void **)&a->stage[i], a->w_cap));
    return a;
}

extern "C" size_t ll_gpu_assist_bytes(const ll_gpu_assist *a) { return a ? a->bytes : 0; }

typedef struct copy_job {
    uint8_t *dst;
    const uint8_t *src;
    size_t n;
} copy_job;

static void copy_worker(int ith, int nth, void *arg) {
    const copy_job *j = (const copy_job *)arg;
    int64_t lo, hi;
    ll_split((int64_t)((j->n + 4095) / 4096), ith, nth, &lo, &hi);
    const size_t a = (size_t)lo * 4096, b = (size_t)hi * 4096 < j->n ? (size_t)hi * 4096 : j->n;
    if (a < b) memcpy(j->dst + a, j->src + a, b - a);
}

/* Queues the copy of w into a slot, after the product that last used it:
 * straight from the page-locked file, or through a staging buffer that the
 * CPU threads (idle meanwhile) fill. */
static int queue_copy(ll_gpu_assist *a, ll_pool *pool, const ll_weight *w, int slot, ll_error *e) {
    const size_t n = w->row_bytes * (size_t)w->ne1;
    LL_CUDA_TRY(cudaStreamWaitEvent(a->cs, a->done[slot], 0));
    const void *src = w->data;
    if (!a->weights_pinned) {
        LL_CUDA_TRY(cudaEventSynchronize(a->copied[slot])); /* the staging buffer's last copy has left */
        copy_job j = {a->stage[slot], (const uint8_t *)w->data, n};
        ll_pool_run(pool, copy_worker, &j);
        src = a->stage[slot];
    }
    LL_CUDA_TRY(cudaMemcpyAsync(a->wdev[slot], src, n, cudaMemcpyHostToDevice, a->cs));
    LL_CUDA_TRY(cudaEventRecord(a->copied[slot], a->cs));
    return 0;
}

extern "C" int ll_gpu_assist_matmul(ll_gpu_assist *a, ll_pool *pool, int n_w, const ll_weight *const *w, float *const *y,
                                    const float *const *bias, const float *x, int T, ll_error *e) {
    const int K = (int)w[0]->ne0;
    if (T > a->n_batch) return ll_err(e, "gpu assist: %d rows, sized for %d", T, a->n_batch);
    LL_CUDA_TRY(cudaSetDevice(0));
    LL_CUDA_TRY(cudaMemcpyAsync(a->x, x, (size_t)T * K * sizeof(float), cudaMemcpyHostToDevice, a->st));
    int slots[3];
    slots[0] = a->slot;
    for (int i = 1; i < n_w; i++) slots[i] = slots[i - 1] ^ 1;
    if (queue_copy(a, pool, w[0], slots[0], e)) return -1;
    size_t yoff = 0;
    for (int i = 0; i < n_w; i++) {
        /* with DMA the next copy is queued first; with staging the CPU fills
         * it while the GPU multiplies this one */
        if (a->weights_pinned && i + 1 < n_w && queue_copy(a, pool, w[i + 1], slots[i + 1], e)) return -1;
        const int s = slots[i];
        ll_dweight dw = {a->wdev[s], (int)w[i]->type, (int)w[i]->ne0, (int)w[i]->ne1, w[i]->row_bytes};
        float *yd = a->y + yoff * T;
        LL_CUDA_TRY(cudaStreamWaitEvent(a->st, a->copied[s], 0));
        if (ll_cuda_gemm(&a->api, a->blas, &dw, a->x, T, yd, false, a->w16, a->x16, a->st, e)) return -1;
        LL_CUDA_TRY(cudaEventRecord(a->done[s], a->st));
        LL_CUDA_TRY(cudaMemcpyAsync(y[i], yd, (size_t)T * dw.ne1 * sizeof(float), cudaMemcpyDeviceToHost, a->st));
        yoff += (size_t)dw.ne1;
        if (!a->weights_pinned && i + 1 < n_w && queue_copy(a, pool, w[i + 1], slots[i + 1], e)) return -1;
    }
    a->slot = slots[n_w - 1] ^ 1;
    LL_CUDA_TRY(cudaStreamSynchronize(a->st));
    LL_CUDA_TRY(cudaGetLastError());
    /* biases on the host: they are small, and the rows are already here */
    for (int i = 0; i < n_w; i++) {
        if (!bias[i]) continue;
        const int64_t N = w[i]->ne1;
        for (int t = 0; t < T; t++)
            for (int64_t r = 0; r < N; r++) y[i][(size_t)t * N + r] += bias[i][r];
    }
    return 0;
}
