/* Memory planning: what loading a model and creating a context will allocate
 * on the host and on the GPU, computed from the GGUF header alone (no tensor
 * data is read). The formulas mirror the engine's allocations:
 * csrc/context.c, csrc/cpu/backend_cpu.c and the CUDA backend. */
#ifndef LL_PLAN_H
#define LL_PLAN_H

#include "model.h"

typedef struct ll_plan_params {
    int n_ctx;        /* KV cells over all sequences (0: as ll_context_new picks) */
    int n_seq;        /* sequences (0: 1) */
    int n_batch;      /* tokens per forward pass (0: 512; at most n_ctx) */
    int n_threads;    /* CPU threads (0: all cores); sizes the attention scratch */
    ll_type kv_type;  /* F16, F32 or Q8_0 (the CUDA backend keeps F16 whatever this says) */
    int n_gpu_layers; /* the last N layers on the GPU; < 0 or > n_layer: all */
} ll_plan_params;

typedef struct ll_plan {
    int n_layer, gpu_layers, cpu_layers;
    int n_ctx, n_seq, n_batch, n_threads;
    bool output_on_gpu;
    uint64_t embd_bytes;     /* token embedding (always on the CPU) */
    uint64_t output_bytes;   /* output matrix + output norm; the embedding's size when tied */
    bool tied_output;
    uint64_t layers_bytes;   /* every block's weights */
    uint64_t weights_bytes;  /* every tensor of the file */
    uint64_t weights_host, weights_device;
    uint64_t kv_host, kv_device;
    uint64_t compute_host, compute_device;
    uint64_t host_bytes, device_bytes;
    int64_t n_params;
} ll_plan;

/* K and V bytes of one layer for n_ctx cells of kv_type. */
uint64_t ll_plan_kv_layer_bytes(const ll_hparams *hp, ll_type kv_type, int n_ctx);
/* The GPU assist of a split model's CPU layers [l0, l1) (cuda/assist.h):
 * its largest weight (bytes), largest product (N x K), longest row (K) and
 * most output columns of one call (q+k+v, gate+up, o or down). */
typedef struct ll_assist_sizes {
    size_t w_bytes, nk, k, n_call;
} ll_assist_sizes;
ll_assist_sizes ll_plan_assist_sizes(const ll_model *m, int l0, int l1);
/* Device bytes the assist allocates for batches of n_batch: two weight
 * slots, the FP16 weight and activations, the FP32 activations and outputs. */
uint64_t ll_plan_assist_bytes(const ll_model *m, int l0, int l1, int n_batch);

/* Fills out for model m (loaded, never run) and p. */
int ll_plan_compute(const ll_model *m, const ll_plan_params *p, ll_plan *out, ll_error *e);

#endif
