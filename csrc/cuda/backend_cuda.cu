/* The CUDA backend: weights, K/V rows and scratch of its layers on device 0.
 * A step copies the residual stream and the step's cell metadata to the
 * device once, queues every layer's kernels on one stream, and copies the
 * stream back once (the only synchronization of the step). Steps of at most
 * LL_CUDA_MATVEC_MAX tokens (generation) replay a CUDA graph captured once
 * per token count: every kernel argument is a fixed device address and the
 * per-step values (positions, cells, cells in use) are read from device
 * memory, so one replay replaces some fifteen launches per layer. */
#include "cuda/kernels.h"
#include "cuda/dequant.h"

#include "cuda/gemm.h"
#include <stdlib.h>
#include <string.h>

typedef struct dlayer {
    const float *attn_norm, *ffn_norm, *bq, *bk, *bv; /* F32 vectors (biases may be NULL) */
    ll_dweight wq, wk, wv, wo, gate, up, down;
    __half *k, *v; /* (n_ctx, kv_dim) */
} dlayer;

typedef struct cuda_backend {
    ll_backend base;
    cudaStream_t st;
    ll_cublas api;
    cublasHandle_t blas;
    uint8_t *wbuf;  /* every weight of this backend, one allocation */
    __half *kvbuf;  /* every layer's K and V rows, one allocation */
    dlayer *L;      /* (l1 - l0) */
    const float *out_norm;
    ll_dweight out;
    const float *rope_ff;
    /* scratch, sized for n_batch rows */
    float *x, *xn, *q, *k, *v, *att, *gate, *up, *logits;
    float *att_part; /* split attention states for generation steps */
    void *q8;        /* quantized activations of generation steps (NULL: float kernels only) */
    int logit_rows;
    __half *x16;     /* (n_batch, max K) activations for cuBLAS */
    __half *w16;     /* (max N*K) a dequantized weight for cuBLAS; allocated on first use */
    size_t w16_elems;
    /* Step metadata at fixed offsets (cuda/sizes.h: ll_cuda_meta), device and pinned host. */
    uint8_t *meta, *hmeta;
    size_t off_cpos, off_tok, meta_bytes;
    float *hx;       /* pinned staging for x / logits */
    size_t hx_cap;
    void *locked;    /* the context's logits rows while page-locked here (cuda_layers_output), or NULL */
    size_t locked_bytes;
    /* by token count; NULL until captured: the layers, and the layers then the output */
    cudaGraphExec_t graph[LL_CUDA_MATVEC_MAX + 1], graph_out[LL_CUDA_MATVEC_MAX + 1];
    bool use_graphs;
    size_t bytes;
} cuda_backend;

static void cuda_free(ll_backend *b) {
    cuda_backend *cb = (cuda_backend *)b;
    if (!cb) return;
    if (cb->st) cudaStreamSynchronize(cb->st);
    for (int i = 0; i <= LL_CUDA_MATVEC_MAX; i++) {
        if (cb->graph[i]) cudaGraphExecDestroy(cb->graph[i]);
        if (cb->graph_out[i]) cudaGraphExecDestroy(cb->graph_out[i]);
    }
    if (cb->blas) cb->api.destroy(cb->blas);
    ll_cublas_close(&cb->api);
    void *dev[] = {cb->wbuf, cb->kvbuf, cb->x, cb->xn, cb->q, cb->k, cb->v, cb->att, cb->gate, cb->up,
                   cb->logits, cb->att_part, cb->q8, cb->x16, cb->w16, cb->meta};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        if (dev[i]) cudaFree(dev[i]);
    if (cb->hmeta) cudaFreeHost(cb->hmeta);
    if (cb->hx) cudaFreeHost(cb->hx);
    if (cb->locked) cudaHostUnregister(cb->locked);
    if (cb->st) cudaStreamDestroy(cb->st);
    free(cb->L);
    free(cb);
}

/* The FP16 scratch matrix of dequantized weights, allocated on the first
 * prompt product that needs it. */
static int ensure_w16(cuda_backend *cb, const ll_dweight *w, ll_error *e) {
    if (w->type != LL_TYPE_F16 && w->type != LL_TYPE_F32 && !cb->w16) {
        LL_CUDA_TRY(cudaMalloc((void **)&cb->w16, cb->w16_elems * sizeof(__half)));
        cb->bytes += cb->w16_elems * sizeof(__half);
    }
    return 0;
}

/* y (T, N) (+)= x (T, K) . W^T (+ bias): the matrix-vector kernel for a few
 * rows, else W as FP16 (dequantized into w16 unless stored so) times x as
 * FP16 through cuBLAS with FP32 accumulation. */
static int matmul(cuda_backend *cb, const ll_dweight *w, const float *x, int T, float *y, const float *bias,
                  bool accumulate, ll_error *e) {
    if (T <= LL_CUDA_MATVEC_MAX) {
        if (cb->q8 && ll_cuda_matvec_q8_ok(w)) {
            ll_cuda_quant_q8(x, T, w->ne0, cb->q8, cb->st);
            ll_cuda_matvec_q8(w, cb->q8, T, y, bias, accumulate, cb->st);
        } else {
            ll_cuda_matvec(w, x, T, y, bias, accumulate, cb->st);
        }
        return 0;
    }
    if (ensure_w16(cb, w, e) || ll_cuda_gemm(&cb->api, cb->blas, w, x, T, y, accumulate, cb->w16, cb->x16, cb->st, e))
        return -1;
    if (bias) ll_cuda_add_bias(y, bias, T, w->ne1, cb->st);
    return 0;
}

/* Prompt products of an input already in cb->x16 (FP16), for weights other
 * than F32: the input is converted once for all the products that share it. */
static bool f16_inputs(int n, const ll_dweight *const *w, int T) {
    if (T <= LL_CUDA_MATVEC_MAX) return false;
    for (int i = 0; i < n; i++)
        if (w[i]->type == LL_TYPE_F32) return false;
    return true;
}

static int gemm_x16(cuda_backend *cb, const ll_dweight *w, int T, float *y, const float *bias, bool accumulate,
                    ll_error *e) {
    if (ensure_w16(cb, w, e) ||
        ll_cuda_gemm_f16in(&cb->api, cb->blas, w, cb->x16, T, y, accumulate, cb->w16, cb->st, e))
        return -1;
    if (bias) ll_cuda_add_bias(y, bias, T, w->ne1, cb->st);
    return 0;
}

/* Whether every product of a group takes 8-bit dots (then the group's input
 * can be normed and quantized in one kernel, never kept in float). */
static bool all_q8(const cuda_backend *cb, int n, const ll_dweight *const *w, int T) {
    if (T > LL_CUDA_MATVEC_MAX || !cb->q8 || w[0]->ne0 % 32) return false;
    for (int i = 0; i < n; i++)
        if (!ll_cuda_matvec_q8_ok(w[i])) return false;
    return true;
}

/* Products sharing the input x (q/k/v, gate/up): for a generation step the
 * activations are quantized once for all the weights that take 8-bit dots. */
static int matmul_shared(cuda_backend *cb, int n, const ll_dweight *const *w, const float *x, int T, float *const *y,
                         const float *const *bias, ll_error *e) {
    bool q8 = false;
    if (T <= LL_CUDA_MATVEC_MAX && cb->q8)
        for (int i = 0; i < n; i++) q8 |= ll_cuda_matvec_q8_ok(w[i]);
    if (!q8) {
        for (int i = 0; i < n; i++)
            if (matmul(cb, w[i], x, T, y[i], bias[i], false, e)) return -1;
        return 0;
    }
    ll_cuda_quant_q8(x, T, w[0]->ne0, cb->q8, cb->st);
    for (int i = 0; i < n; i++) {
        if (ll_cuda_matvec_q8_ok(w[i]))
            ll_cuda_matvec_q8(w[i], cb->q8, T, y[i], bias[i], false, cb->st);
        else
            ll_cuda_matvec(w[i], x, T, y[i], bias[i], false, cb->st);
    }
    return 0;
}

/* rmsnorm(x) * g, then the products of a group sharing it. */
static int norm_matmul(cuda_backend *cb, const float *g, int n, const ll_dweight *const *w, int T, float *const *y,
                       const float *const *bias, float eps, ll_error *e) {
    const int D = w[0]->ne0;
    if (all_q8(cb, n, w, T)) {
        ll_cuda_rmsnorm_quant_q8(cb->x, g, T, D, eps, cb->q8, cb->st);
        bool grouped = n > 1;
        for (int i = 0; i < n; i++) grouped &= ll_cuda_matvec_q8_group_ok(w[i]);
        if (grouped) { /* one launch for the group */
            ll_cuda_mv_group grp;
            grp.n = n;
            for (int i = 0; i < n; i++) {
                grp.w[i] = *w[i];
                grp.y[i] = y[i];
                grp.bias[i] = bias[i];
            }
            ll_cuda_matvec_q8_group(&grp, cb->q8, T, cb->st);
        } else {
            for (int i = 0; i < n; i++) ll_cuda_matvec_q8(w[i], cb->q8, T, y[i], bias[i], false, cb->st);
        }
        return 0;
    }
    if (f16_inputs(n, w, T)) { /* a prompt: normed straight into FP16, once for the group */
        ll_cuda_rmsnorm_f16(cb->x, g, cb->x16, T, D, eps, cb->st);
        for (int i = 0; i < n; i++)
            if (gemm_x16(cb, w[i], T, y[i], bias[i], false, e)) return -1;
        return 0;
    }
    ll_cuda_rmsnorm(cb->x, g, cb->xn, T, D, eps, cb->st);
    return matmul_shared(cb, n, w, cb->xn, T, y, bias, e);
}

/* The pinned staging buffer grows to what a step needs (pinned, so the copies are async). */
static int ensure_host(cuda_backend *cb, size_t x_bytes, ll_error *e) {
    if (x_bytes > cb->hx_cap) {
        if (cb->hx) cudaFreeHost(cb->hx);
        cb->hx = NULL;
        cb->hx_cap = 0;
        LL_CUDA_TRY(cudaMallocHost((void **)&cb->hx, x_bytes));
        cb->hx_cap = x_bytes;
    }
    return 0;
}


/* Queues layers [l0, l1) for T tokens (the stream is being captured when a graph is made). */
static int enqueue_layers(cuda_backend *cb, ll_context *c, int T, int l0, int l1, ll_error *e) {
    const ll_model *m = c->m;
    const ll_hparams *hp = &m->hp;
    const int H = hp->n_head, Hkv = hp->n_head_kv, hd = hp->head_dim, F = hp->n_ff;
    const int kv_dim = Hkv * hd, nb = c->p.n_batch;
    const unsigned long long *cell_seqs = (const unsigned long long *)cb->meta;
    const int32_t *cell_pos = (const int32_t *)(cb->meta + cb->off_cpos);
    const int32_t *n_cells = (const int32_t *)(cb->meta + cb->off_tok);
    const int32_t *tok_pos = n_cells + 4, *tok_seq = tok_pos + nb, *tok_cell = tok_seq + nb;
    for (int il = l0; il < l1; il++) {
        dlayer *L = &cb->L[il - cb->base.l0];
        const ll_dweight *wqkv[3] = {&L->wq, &L->wk, &L->wv};
        float *const yqkv[3] = {cb->q, cb->k, cb->v};
        const float *const bqkv[3] = {L->bq, L->bk, L->bv};
        if (norm_matmul(cb, L->attn_norm, 3, wqkv, T, yqkv, bqkv, hp->rms_eps, e)) return -1;
        if (hp->rope_dim == hd) {
            ll_cuda_rope_kv(cb->q, cb->k, cb->v, L->k, L->v, tok_cell, tok_pos, T, H, Hkv, hd, hp->rope_neox,
                            hp->rope_base, cb->rope_ff, cb->st);
        } else {
            ll_cuda_rope(cb->q, T, H, hd, hp->rope_dim, hp->rope_neox, hp->rope_base, cb->rope_ff, tok_pos, cb->st);
            ll_cuda_rope(cb->k, T, Hkv, hd, hp->rope_dim, hp->rope_neox, hp->rope_base, cb->rope_ff, tok_pos, cb->st);
            ll_cuda_kv_store(cb->k, cb->v, L->k, L->v, tok_cell, T, kv_dim, cb->st);
        }
        /* a generation step's o projection takes the attention output
         * already quantized by the combine kernel */
        const bool o_q8 = T <= LL_CUDA_MATVEC_MAX && cb->q8 && hd % 32 == 0 && hd <= 1024 &&
                          ll_cuda_matvec_q8_ok(&L->wo);
        ll_cuda_attn aa = {cb->q, cb->att, L->k, L->v, T, H, Hkv, hd, tok_pos, tok_seq, cell_pos, cell_seqs,
                           n_cells, cb->att_part, o_q8 ? cb->q8 : NULL};
        ll_cuda_attention(&aa, cb->st);
        if (o_q8) /* x += att . Wo^T */
            ll_cuda_matvec_q8(&L->wo, cb->q8, T, cb->x, NULL, true, cb->st);
        else if (matmul(cb, &L->wo, cb->att, T, cb->x, NULL, true, e))
            return -1;
        const ll_dweight *wgu[2] = {&L->gate, &L->up}, *wdown = &L->down;
        float *const ygu[2] = {cb->gate, cb->up};
        const float *const bgu[2] = {NULL, NULL};
        if (norm_matmul(cb, L->ffn_norm, 2, wgu, T, ygu, bgu, hp->rms_eps, e)) return -1;
        if (T <= LL_CUDA_MATVEC_MAX && cb->q8 && ll_cuda_matvec_q8_ok(&L->down) && F % 32 == 0) {
            ll_cuda_swiglu_quant_q8(cb->gate, cb->up, T, F, cb->q8, cb->st);
            ll_cuda_matvec_q8(&L->down, cb->q8, T, cb->x, NULL, true, cb->st);
        } else if (f16_inputs(1, &wdown, T)) {
            ll_cuda_swiglu_f16(cb->gate, cb->up, cb->x16, (int64_t)T * F, cb->st);
            if (gemm_x16(cb, wdown, T, cb->x, NULL, true, e)) return -1;
        } else {
            ll_cuda_swiglu(cb->gate, cb->up, (int64_t)T * F, cb->st);
            if (matmul(cb, &L->down, cb->gate, T, cb->x, NULL, true, e)) return -1;
        }
    }
    return 0;
}

/* The output norm and projection of the first T rows of cb->x into cb->logits. */
static int enqueue_output(cuda_backend *cb, ll_context *c, int T, ll_error *e) {
    const ll_dweight *w = &cb->out;
    float *const y = cb->logits;
    const float *const bias = NULL;
    return norm_matmul(cb, cb->out_norm, 1, &w, T, &y, &bias, c->m->hp.rms_eps, e);
}

/* Queues all of this backend's layers for T tokens, then (with_output) the
 * output of all T rows (T <= LL_CUDA_MATVEC_MAX <= logit_rows). */
static int enqueue_step(cuda_backend *cb, ll_context *c, int T, bool with_output, ll_error *e) {
    if (enqueue_layers(cb, c, T, cb->base.l0, cb->base.l1, e)) return -1;
    return with_output ? enqueue_output(cb, c, T, e) : 0;
}

/* The graph of enqueue_step for T tokens, captured on first use. Returns
 * NULL (and the caller launches directly) when capture is off or fails. */
static cudaGraphExec_t graph_for(cuda_backend *cb, ll_context *c, int T, bool with_output, ll_error *e) {
    if (!cb->use_graphs || T > LL_CUDA_MATVEC_MAX) return NULL;
    cudaGraphExec_t *slot = with_output ? &cb->graph_out[T] : &cb->graph[T];
    if (*slot) return *slot;
    cudaGraph_t g = NULL;
    if (cudaStreamBeginCapture(cb->st, cudaStreamCaptureModeThreadLocal) != cudaSuccess) goto off;
    {
        const int rc = enqueue_step(cb, c, T, with_output, e);
        const cudaError_t ce = cudaStreamEndCapture(cb->st, &g);
        if (rc || ce != cudaSuccess || !g) goto off;
    }
    if (cudaGraphInstantiate(slot, g, 0) != cudaSuccess) {
        *slot = NULL;
        goto off;
    }
    cudaGraphDestroy(g);
    return *slot;
off:
    /* capture is an optimization: fall back to direct launches for good */
    if (g) cudaGraphDestroy(g);
    (void)cudaGetLastError();
    cb->use_graphs = false;
    return NULL;
}

/* Copies a step's metadata and residual stream x (T rows) to the device. */
static int stage_step(cuda_backend *cb, ll_context *c, const ll_ubatch *ub, const float *x, ll_error *e) {
    const int T = ub->n, D = c->m->hp.n_embd, nc = c->kv.used_hi, nb = c->p.n_batch;
    const size_t x_bytes = (size_t)T * D * sizeof(float);
    /* The previous step's copies out of hmeta finished at its synchronization. */
    uint8_t *hm = cb->hmeta;
    int32_t *ht = (int32_t *)(hm + cb->off_tok);
    memcpy(hm, c->kv.seqs, (size_t)nc * 8);
    memcpy(hm + cb->off_cpos, c->kv.pos, (size_t)nc * 4);
    ht[0] = nc;
    memcpy(ht + 4, ub->pos, (size_t)T * 4);
    memcpy(ht + 4 + nb, ub->seq, (size_t)T * 4);
    memcpy(ht + 4 + 2 * nb, ub->cell, (size_t)T * 4);
    memcpy(cb->hx, x, x_bytes);
    LL_CUDA_TRY(cudaMemcpyAsync(cb->meta, hm, (size_t)nc * 8, cudaMemcpyHostToDevice, cb->st));
    LL_CUDA_TRY(cudaMemcpyAsync(cb->meta + cb->off_cpos, hm + cb->off_cpos, (size_t)nc * 4, cudaMemcpyHostToDevice,
                                cb->st));
    LL_CUDA_TRY(cudaMemcpyAsync(cb->meta + cb->off_tok, hm + cb->off_tok, cb->meta_bytes - cb->off_tok,
                                cudaMemcpyHostToDevice, cb->st));
    LL_CUDA_TRY(cudaMemcpyAsync(cb->x, cb->hx, x_bytes, cudaMemcpyHostToDevice, cb->st));
    return 0;
}

static int cuda_layers(ll_backend *b, ll_context *c, const ll_ubatch *ub, int l0, int l1, float *x, ll_error *e) {
    cuda_backend *cb = (cuda_backend *)b;
    const int T = ub->n, D = c->m->hp.n_embd;
    const size_t x_bytes = (size_t)T * D * sizeof(float);
    LL_CUDA_TRY(cudaSetDevice(0));
    if (ensure_host(cb, x_bytes, e) || stage_step(cb, c, ub, x, e)) return -1;
    cudaGraphExec_t g = (l0 == b->l0 && l1 == b->l1) ? graph_for(cb, c, T, false, e) : NULL;
    if (g) {
        LL_CUDA_TRY(cudaGraphLaunch(g, cb->st));
    } else if (enqueue_layers(cb, c, T, l0, l1, e)) {
        return -1;
    }
    LL_CUDA_TRY(cudaGetLastError());
    LL_CUDA_TRY(cudaMemcpyAsync(cb->hx, cb->x, x_bytes, cudaMemcpyDeviceToHost, cb->st));
    LL_CUDA_TRY(cudaStreamSynchronize(cb->st));
    memcpy(x, cb->hx, x_bytes);
    return 0;
}

/* Whether the context's logits rows are page-locked, so a step's logits
 * go there straight from the device (a copy through the staging buffer
 * cost as much again on the host: 600 KB a token for a 150k vocabulary).
 * They are locked on first use and again after the context reallocates
 * them; when locking fails (a page already locked by another range) the
 * staging buffer serves. Both output paths write only into c->logits. */
static bool lock_logits(cuda_backend *cb, ll_context *c) {
    /* (the rows only grow: a moved or grown buffer differs in size too) */
    const size_t n = (size_t)c->cap_logits * c->m->hp.n_vocab * sizeof(float);
    if (cb->locked == (void *)c->logits && cb->locked_bytes == n) return true;
    if (cb->locked) cudaHostUnregister(cb->locked); /* (a realloc may have freed it: an error then) */
    cb->locked = NULL;
    if (c->logits && cudaHostRegister(c->logits, n, cudaHostRegisterDefault) == cudaSuccess) {
        cb->locked = c->logits;
        cb->locked_bytes = n;
    }
    (void)cudaGetLastError();
    return cb->locked != NULL;
}

static int cuda_output(ll_backend *b, ll_context *c, const float *x, int n, float *logits, ll_error *e) {
    cuda_backend *cb = (cuda_backend *)b;
    const ll_model *m = c->m;
    const int D = m->hp.n_embd, V = m->hp.n_vocab;
    LL_CUDA_TRY(cudaSetDevice(0));
    for (int i0 = 0; i0 < n; i0 += cb->logit_rows) {
        const int nb = n - i0 < cb->logit_rows ? n - i0 : cb->logit_rows;
        const size_t x_bytes = (size_t)nb * D * sizeof(float), l_bytes = (size_t)nb * V * sizeof(float);
        if (ensure_host(cb, x_bytes > l_bytes ? x_bytes : l_bytes, e)) return -1;
        memcpy(cb->hx, x + (size_t)i0 * D, x_bytes);
        LL_CUDA_TRY(cudaMemcpyAsync(cb->x, cb->hx, x_bytes, cudaMemcpyHostToDevice, cb->st));
        if (enqueue_output(cb, c, nb, e)) return -1;
        LL_CUDA_TRY(cudaGetLastError());
        float *dst = lock_logits(cb, c) ? logits + (size_t)i0 * V : cb->hx;
        LL_CUDA_TRY(cudaMemcpyAsync(dst, cb->logits, l_bytes, cudaMemcpyDeviceToHost, cb->st));
        LL_CUDA_TRY(cudaStreamSynchronize(cb->st));
        if (dst == cb->hx) memcpy(logits + (size_t)i0 * V, cb->hx, l_bytes);
    }
    return 0;
}

/* A generation step (T <= LL_CUDA_MATVEC_MAX: the engine sends larger
 * batches to layers, then output) in one round trip: the layers and the
 * output of all T rows in one graph, then the wanted rows' logits copied
 * back; the residual stream stays on the device. */
static int cuda_layers_output(ll_backend *b, ll_context *c, const ll_ubatch *ub, float *x, const int32_t *rows,
                              int n_rows, float *logits, ll_error *e) {
    cuda_backend *cb = (cuda_backend *)b;
    const int T = ub->n, D = c->m->hp.n_embd, V = c->m->hp.n_vocab;
    const size_t x_bytes = (size_t)T * D * sizeof(float), l_bytes = (size_t)n_rows * V * sizeof(float);
    LL_CUDA_TRY(cudaSetDevice(0));
    if (ensure_host(cb, x_bytes > l_bytes ? x_bytes : l_bytes, e) || stage_step(cb, c, ub, x, e)) return -1;
    cudaGraphExec_t g = graph_for(cb, c, T, true, e);
    if (g) {
        LL_CUDA_TRY(cudaGraphLaunch(g, cb->st));
    } else if (enqueue_step(cb, c, T, true, e)) {
        return -1;
    }
    LL_CUDA_TRY(cudaGetLastError());
    float *dst = lock_logits(cb, c) ? logits : cb->hx;
    for (int r0 = 0, r1; r0 < n_rows; r0 = r1) { /* runs of consecutive rows, one copy each */
        for (r1 = r0 + 1; r1 < n_rows && rows[r1] == rows[r1 - 1] + 1;) r1++;
        LL_CUDA_TRY(cudaMemcpyAsync(dst + (size_t)r0 * V, cb->logits + (size_t)rows[r0] * V,
                                    (size_t)(r1 - r0) * V * sizeof(float), cudaMemcpyDeviceToHost, cb->st));
    }
    LL_CUDA_TRY(cudaStreamSynchronize(cb->st));
    if (dst != logits) memcpy(logits, cb->hx, l_bytes);
    return 0;
}

static size_t cuda_bytes(const ll_backend *b) { return ((const cuda_backend *)b)->bytes; }

static const ll_backend_ops cuda_ops = {"cuda", cuda_layers, cuda_output, cuda_bytes, cuda_bytes, cuda_free, NULL,
                                        cuda_layers_output, LL_CUDA_MATVEC_MAX};

/* ---- construction: plan the weight buffer, copy, allocate the rest ---- */


typedef struct upload {
    cuda_backend *cb;
    size_t off;      /* bytes planned / copied so far */
    bool copy;       /* second pass: copy; first pass: only count */
    size_t max_k, max_nk;
    uint8_t *stage;  /* pinned bounce buffer of STAGE bytes (second pass) */
    uint8_t *dstage; /* device buffer of STAGE bytes for packing (second pass; NULL: no packing) */
    bool pack;       /* pack Q8_0 / Q6_K weights (packed.h) for the 8-bit dot kernels */
    ll_error *e;
} upload;

#define STAGE ((size_t)32 << 20)

/* Host to device through the pinned bounce buffer. Copying straight from the
 * mmap'ed file would fail whenever a copy straddles a range another backend
 * page-locked (the GPU assist of the CPU layers locks theirs, and a page can
 * hold the end of one layer and the start of the next). */
static int upload_bytes(upload *u, const void *src, size_t n) {
    for (size_t done = 0; done < n; done += STAGE) {
        const size_t k = n - done < STAGE ? n - done : STAGE;
        memcpy(u->stage, (const uint8_t *)src + done, k);
        cudaError_t err = cudaMemcpy(u->cb->wbuf + u->off + done, u->stage, k, cudaMemcpyHostToDevice);
        if (err != cudaSuccess) {
            (void)cudaGetLastError();
            return ll_err(u->e, "cuda: copying weights: %s", cudaGetErrorString(err));
        }
    }
    return 0;
}

/* Rows of a packed weight: a stage of file rows at a time to the device, packed there. */
static int upload_packed(upload *u, const ll_weight *w) {
    const int N = (int)w->ne1, K = (int)w->ne0;
    const int per = (int)(STAGE / w->row_bytes);
    for (int r0 = 0; r0 < N; r0 += per) {
        const int nr = N - r0 < per ? N - r0 : per;
        const size_t k = (size_t)nr * w->row_bytes;
        memcpy(u->stage, (const uint8_t *)w->data + (size_t)r0 * w->row_bytes, k);
        cudaError_t err = cudaMemcpy(u->dstage, u->stage, k, cudaMemcpyHostToDevice);
        if (err == cudaSuccess) {
            ll_cuda_pack_rows(w->type, u->dstage, r0, nr, N, K, u->cb->wbuf + u->off, 0);
            err = cudaStreamSynchronize(0);
        }
        if (err != cudaSuccess) {
            (void)cudaGetLastError();
            return ll_err(u->e, "cuda: packing weights: %s", cudaGetErrorString(err));
        }
    }
    return 0;
}

static int put_weight(upload *u, const ll_weight *w, ll_dweight *dw) {
    if (!ll_cuda_type_ok(w->type))
        return ll_err(u->e, "cuda backend: tensor %s has type %s, which the CUDA kernels cannot read",
                      w->name ? w->name : "?", ll_type_get(w->type) ? ll_type_get(w->type)->name : "?");
    if (w->ne0 % 32 && ll_type_get(w->type)->blck_size == 1 && w->ne0 % 8)
        return ll_err(u->e, "cuda backend: row length %lld is not a multiple of 8", (long long)w->ne0);
    const size_t n = w->row_bytes * (size_t)w->ne1;
    if (u->copy) {
        dw->d = u->cb->wbuf + u->off;
        dw->type = w->type;
        dw->ne0 = (int)w->ne0;
        dw->ne1 = (int)w->ne1;
        dw->row_bytes = w->row_bytes;
        if (u->pack && ll_cuda_packs(w->type, w->ne0)) {
            dw->type = w->type | LL_CUDA_PACKED;
            if (upload_packed(u, w)) return -1;
        } else if (upload_bytes(u, w->data, n)) {
            return -1;
        }
    }
    if ((size_t)w->ne0 > u->max_k) u->max_k = (size_t)w->ne0;
    if ((size_t)(w->ne0 * w->ne1) > u->max_nk) u->max_nk = (size_t)(w->ne0 * w->ne1);
    u->off += ll_align256(n);
    return 0;
}

static int put_vector(upload *u, const void *data, size_t n_floats, const float **out) {
    if (!data) {
        if (u->copy) *out = NULL;
        return 0;
    }
    const size_t n = n_floats * sizeof(float);
    if (u->copy) {
        *out = (const float *)(u->cb->wbuf + u->off);
        if (upload_bytes(u, data, n)) return -1;
    }
    u->off += ll_align256(n);
    return 0;
}

static int put_all(upload *u, const ll_model *m, int l0, int l1, bool output) {
    const ll_hparams *hp = &m->hp;
    const size_t D = hp->n_embd, qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    for (int il = l0; il < l1; il++) {
        const ll_layer *L = &m->layers[il];
        dlayer *dl = &u->cb->L[il - l0];
        if (put_vector(u, L->attn_norm.data, D, &dl->attn_norm) || put_vector(u, L->ffn_norm.data, D, &dl->ffn_norm) ||
            put_vector(u, L->bq.data, qd, &dl->bq) || put_vector(u, L->bk.data, kvd, &dl->bk) ||
            put_vector(u, L->bv.data, kvd, &dl->bv) || put_weight(u, &L->wq, &dl->wq) ||
            put_weight(u, &L->wk, &dl->wk) || put_weight(u, &L->wv, &dl->wv) || put_weight(u, &L->wo, &dl->wo) ||
            put_weight(u, &L->w_gate, &dl->gate) || put_weight(u, &L->w_up, &dl->up) ||
            put_weight(u, &L->w_down, &dl->down))
            return -1;
    }
    if (output && (put_vector(u, m->output_norm.data, D, &u->cb->out_norm) || put_weight(u, &m->output, &u->cb->out)))
        return -1;
    if (put_vector(u, m->rope_freqs, (size_t)hp->rope_dim / 2, &u->cb->rope_ff)) return -1;
    return 0;
}

static int dev_alloc(cuda_backend *cb, void **p, size_t n, ll_error *e) {
    cudaError_t err = cudaMalloc(p, n ? n : 1);
    if (err != cudaSuccess) {
        (void)cudaGetLastError(); /* not sticky: a later context must not see it */
        return ll_err(e, "cuda backend: cannot allocate %zu bytes on the device (%zu allocated so far): %s", n,
                      cb->bytes, cudaGetErrorString(err));
    }
    cb->bytes += n;
    return 0;
}

static int backend_init(cuda_backend *cb, ll_context *c, int l0, int l1, bool output, ll_error *e) {
    const ll_model *m = c->m;
    const ll_hparams *hp = &m->hp;
    char why[256];
    if (ll_cuda_device_info(NULL, 0, why, sizeof why) <= 0)
        return ll_err(e, "cuda backend: no CUDA device is present (%s); load the model with n_gpu_layers = 0", why);
    if (hp->head_dim > 512) return ll_err(e, "cuda backend: head dimension %d is above 512", hp->head_dim);
    LL_CUDA_TRY(cudaSetDevice(0));
    LL_CUDA_TRY(cudaStreamCreateWithFlags(&cb->st, cudaStreamNonBlocking));
    if (ll_cublas_open(&cb->api, e)) return -1;
    cublasStatus_t bs = cb->api.create(&cb->blas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        cb->blas = NULL;
        return ll_err(e, "cuda backend: cublasCreate failed (status %d)", (int)bs);
    }
    cb->api.set_stream(cb->blas, cb->st);
    const int nl = l1 - l0;
    cb->L = (dlayer *)calloc((size_t)(nl > 0 ? nl : 1), sizeof(dlayer));
    if (!cb->L) return ll_err(e, "cuda backend: out of memory");
    /* LUALLM_CUDA_Q8=0 keeps generation on the float kernels (for comparison) */
    const char *qv = getenv("LUALLM_CUDA_Q8");
    const bool use_q8 = !(qv && strcmp(qv, "0") == 0);
    upload u = {cb, 0, false, 0, 0, NULL, NULL, use_q8, e};
    if (put_all(&u, m, l0, l1, output)) return -1;
    if (dev_alloc(cb, (void **)&cb->wbuf, u.off, e)) return -1;
    u.off = 0;
    u.copy = true;
    LL_CUDA_TRY(cudaMallocHost((void **)&u.stage, STAGE));
    /* the packing buffer lives only while loading (the plan's margin covers it) */
    if (use_q8 && cudaMalloc((void **)&u.dstage, STAGE) != cudaSuccess) {
        (void)cudaGetLastError();
        cudaFreeHost(u.stage);
        return ll_err(e, "cuda backend: cannot allocate %zu bytes on the device to pack weights", (size_t)STAGE);
    }
    const int up_rc = put_all(&u, m, l0, l1, output);
    cudaFreeHost(u.stage);
    if (u.dstage) cudaFree(u.dstage);
    if (up_rc) return -1;
    /* K/V rows: F16 whatever kv_type asks (see backend_cuda.h) */
    const size_t cells = (size_t)c->p.n_ctx, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    if (dev_alloc(cb, (void **)&cb->kvbuf, 2 * (size_t)nl * cells * kvd * sizeof(__half), e)) return -1;
    for (int i = 0; i < nl; i++) {
        cb->L[i].k = cb->kvbuf + (2 * (size_t)i) * cells * kvd;
        cb->L[i].v = cb->kvbuf + (2 * (size_t)i + 1) * cells * kvd;
    }
    const size_t nb = (size_t)c->p.n_batch, D = hp->n_embd, F = hp->n_ff, f = sizeof(float);
    const size_t qd = (size_t)hp->n_head * hp->head_dim;
    cb->logit_rows = output ? (c->p.n_batch < 64 ? c->p.n_batch : 64) : 0;
    size_t max_k = u.max_k > F ? u.max_k : F;
    if (dev_alloc(cb, (void **)&cb->x, nb * D * f, e) || dev_alloc(cb, (void **)&cb->xn, nb * D * f, e) ||
        dev_alloc(cb, (void **)&cb->q, nb * qd * f, e) || dev_alloc(cb, (void **)&cb->k, nb * kvd * f, e) ||
        dev_alloc(cb, (void **)&cb->v, nb * kvd * f, e) || dev_alloc(cb, (void **)&cb->att, nb * qd * f, e) ||
        dev_alloc(cb, (void **)&cb->gate, nb * F * f, e) || dev_alloc(cb, (void **)&cb->up, nb * F * f, e) ||
        dev_alloc(cb, (void **)&cb->x16, nb * max_k * sizeof(__half), e) ||
        dev_alloc(cb, (void **)&cb->q8, LL_CUDA_Q8_BYTES(LL_CUDA_MATVEC_MAX, max_k), e) ||
        dev_alloc(cb, (void **)&cb->att_part, ll_cuda_att_part_bytes(hp->n_head, hp->head_dim), e) ||
        (output && dev_alloc(cb, (void **)&cb->logits, (size_t)cb->logit_rows * hp->n_vocab * f, e)))
        return -1;
    cb->w16_elems = u.max_nk;
    const ll_cuda_meta_layout ml = ll_cuda_meta(c->p.n_ctx, c->p.n_batch);
    cb->off_cpos = ml.off_cpos;
    cb->off_tok = ml.off_tok;
    cb->meta_bytes = ml.bytes;
    if (dev_alloc(cb, (void **)&cb->meta, cb->meta_bytes, e)) return -1;
    LL_CUDA_TRY(cudaMallocHost((void **)&cb->hmeta, cb->meta_bytes));
    /* LUALLM_CUDA_GRAPHS=0 launches every kernel directly (for measuring what graphs save) */
    const char *gv = getenv("LUALLM_CUDA_GRAPHS");
    cb->use_graphs = !(gv && strcmp(gv, "0") == 0);
    if (!use_q8) {
        cudaFree(cb->q8);
        cb->bytes -= LL_CUDA_Q8_BYTES(LL_CUDA_MATVEC_MAX, max_k);
        cb->q8 = NULL;
    }
    return 0;
}

extern "C" ll_backend *ll_cuda_backend_new(ll_context *c, int l0, int l1, bool output, ll_error *e) {
    cuda_backend *cb = (cuda_backend *)calloc(1, sizeof *cb);
    if (!cb) {
        ll_err(e, "cuda backend: out of memory");
        return NULL;
    }
    cb->base.ops = &cuda_ops;
    cb->base.l0 = l0;
    cb->base.l1 = l1;
    cb->base.has_output = output;
    if (backend_init(cb, c, l0, l1, output, e)) {
        cuda_free(&cb->base);
        return NULL;
    }
    return &cb->base;
}

/* ---- kernel test hook (see backend_cuda.h) ---- */

extern "C" int ll_cuda_matmul_test(int type, const void *w, size_t row_bytes, int N, int K, const float *x, int T,
                                   float *y, ll_error *e) {
    char why[256];
    if (ll_cuda_device_info(NULL, 0, why, sizeof why) <= 0) return ll_err(e, "cuda: no device (%s)", why);
    if (!ll_cuda_type_ok(type)) return ll_err(e, "cuda: type %d is not supported by the kernels", type);
    if (K % 8 || T <= 0 || N <= 0) return ll_err(e, "cuda: bad shape");
    cuda_backend cb;
    memset(&cb, 0, sizeof cb);
    int rc = -1;
    uint8_t *dw = NULL, *dp = NULL;
    float *dx = NULL, *dy = NULL;
    ll_dweight W = {NULL, type, K, N, row_bytes};
    const size_t wb = row_bytes * (size_t)N, xb = (size_t)T * K * sizeof(float), yb = (size_t)T * N * sizeof(float);
    cudaError_t err;
    cb.w16_elems = (size_t)N * K;
    if ((err = cudaSetDevice(0)) || (err = cudaStreamCreate(&cb.st)) || (err = cudaMalloc((void **)&dw, wb)) ||
        (err = cudaMalloc((void **)&dx, xb)) || (err = cudaMalloc((void **)&dy, yb)) ||
        (err = cudaMalloc((void **)&cb.x16, (size_t)T * K * sizeof(__half))) ||
        (err = cudaMalloc(&cb.q8, LL_CUDA_Q8_BYTES(T, K))) ||
        (err = cudaMemcpy(dw, w, wb, cudaMemcpyHostToDevice)) || (err = cudaMemcpy(dx, x, xb, cudaMemcpyHostToDevice))) {
        ll_err(e, "cuda: %s", cudaGetErrorString(err));
        goto done;
    }
    if (ll_cublas_open(&cb.api, e)) goto done;
    if (cb.api.create(&cb.blas) != CUBLAS_STATUS_SUCCESS) {
        cb.blas = NULL;
        ll_err(e, "cuda: cublasCreate failed");
        goto done;
    }
    cb.api.set_stream(cb.blas, cb.st);
    W.d = dw;
    if (ll_cuda_packs(type, K)) { /* as the backend uploads it */
        if ((err = cudaMalloc((void **)&dp, wb))) {
            ll_err(e, "cuda: %s", cudaGetErrorString(err));
            goto done;
        }
        ll_cuda_pack_rows(type, dw, 0, N, N, K, dp, cb.st);
        W.d = dp;
        W.type = type | LL_CUDA_PACKED;
    }
    if (matmul(&cb, &W, dx, T, dy, NULL, false, e)) goto done;
    if ((err = cudaStreamSynchronize(cb.st)) || (err = cudaGetLastError()) ||
        (err = cudaMemcpy(y, dy, yb, cudaMemcpyDeviceToHost))) {
        ll_err(e, "cuda: %s", cudaGetErrorString(err));
        goto done;
    }
    rc = 0;
done:
    if (cb.blas) cb.api.destroy(cb.blas);
    ll_cublas_close(&cb.api);
    if (cb.st) cudaStreamDestroy(cb.st);
    cudaFree(dw);
    cudaFree(dp);
    cudaFree(dx);
    cudaFree(dy);
    cudaFree(cb.x16);
    cudaFree(cb.w16);
    cudaFree(cb.q8);
    return rc;
}
