/* The engine's step: split a decode into micro-batches, give each token a KV
 * cell, embed on the CPU, run each backend's layers in order, project the
 * requested rows to logits. */
#include "context.h"
#include "cpu/cpu_features.h"

#include <stdlib.h>
#include <string.h>

#ifdef LL_HAVE_CUDA
#include "cuda/backend_cuda.h"
#endif

ll_context *ll_context_new(const ll_model *m, const ll_context_params *pin, ll_error *e) {
    ll_context_params p = *pin;
    if (p.n_ctx <= 0) p.n_ctx = m->hp.n_ctx_train < 4096 ? m->hp.n_ctx_train : 4096;
    if (p.n_seq <= 0) p.n_seq = 1;
    if (p.n_batch <= 0) p.n_batch = 512;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_threads <= 0) p.n_threads = ll_cpu_count();
    if (p.kv_type != LL_TYPE_F16 && p.kv_type != LL_TYPE_F32 && p.kv_type != LL_TYPE_Q8_0) {
        ll_err(e, "context: kv_type must be f16, f32 or q8_0");
        return NULL;
    }
    if (p.kv_type == LL_TYPE_Q8_0 && m->hp.head_dim % 32) {
        ll_err(e, "context: q8_0 KV cache needs a head dimension that is a multiple of 32");
        return NULL;
    }
    ll_context *c = calloc(1, sizeof *c);
    if (!c) { ll_err(e, "context: out of memory"); return NULL; }
    c->m = m;
    c->p = p;
    if (ll_kv_init(&c->kv, p.n_ctx, p.n_seq, e)) { free(c); return NULL; }
    const int D = m->hp.n_embd;
    c->x = malloc((size_t)p.n_batch * D * sizeof(float));
    c->out_x = malloc((size_t)p.n_batch * D * sizeof(float));
    c->ub_pos = malloc((size_t)p.n_batch * sizeof(int32_t));
    c->ub_seq = malloc((size_t)p.n_batch * sizeof(int32_t));
    c->ub_cell = malloc((size_t)p.n_batch * sizeof(int32_t));
    c->out_rows = malloc((size_t)p.n_batch * sizeof(int32_t));
    if (!c->x || !c->out_x || !c->ub_pos || !c->ub_seq || !c->ub_cell || !c->out_rows) {
        ll_err(e, "context: out of memory");
        goto fail;
    }
    const int n_layer = m->hp.n_layer;
    const int split = n_layer - m->n_gpu_layers; /* layers [split, n_layer) on the GPU */
#ifdef LL_HAVE_CUDA
    if (m->n_gpu_layers > 0) {
        if (split > 0) {
            c->be[c->n_be] = ll_cpu_backend_new(c, 0, split, !m->output_on_gpu, e);
            if (!c->be[c->n_be++]) goto fail;
        }
        c->be[c->n_be] = ll_cuda_backend_new(c, split, n_layer, m->output_on_gpu, e);
        if (!c->be[c->n_be++]) goto fail;
        if (!m->output_on_gpu && split == 0) {
            c->be[c->n_be] = ll_cpu_backend_new(c, n_layer, n_layer, true, e);
            if (!c->be[c->n_be++]) goto fail;
        }
        return c;
    }
#else
    (void)split;
#endif
    c->be[0] = ll_cpu_backend_new(c, 0, n_layer, true, e);
    c->n_be = 1;
    if (!c->be[0]) goto fail;
    return c;
fail:
    ll_context_free(c);
    return NULL;
}

void ll_context_free(ll_context *c) {
    if (!c) return;
    for (int i = 0; i < c->n_be; i++)
        if (c->be[i]) c->be[i]->ops->free(c->be[i]);
    ll_kv_free(&c->kv);
    free(c->x);
    free(c->out_x);
    free(c->ub_pos);
    free(c->ub_seq);
    free(c->ub_cell);
    free(c->out_rows);
    free(c->logits);
    free(c);
}

const float *ll_context_logits(const ll_context *c, int i) {
    if (i < 0 || i >= c->n_logits) return NULL;
    return c->logits + (size_t)i * c->m->hp.n_vocab;
}

static void embed(const ll_model *m, int32_t tok, float *out) {
    const ll_weight *w = &m->tok_embd;
    ll_type_get(w->type)->to_float((const uint8_t *)w->data + (size_t)tok * w->row_bytes, out, w->ne0);
}

int ll_context_decode(ll_context *c, int n, const int32_t *tokens, const int32_t *seq,
                      const int32_t *pos, const bool *want, ll_error *e) {
    const ll_model *m = c->m;
    const int D = m->hp.n_embd, V = m->hp.n_vocab;
    if (n <= 0) return ll_err(e, "decode: no tokens");
    int n_out = 0;
    int32_t next[LL_MAX_SEQ];
    memcpy(next, c->kv.seq_next, sizeof(int32_t) * (size_t)c->kv.n_seq);
    for (int i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            return ll_err(e, "decode: token id %d is out of range (vocabulary of %d)", tokens[i], V);
        int s = seq ? seq[i] : 0;
        if (s < 0 || s >= c->kv.n_seq)
            return ll_err(e, "decode: sequence %d is out of range (context has %d)", s, c->kv.n_seq);
        int32_t p = pos ? pos[i] : next[s];
        if (p < 0) return ll_err(e, "decode: negative position");
        next[s] = p + 1;
        if (want ? want[i] : i == n - 1) n_out++;
    }
    if (ll_kv_n_free(&c->kv) < n)
        return ll_err(e, "context overflow: %d tokens do not fit in the %d free KV cells of %d (n_ctx)",
                      n, ll_kv_n_free(&c->kv), c->kv.n_cells);
    if (n_out > c->cap_logits) {
        float *nl = realloc(c->logits, (size_t)n_out * V * sizeof(float));
        if (!nl) return ll_err(e, "decode: out of memory for %d rows of logits", n_out);
        c->logits = nl;
        c->cap_logits = n_out;
    }
    c->n_logits = 0;
    memcpy(next, c->kv.seq_next, sizeof(int32_t) * (size_t)c->kv.n_seq);
    for (int i0 = 0; i0 < n; i0 += c->p.n_batch) {
        int nb = n - i0 < c->p.n_batch ? n - i0 : c->p.n_batch;
        for (int j = 0; j < nb; j++) {
            int i = i0 + j;
            int s = seq ? seq[i] : 0;
            int32_t p = pos ? pos[i] : next[s];
            next[s] = p + 1;
            int cell = ll_kv_alloc(&c->kv, s, p, e);
            if (cell < 0) return -1;
            c->ub_pos[j] = p;
            c->ub_seq[j] = s;
            c->ub_cell[j] = cell;
            embed(m, tokens[i], c->x + (size_t)j * D);
        }
        ll_ubatch ub = {nb, c->ub_pos, c->ub_seq, c->ub_cell};
        int k = 0;
        for (int j = 0; j < nb; j++)
            if (want ? want[i0 + j] : i0 + j == n - 1) c->out_rows[k++] = j;
        /* the last backend may run its layers and the output in one go */
        ll_backend *last = c->be[c->n_be - 1];
        const bool fused = k && last->has_output && last->l1 > last->l0 && last->ops->layers_output &&
                           nb <= last->ops->layers_output_max;
        for (int b = 0; b < c->n_be - (fused ? 1 : 0); b++) {
            ll_backend *be = c->be[b];
            if (be->l1 > be->l0 && be->ops->layers(be, c, &ub, be->l0, be->l1, c->x, e)) return -1;
        }
        if (fused) {
            if (last->ops->layers_output(last, c, &ub, c->x, c->out_rows, k, c->logits + (size_t)c->n_logits * V, e))
                return -1;
            c->n_logits += k;
        } else if (k) {
            for (int r = 0; r < k; r++)
                memcpy(c->out_x + (size_t)r * D, c->x + (size_t)c->out_rows[r] * D, sizeof(float) * D);
            ll_backend *ob = NULL;
            for (int b = 0; b < c->n_be; b++)
                if (c->be[b]->has_output) ob = c->be[b];
            if (ob->ops->output(ob, c, c->out_x, k, c->logits + (size_t)c->n_logits * V, e)) return -1;
            c->n_logits += k;
        }
        c->n_eval_tokens += nb;
    }
    return 0;
}

void ll_context_parallel(ll_context *c, void (*fn)(int ith, int nth, void *arg), void *arg) {
    for (int b = 0; b < c->n_be; b++)
        if (c->be[b]->ops->parallel) {
            c->be[b]->ops->parallel(c->be[b], fn, arg);
            return;
        }
    fn(0, 1, arg);
}
