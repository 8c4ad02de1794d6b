/* Loading: every hyper-parameter from metadata, every tensor checked for
 * presence, shape and a type we can compute with, before anything runs. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ll_arch_name(ll_arch a) { return a == LL_ARCH_QWEN2 ? "qwen2" : "llama"; }

typedef struct loader {
    gguf_file *g;
    const char *arch;
    ll_error *e;
} loader;

static int get_int(loader *ld, const char *suffix, bool required, int64_t def, int64_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ld->arch, suffix);
    if (gguf_get_i64(ld->g, key, out)) {
        if (*out < 0 || *out > (1 << 30)) return ll_err(ld->e, "model: %s = %lld is out of range", key, (long long)*out);
        return 0;
    }
    if (required) return ll_err(ld->e, "model: metadata %s is missing", key);
    *out = def;
    return 0;
}

static int get_float(loader *ld, const char *suffix, bool required, double def, double *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ld->arch, suffix);
    if (gguf_get_f64(ld->g, key, out)) return 0;
    if (required) return ll_err(ld->e, "model: metadata %s is missing", key);
    *out = def;
    return 0;
}

/* Finds tensor `name` with shape (ne0, ne1); ne1 = 0 means 1-D. */
static int weight(loader *ld, const char *name, int64_t ne0, int64_t ne1, bool required, ll_weight *w) {
    const gguf_tensor *t = gguf_tensor_by_name(ld->g, name);
    memset(w, 0, sizeof *w);
    if (!t) return required ? ll_err(ld->e, "model: tensor %s is missing", name) : 0;
    int64_t want1 = ne1 ? ne1 : 1;
    if (t->ne[0] != ne0 || t->ne[1] != want1 || t->ne[2] != 1 || t->ne[3] != 1)
        return ll_err(ld->e, "model: tensor %s has shape %lldx%lld, expected %lldx%lld", name,
                      (long long)t->ne[0], (long long)t->ne[1], (long long)ne0, (long long)want1);
    const ll_type_traits *tr = ll_type_get(t->type);
    if (!tr->to_float || !tr->vec_dot)
        return ll_err(ld->e, "model: tensor %s has type %s, which this build cannot compute with", name, tr->name);
    if (ne1 == 0 && t->type != LL_TYPE_F32)
        return ll_err(ld->e, "model: tensor %s must be F32 (is %s)", name, tr->name);
    w->data = t->data;
    w->type = t->type;
    w->ne0 = t->ne[0];
    w->ne1 = want1;
    w->row_bytes = ll_row_size(t->type, t->ne[0]);
    return 0;
}

static int load_hparams(loader *ld, ll_hparams *hp) {
    int64_t v;
    double f;
    if (get_int(ld, "embedding_length", true, 0, &v)) return -1;
    hp->n_embd = (int)v;
    if (get_int(ld, "block_count", true, 0, &v)) return -1;
    hp->n_layer = (int)v;
    if (get_int(ld, "feed_forward_length", true, 0, &v)) return -1;
    hp->n_ff = (int)v;
    if (get_int(ld, "attention.head_count", true, 0, &v)) return -1;
    hp->n_head = (int)v;
    if (get_int(ld, "attention.head_count_kv", false, hp->n_head, &v)) return -1;
    hp->n_head_kv = (int)v;
    if (get_int(ld, "context_length", false, 2048, &v)) return -1;
    hp->n_ctx_train = (int)v;
    if (hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 || hp->n_ff <= 0)
        return ll_err(ld->e, "model: zero-sized hyper-parameter (embedding, blocks, heads or feed-forward)");
    if (hp->n_head % hp->n_head_kv)
        return ll_err(ld->e, "model: head_count %d is not a multiple of head_count_kv %d", hp->n_head, hp->n_head_kv);
    if (get_int(ld, "attention.key_length", false, hp->n_embd / hp->n_head, &v)) return -1;
    hp->head_dim = (int)v;
    int64_t vl;
    if (get_int(ld, "attention.value_length", false, hp->head_dim, &vl)) return -1;
    if (vl != hp->head_dim) return ll_err(ld->e, "model: key_length %d != value_length %lld is not supported", hp->head_dim, (long long)vl);
    if (hp->head_dim <= 0 || hp->head_dim % 2 || hp->head_dim > 512)
        return ll_err(ld->e, "model: head dimension %d is not supported", hp->head_dim);
    if (get_int(ld, "rope.dimension_count", false, hp->head_dim, &v)) return -1;
    hp->rope_dim = (int)v;
    if (hp->rope_dim > hp->head_dim || hp->rope_dim % 2)
        return ll_err(ld->e, "model: rope.dimension_count %d is invalid for head dimension %d", hp->rope_dim, hp->head_dim);
    if (get_float(ld, "attention.layer_norm_rms_epsilon", true, 0, &f)) return -1;
    hp->rms_eps = (float)f;
    if (get_float(ld, "rope.freq_base", false, 10000.0, &f)) return -1;
    hp->rope_base = (float)f;
    double scale;
    if (get_float(ld, "rope.scaling.factor", false, 1.0, &scale)) return -1;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", ld->arch);
    const ll_str *st = gguf_get_str(ld->g, key);
    bool linear = st && st->len == 6 && memcmp(st->data, "linear", 6) == 0;
    if ((st && !linear && !(st->len == 4 && memcmp(st->data, "none", 4) == 0)) || (linear && scale != 1.0))
        return ll_err(ld->e, "model: rope scaling '%.*s' is not supported", st ? (int)st->len : 0, st ? st->data : "");
    return 0;
}

ll_model *ll_model_load(gguf_file *g, ll_error *e) {
    const ll_str *arch = gguf_get_str(g, "general.architecture");
    if (!arch) { ll_err(e, "model: general.architecture is missing"); return NULL; }
    ll_arch a;
    if (arch->len == 5 && memcmp(arch->data, "llama", 5) == 0) a = LL_ARCH_LLAMA;
    else if (arch->len == 5 && memcmp(arch->data, "qwen2", 5) == 0) a = LL_ARCH_QWEN2;
    else {
        ll_err(e, "model: architecture '%.*s' is not supported (llama and qwen2 are)",
               (int)(arch->len > 64 ? 64 : arch->len), arch->data);
        return NULL;
    }
    ll_model *m = calloc(1, sizeof *m);
    if (!m) { ll_err(e, "model: out of memory"); return NULL; }
    m->gguf = g;
    m->hp.arch = a;
    m->hp.rope_neox = a == LL_ARCH_QWEN2;
    loader ld = {g, a == LL_ARCH_QWEN2 ? "qwen2" : "llama", e};
    ll_hparams *hp = &m->hp;
    if (load_hparams(&ld, hp)) goto fail;

    const gguf_tensor *te = gguf_tensor_by_name(g, "token_embd.weight");
    if (!te) { ll_err(e, "model: tensor token_embd.weight is missing"); goto fail; }
    hp->n_vocab = (int)te->ne[1];
    const gguf_value *toks = gguf_get(g, "tokenizer.ggml.tokens");
    if (toks && toks->type == GGUF_ARRAY && toks->arr.n != (uint64_t)hp->n_vocab) {
        ll_err(e, "model: vocabulary has %llu tokens but token_embd has %d rows",
               (unsigned long long)toks->arr.n, hp->n_vocab);
        goto fail;
    }
    const int D = hp->n_embd, hd = hp->head_dim, H = hp->n_head, Hkv = hp->n_head_kv, F = hp->n_ff;
    if (weight(&ld, "token_embd.weight", D, hp->n_vocab, true, &m->tok_embd)) goto fail;
    if (weight(&ld, "output_norm.weight", D, 0, true, &m->output_norm)) goto fail;
    if (weight(&ld, "output.weight", D, hp->n_vocab, false, &m->output)) goto fail;
    if (!m->output.data) {
        m->output = m->tok_embd;
        m->tied_output = true;
    }
    const gguf_tensor *rf = gguf_tensor_by_name(g, "rope_freqs.weight");
    if (rf) {
        if (rf->type != LL_TYPE_F32 || rf->n_elements != hp->rope_dim / 2) {
            ll_err(e, "model: rope_freqs.weight must be F32 of %d elements", hp->rope_dim / 2);
            goto fail;
        }
        m->rope_freqs = rf->data;
    }

    m->layers = calloc((size_t)hp->n_layer, sizeof(ll_layer));
    if (!m->layers) { ll_err(e, "model: out of memory"); goto fail; }
    for (int il = 0; il < hp->n_layer; il++) {
        ll_layer *L = &m->layers[il];
        char n[96];
#define W(field, suffix, ne0, ne1, req) \
        snprintf(n, sizeof n, "blk.%d.%s", il, suffix); \
        if (weight(&ld, n, ne0, ne1, req, &L->field)) goto fail;
        W(attn_norm, "attn_norm.weight", D, 0, true);
        W(wq, "attn_q.weight", D, H * hd, true);
        W(wk, "attn_k.weight", D, Hkv * hd, true);
        W(wv, "attn_v.weight", D, Hkv * hd, true);
        W(wo, "attn_output.weight", H * hd, D, true);
        bool bias = a == LL_ARCH_QWEN2;
        W(bq, "attn_q.bias", H * hd, 0, bias);
        W(bk, "attn_k.bias", Hkv * hd, 0, bias);
        W(bv, "attn_v.bias", Hkv * hd, 0, bias);
        W(ffn_norm, "ffn_norm.weight", D, 0, true);
        W(w_gate, "ffn_gate.weight", D, F, true);
        W(w_up, "ffn_up.weight", D, F, true);
        W(w_down, "ffn_down.weight", F, D, true);
#undef W
        const ll_weight *all[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->bq, &L->bk,
                                  &L->bv, &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (all[i]->data) L->bytes += all[i]->row_bytes * (size_t)all[i]->ne1;
    }
    return m;
fail:
    m->gguf = NULL; /* the caller still owns g on failure */
    ll_model_free(m);
    return NULL;
}

void ll_model_free(ll_model *m) {
    if (!m) return;
    free(m->layers);
    gguf_close(m->gguf);
    free(m);
}

int64_t ll_model_n_params(const ll_model *m) {
    int64_t n = 0;
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) n += m->gguf->tensors[i].n_elements;
    return n;
}
