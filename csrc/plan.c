/* Memory plan of a model + context: arithmetic on shapes only. Each sum below
 * names the allocation it mirrors, so that a change there shows up here. */
#include "plan.h"
#include "cpu/cpu_features.h"
#include "cuda/sizes.h"

#include <string.h>

static uint64_t weight_bytes(const ll_weight *w) {
    return w->data ? (uint64_t)w->row_bytes * (uint64_t)w->ne1 : 0;
}

uint64_t ll_plan_kv_layer_bytes(const ll_hparams *hp, ll_type kv_type, int n_ctx) {
    const int64_t kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    return 2 * (uint64_t)ll_row_size(kv_type, kvd) * (uint64_t)n_ctx; /* K and V */
}

/* backend_cpu.c: xn, q, k, v, att, o, gate, up for n_batch rows, plus the
 * per-thread attention scratch (scores of a KV group, a row, visible cells). */
static uint64_t cpu_scratch(const ll_hparams *hp, uint64_t nb, uint64_t cells, uint64_t threads) {
    const uint64_t D = hp->n_embd, F = hp->n_ff, f = sizeof(float);
    const uint64_t qd = (uint64_t)hp->n_head * hp->head_dim, kvd = (uint64_t)hp->n_head_kv * hp->head_dim;
    const uint64_t G = (uint64_t)(hp->n_head / hp->n_head_kv);
    return f * (nb * (2 * D + 2 * qd + 2 * kvd + 2 * F) + (G * cells + hp->head_dim + cells) * threads);
}

/* Whether a GPU weight needs dequantizing to FP16 for cuBLAS (not F16/F32). */
static bool needs_w16(const ll_weight *w) {
    return w->data && w->type != LL_TYPE_F16 && w->type != LL_TYPE_F32;
}

/* The CUDA backend: x, xn, q, k, v, att, gate, up for n_batch rows; x16 (the
 * batch as FP16 for cuBLAS); logits for up to 64 rows when it owns the output;
 * w16, the largest quantized weight dequantized to FP16 (allocated on the
 * first batch of more than a few tokens, i.e. on any real prompt); the step
 * metadata (cuda/sizes.h: ll_cuda_meta). */
static uint64_t cuda_scratch(const ll_model *m, int l0, uint64_t nb, int n_ctx, bool output) {
    const ll_hparams *hp = &m->hp;
    const uint64_t D = hp->n_embd, F = hp->n_ff, f = sizeof(float), h = 2;
    const uint64_t qd = (uint64_t)hp->n_head * hp->head_dim, kvd = (uint64_t)hp->n_head_kv * hp->head_dim;
    uint64_t max_k = F > qd ? F : qd, max_nk = F * D, big = 0;
    if (max_k < D) max_k = D;
    if (qd * D > max_nk) max_nk = qd * D;
    if (output && (uint64_t)hp->n_vocab * D > max_nk) max_nk = (uint64_t)hp->n_vocab * D;
    bool w16 = output && needs_w16(&m->output);
    for (int il = l0; il < hp->n_layer && !w16; il++) {
        const ll_weight *ws[LL_LAYER_MATRICES];
        ll_layer_matrices(&m->layers[il], ws);
        for (int i = 0; i < LL_LAYER_MATRICES; i++) w16 = w16 || needs_w16(ws[i]);
    }
    big = f * nb * (2 * D + 2 * qd + 2 * kvd + 2 * F) + h * nb * max_k + (w16 ? h * max_nk : 0);
    if (output) big += (nb < 64 ? nb : 64) * (uint64_t)hp->n_vocab * f;
    /* step metadata: a mask and a position per cell, four ints per batch row */
    big += ll_cuda_meta(n_ctx, (int)nb).bytes;
    /* quantized activations of generation steps, split attention states */
    big += LL_CUDA_Q8_BYTES(LL_CUDA_MATVEC_MAX, max_k);
    big += ll_cuda_att_part_bytes(hp->n_head, hp->head_dim);
    return big;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

ll_assist_sizes ll_plan_assist_sizes(const ll_model *m, int l0, int l1) {
    ll_assist_sizes z = {0, 0, 0, 0};
    for (int il = l0; il < l1; il++) {
        const ll_layer *L = &m->layers[il];
        const ll_weight *ws[LL_LAYER_MATRICES];
        ll_layer_matrices(L, ws);
        for (int i = 0; i < LL_LAYER_MATRICES; i++) {
            z.w_bytes = max_sz(z.w_bytes, ws[i]->row_bytes * (size_t)ws[i]->ne1);
            z.nk = max_sz(z.nk, (size_t)ws[i]->ne0 * (size_t)ws[i]->ne1);
            z.k = max_sz(z.k, (size_t)ws[i]->ne0);
        }
        z.n_call = max_sz(z.n_call, (size_t)(L->wq.ne1 + L->wk.ne1 + L->wv.ne1));
        z.n_call = max_sz(z.n_call, (size_t)(L->w_gate.ne1 + L->w_up.ne1));
        z.n_call = max_sz(z.n_call, max_sz((size_t)L->wo.ne1, (size_t)L->w_down.ne1));
    }
    return z;
}

uint64_t ll_plan_assist_bytes(const ll_model *m, int l0, int l1, int n_batch) {
    if (l1 <= l0) return 0;
    const ll_assist_sizes z = ll_plan_assist_sizes(m, l0, l1);
    const uint64_t nb = (uint64_t)n_batch;
    return 2 * ll_align256(z.w_bytes) + ll_align256(z.nk * 2) + ll_align256(nb * z.k * 2) + ll_align256(nb * z.k * 4) +
           ll_align256(nb * z.n_call * 4);
}

int ll_plan_compute(const ll_model *m, const ll_plan_params *pin, ll_plan *o, ll_error *e) {
    const ll_hparams *hp = &m->hp;
    ll_plan_params p = *pin;
    /* the defaults and clamps of ll_context_new */
    if (p.n_ctx <= 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_seq <= 0) p.n_seq = 1;
    if (p.n_batch <= 0) p.n_batch = 512;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_threads <= 0) p.n_threads = ll_cpu_count();
    if (p.kv_type != LL_TYPE_F16 && p.kv_type != LL_TYPE_F32 && p.kv_type != LL_TYPE_Q8_0)
        return ll_err(e, "plan: kv_type must be f16, f32 or q8_0");
    if (p.kv_type == LL_TYPE_Q8_0 && hp->head_dim % 32)
        return ll_err(e, "plan: q8_0 KV cache needs a head dimension that is a multiple of 32");
    if (p.n_gpu_layers < 0 || p.n_gpu_layers > hp->n_layer) p.n_gpu_layers = hp->n_layer;

    memset(o, 0, sizeof *o);
    o->n_layer = hp->n_layer;
    o->gpu_layers = p.n_gpu_layers;
    o->cpu_layers = hp->n_layer - p.n_gpu_layers;
    o->n_ctx = p.n_ctx;
    o->n_seq = p.n_seq;
    o->n_batch = p.n_batch;
    o->n_threads = p.n_threads;
    o->output_on_gpu = o->gpu_layers == hp->n_layer && o->gpu_layers > 0;
    o->tied_output = m->tied_output;
    o->n_params = ll_model_n_params(m);

    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) o->weights_bytes += m->gguf->tensors[i].nbytes;
    o->embd_bytes = weight_bytes(&m->tok_embd);
    o->output_bytes = weight_bytes(&m->output) + weight_bytes(&m->output_norm);
    uint64_t gpu_layer_w = 0;
    for (int il = 0; il < hp->n_layer; il++) {
        o->layers_bytes += m->layers[il].bytes;
        if (il >= o->cpu_layers) gpu_layer_w += m->layers[il].bytes;
    }
    const uint64_t rope = m->rope_freqs ? (uint64_t)hp->rope_dim / 2 * sizeof(float) : 0;

    /* Weights: the file is mmap'ed, so what stays on the CPU is host memory;
     * what the GPU runs is copied there. A tied output is a second copy of
     * the embedding on the GPU; the CPU still embeds tokens from its own. */
    o->weights_device = o->gpu_layers ? gpu_layer_w + rope : 0;
    o->weights_host = o->weights_bytes - gpu_layer_w;
    if (o->output_on_gpu) {
        o->weights_device += o->output_bytes;
        if (!m->tied_output) o->weights_host -= o->output_bytes;
    }

    const uint64_t nb = (uint64_t)p.n_batch, cells = (uint64_t)p.n_ctx, D = hp->n_embd, f = sizeof(float);
    o->kv_host = (uint64_t)o->cpu_layers * ll_plan_kv_layer_bytes(hp, p.kv_type, p.n_ctx);
    o->kv_device = (uint64_t)o->gpu_layers * ll_plan_kv_layer_bytes(hp, LL_TYPE_F16, p.n_ctx);

    /* context.c: x and out_x (n_batch x D), four int32 per batch row, one
     * row of logits (grows with the rows a decode asks for); kv.c: a
     * position and a sequence mask per cell, a next position per sequence. */
    o->compute_host = 2 * nb * D * f + 4 * nb * 4 + (uint64_t)hp->n_vocab * f + cells * (4 + 8) + (uint64_t)p.n_seq * 4;
    if (o->cpu_layers > 0 || !o->output_on_gpu)
        o->compute_host += cpu_scratch(hp, nb, cells, (uint64_t)p.n_threads);
    if (o->gpu_layers > 0) {
        o->compute_device = cuda_scratch(m, o->cpu_layers, nb, p.n_ctx, o->output_on_gpu);
        /* the CPU layers' prompt batches borrow the GPU (cuda/assist.h) */
        o->compute_device += ll_plan_assist_bytes(m, 0, o->cpu_layers, p.n_batch);
        /* pinned staging buffers of the CUDA backend: x or logits, and the step metadata */
        uint64_t hx = nb * D * f, lr = (nb < 64 ? nb : 64) * (uint64_t)hp->n_vocab * f;
        o->compute_host += o->output_on_gpu && lr > hx ? lr : hx;
        o->compute_host += ll_cuda_meta(p.n_ctx, p.n_batch).bytes;
    }
    o->host_bytes = o->weights_host + o->kv_host + o->compute_host;
    o->device_bytes = o->weights_device + o->kv_device + o->compute_device;
    return 0;
}
