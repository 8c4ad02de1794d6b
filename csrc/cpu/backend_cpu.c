/* The CPU backend: runs its layers with the CPU ops and keeps their K/V rows
 * in host memory. Scratch buffers are sized for one micro-batch. */
#include "backend.h"
#include "context.h"
#include "cpu/cpu_ops.h"
#include "cpu/cpu_features.h"

#include <stdlib.h>
#include <string.h>

#ifdef LL_HAVE_CUDA
#include "cuda/assist.h"
#endif

typedef struct cpu_backend {
    ll_backend base;
    ll_pool *pool;
    ll_actbuf act;
    ll_kv_layer *kv;  /* (l1 - l0) */
    float *xn;        /* (nb, D) normed input */
    float *q, *k, *v; /* (nb, H*hd) (nb, Hkv*hd) (nb, Hkv*hd) */
    float *att;       /* (nb, H*hd) attention output */
    float *o;         /* (nb, D) projection output */
    float *gate, *up; /* (nb, F) */
    float *attn_scratch;
    size_t attn_per_thread;
    size_t bytes;
#ifdef LL_HAVE_CUDA
    ll_gpu_assist *assist; /* prompt batches on the GPU when the model uses one (cuda/assist.h) */
#endif
} cpu_backend;

/* A layer's matrix product: on the GPU for prompt batches when assisted. */
static int layer_matmul(cpu_backend *cb, int n_w, const ll_weight *const *w, float *const *y,
                        const float *const *bias, const float *x, int T, ll_error *e) {
#ifdef LL_HAVE_CUDA
    if (cb->assist && T >= LL_GPU_ASSIST_MIN_T) return ll_gpu_assist_matmul(cb->assist, cb->pool, n_w, w, y, bias, x, T, e);
#endif
    return ll_cpu_matmul(cb->pool, &cb->act, n_w, w, y, bias, x, T, e);
}

static void cpu_free(ll_backend *b) {
    cpu_backend *cb = (cpu_backend *)b;
    if (!cb) return;
#ifdef LL_HAVE_CUDA
    ll_gpu_assist_free(cb->assist); /* first: it unpins the buffers below */
#endif
    ll_pool_free(cb->pool);
    if (cb->kv) {
        for (int i = 0; i < cb->base.l1 - cb->base.l0; i++) {
            free(cb->kv[i].k);
            free(cb->kv[i].v);
        }
        free(cb->kv);
    }
    free(cb->act.data);
    free(cb->xn); free(cb->q); free(cb->k); free(cb->v); free(cb->att); free(cb->o);
    free(cb->gate); free(cb->up); free(cb->attn_scratch);
    free(cb);
}

static int cpu_layers(ll_backend *b, ll_context *c, const ll_ubatch *ub, int l0, int l1, float *x, ll_error *e) {
    cpu_backend *cb = (cpu_backend *)b;
    const ll_model *m = c->m;
    const ll_hparams *hp = &m->hp;
    const int T = ub->n, D = hp->n_embd, H = hp->n_head, Hkv = hp->n_head_kv, hd = hp->head_dim, F = hp->n_ff;
    const int kv_dim = Hkv * hd;
    for (int il = l0; il < l1; il++) {
        const ll_layer *L = &m->layers[il];
        ll_kv_layer *kv = &cb->kv[il - b->l0];
        /* attention block */
        ll_cpu_rmsnorm_mt(cb->pool, x, L->attn_norm.data, cb->xn, T, D, hp->rms_eps);
        const ll_weight *wqkv[3] = {&L->wq, &L->wk, &L->wv};
        float *yqkv[3] = {cb->q, cb->k, cb->v};
        const float *bqkv[3] = {L->bq.data, L->bk.data, L->bv.data};
        if (layer_matmul(cb, 3, wqkv, yqkv, bqkv, cb->xn, T, e)) return -1;
        ll_cpu_rope_mt(cb->pool, cb->q, T, H, hd, hp->rope_dim, hp->rope_neox, hp->rope_base, m->rope_freqs, ub->pos);
        ll_cpu_rope_mt(cb->pool, cb->k, T, Hkv, hd, hp->rope_dim, hp->rope_neox, hp->rope_base, m->rope_freqs, ub->pos);
        for (int t = 0; t < T; t++) {
            ll_cpu_kv_store(kv->type, kv->row_bytes, kv->k, ub->cell[t], cb->k + (size_t)t * kv_dim, kv_dim);
            ll_cpu_kv_store(kv->type, kv->row_bytes, kv->v, ub->cell[t], cb->v + (size_t)t * kv_dim, kv_dim);
        }
        ll_attn_args aa = {
            .q = cb->q, .out = cb->att, .T = T, .H = H, .Hkv = Hkv, .hd = hd,
            .pos = ub->pos, .seq = ub->seq, .kv = kv,
            .cell_pos = c->kv.pos, .cell_seqs = c->kv.seqs, .n_cells = c->kv.used_hi,
            .scratch = cb->attn_scratch, .scratch_per_thread = cb->attn_per_thread,
        };
        ll_cpu_attention(cb->pool, &aa);
        const ll_weight *wo[1] = {&L->wo};
        float *yo[1] = {cb->o};
        const float *bo[1] = {NULL};
        if (layer_matmul(cb, 1, wo, yo, bo, cb->att, T, e)) return -1;
        ll_cpu_add_mt(cb->pool, x, cb->o, (int64_t)T * D);
        /* feed-forward block */
        ll_cpu_rmsnorm_mt(cb->pool, x, L->ffn_norm.data, cb->xn, T, D, hp->rms_eps);
        const ll_weight *wgu[2] = {&L->w_gate, &L->w_up};
        float *ygu[2] = {cb->gate, cb->up};
        const float *bgu[2] = {NULL, NULL};
        if (layer_matmul(cb, 2, wgu, ygu, bgu, cb->xn, T, e)) return -1;
        ll_cpu_swiglu_mt(cb->pool, cb->gate, cb->up, (int64_t)T * F);
        const ll_weight *wd[1] = {&L->w_down};
        if (layer_matmul(cb, 1, wd, yo, bo, cb->gate, T, e)) return -1;
        ll_cpu_add_mt(cb->pool, x, cb->o, (int64_t)T * D);
    }
    return 0;
}

static int cpu_output(ll_backend *b, ll_context *c, const float *x, int n, float *logits, ll_error *e) {
    cpu_backend *cb = (cpu_backend *)b;
    const ll_model *m = c->m;
    const int D = m->hp.n_embd;
    for (int i0 = 0; i0 < n; i0 += c->p.n_batch) {
        int nb = n - i0 < c->p.n_batch ? n - i0 : c->p.n_batch;
        ll_cpu_rmsnorm(x + (size_t)i0 * D, m->output_norm.data, cb->xn, nb, D, m->hp.rms_eps);
        const ll_weight *w[1] = {&m->output};
        float *y[1] = {logits + (size_t)i0 * m->hp.n_vocab};
        const float *bias[1] = {NULL};
        if (ll_cpu_matmul(cb->pool, &cb->act, 1, w, y, bias, cb->xn, nb, e)) return -1;
    }
    return 0;
}

static size_t cpu_bytes(const ll_backend *b) { return ((const cpu_backend *)b)->bytes; }

static size_t cpu_device_bytes(const ll_backend *b) {
#ifdef LL_HAVE_CUDA
    return ll_gpu_assist_bytes(((const cpu_backend *)b)->assist);
#else
    (void)b;
    return 0;
#endif
}

static void cpu_parallel(ll_backend *b, ll_pool_fn fn, void *arg) { ll_pool_run(((cpu_backend *)b)->pool, fn, arg); }

static const ll_backend_ops cpu_ops = {
    .name = "cpu", .layers = cpu_layers, .output = cpu_output, .bytes = cpu_bytes,
    .device_bytes = cpu_device_bytes, .free = cpu_free, .parallel = cpu_parallel,
};

/* Page-aligned, whole pages: no two buffers share a page, so page-locking one
 * for the GPU assist never half-locks another's (copies across such a
 * boundary fail). */
static void *alloc_count(cpu_backend *cb, size_t n) {
    cb->bytes += n;
    return aligned_alloc(4096, ((n ? n : 1) + 4095) & ~(size_t)4095);
}

ll_backend *ll_cpu_backend_new(ll_context *c, int l0, int l1, bool output, ll_error *e) {
    const ll_hparams *hp = &c->m->hp;
    cpu_backend *cb = calloc(1, sizeof *cb);
    if (!cb) { ll_err(e, "cpu backend: out of memory"); return NULL; }
    cb->base.ops = &cpu_ops;
    cb->base.l0 = l0;
    cb->base.l1 = l1;
    cb->base.has_output = output;
    cb->pool = ll_pool_new(c->p.n_threads, e);
    if (!cb->pool) { free(cb); return NULL; }
    ll_cpu_matmul_init(&cb->act);
    const size_t nb = (size_t)c->p.n_batch, D = hp->n_embd, F = hp->n_ff;
    const size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    const size_t f = sizeof(float);
    cb->xn = alloc_count(cb, nb * D * f);
    cb->q = alloc_count(cb, nb * qd * f);
    cb->k = alloc_count(cb, nb * kvd * f);
    cb->v = alloc_count(cb, nb * kvd * f);
    cb->att = alloc_count(cb, nb * qd * f);
    cb->o = alloc_count(cb, nb * D * f);
    cb->gate = alloc_count(cb, nb * F * f);
    cb->up = alloc_count(cb, nb * F * f);
    const size_t G = (size_t)(hp->n_head / hp->n_head_kv), cells = (size_t)c->p.n_ctx;
    /* per thread (attention.c): K, V rows and positions of the visible cells,
     * Q and O of a chunk of 16 tokens, scores of the chunk */
    cb->attn_per_thread = (2 * (size_t)hp->head_dim + 1) * cells + 16 * G * (2 * (size_t)hp->head_dim + cells);
    cb->attn_scratch = alloc_count(cb, cb->attn_per_thread * (size_t)c->p.n_threads * f);
    cb->kv = calloc((size_t)(l1 - l0 > 0 ? l1 - l0 : 1), sizeof(ll_kv_layer));
    if (!cb->xn || !cb->q || !cb->k || !cb->v || !cb->att || !cb->o || !cb->gate || !cb->up ||
        !cb->attn_scratch || !cb->kv)
        goto oom;
    for (int i = 0; i < l1 - l0; i++) {
        ll_kv_layer *kv = &cb->kv[i];
        kv->type = c->p.kv_type;
        kv->row_bytes = ll_row_size(kv->type, (int64_t)kvd);
        kv->k = alloc_count(cb, kv->row_bytes * cells);
        kv->v = alloc_count(cb, kv->row_bytes * cells);
        if (!kv->k || !kv->v) goto oom;
    }
#ifdef LL_HAVE_CUDA
    /* a model that uses the GPU lends it to the CPU layers' prompt batches;
     * LUALLM_GPU_ASSIST=0 keeps them on the CPU (to measure the difference) */
    const char *ga = getenv("LUALLM_GPU_ASSIST");
    if (c->m->n_gpu_layers > 0 && l1 > l0 && !(ga && strcmp(ga, "0") == 0)) {
        ll_error ae = {0};
        cb->assist = ll_gpu_assist_new(c->m, l0, l1, c->p.n_batch, &ae);
        if (cb->assist) {
            void *bufs[] = {cb->xn, cb->q, cb->k, cb->v, cb->att, cb->o, cb->gate, cb->up};
            const size_t lens[] = {nb * D * f, nb * qd * f, nb * kvd * f, nb * kvd * f,
                                   nb * qd * f, nb * D * f, nb * F * f, nb * F * f};
            for (int i = 0; i < 8; i++) ll_gpu_assist_pin(cb->assist, bufs[i], lens[i]);
        }
    }
#endif
    return &cb->base;
oom:
    ll_err(e, "cpu backend: out of memory for the context buffers (%zu bytes)", cb->bytes);
    cpu_free(&cb->base);
    return NULL;
}
