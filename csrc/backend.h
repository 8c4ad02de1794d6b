/* The backend interface: what the engine asks of a device. CPU and CUDA each
 * implement this table; the engine (context.c) sees nothing else. A backend
 * instance belongs to one context and runs a contiguous range of layers,
 * holding those layers' K/V rows; the residual stream crosses between
 * backends through host memory once per boundary per step. */
#ifndef LL_BACKEND_H
#define LL_BACKEND_H

#include "ll_common.h"

typedef struct ll_context ll_context;
typedef struct ll_backend ll_backend;

/* A micro-batch whose tokens already own KV cells. */
typedef struct ll_ubatch {
    int n;
    const int32_t *pos;  /* (n) position of each token in its sequence */
    const int32_t *seq;  /* (n) sequence of each token */
    const int32_t *cell; /* (n) KV cell each token writes */
} ll_ubatch;

typedef struct ll_backend_ops {
    const char *name;
    /* Runs layers [l0, l1) of the context's model over ub. x is the residual
     * stream (ub->n x n_embd floats, host memory), read and overwritten. */
    int (*layers)(ll_backend *be, ll_context *c, const ll_ubatch *ub, int l0, int l1, float *x, ll_error *e);
    /* Output norm and projection: n rows of x (n x n_embd, host) into
     * logits (n x n_vocab, host). */
    int (*output)(ll_backend *be, ll_context *c, const float *x, int n, float *logits, ll_error *e);
    /* Bytes this backend allocated for the context (KV rows + scratch),
     * reported by the memory plan check. Optional (NULL: 0). */
    size_t (*bytes)(const ll_backend *be);
    /* Bytes it allocated on the GPU: all of bytes for the CUDA backend, the
     * GPU assist's buffers for the CPU one. Optional (NULL: 0). */
    size_t (*device_bytes)(const ll_backend *be);
    void (*free)(ll_backend *be);
    /* Runs fn(ith, nth, arg) on the backend's host threads (the CPU pool);
     * optional (NULL: none to lend). */
    void (*parallel)(ll_backend *be, void (*fn)(int ith, int nth, void *arg), void *arg);
    /* Optional (NULL: layers, then output), for the backend that runs the
     * last layers and the output, on micro-batches of at most
     * layers_output_max tokens: its layers over ub, then the output of
     * rows[0..n_rows) of ub into logits (n_rows x n_vocab, host), x as in
     * layers but left undefined. A device backend saves a round trip of
     * the residual stream per step. */
    int (*layers_output)(ll_backend *be, ll_context *c, const ll_ubatch *ub, float *x, const int32_t *rows,
                         int n_rows, float *logits, ll_error *e);
    int layers_output_max;
} ll_backend_ops;

struct ll_backend {
    const ll_backend_ops *ops;
    int l0, l1;          /* layers it runs */
    bool has_output;     /* runs the output projection */
};

/* Constructors. The CPU backend always exists; the CUDA one only when built
 * with nvcc and a device is present. */
ll_backend *ll_cpu_backend_new(ll_context *c, int l0, int l1, bool output, ll_error *e);

#endif
