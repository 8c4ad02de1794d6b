/* Architectures (llama, qwen2): hyper-parameters from GGUF metadata, weights
 * as views into the mapped file, and their placement on backends. */
#ifndef LL_MODEL_H
#define LL_MODEL_H

#include "ll_common.h"
#include "gguf.h"
#include "quants.h"

typedef enum ll_arch { LL_ARCH_LLAMA = 0, LL_ARCH_QWEN2 = 1 } ll_arch;

typedef struct ll_hparams {
    ll_arch arch;
    int n_vocab;
    int n_ctx_train;
    int n_embd;      /* D */
    int n_layer;
    int n_head;      /* H */
    int n_head_kv;   /* Hkv (GQA: H is a multiple of Hkv) */
    int head_dim;    /* hd = D / H unless key_length says otherwise */
    int n_ff;        /* F */
    float rms_eps;
    float rope_base;
    int rope_dim;    /* rotated dims per head (<= hd) */
    bool rope_neox;  /* qwen2: pairs (i, i + rope_dim/2); llama: (2i, 2i+1) */
} ll_hparams;

/* A 2-D weight: ne1 rows of ne0 elements, row-major, rows contiguous. */
typedef struct ll_weight {
    const void *data;
    ll_type type;
    int64_t ne0, ne1;
    size_t row_bytes;
    const char *name; /* for messages; points into a static table or NULL */
} ll_weight;

/* Weights of one transformer block. Biases and norms are F32 vectors. */
typedef struct ll_layer {
    ll_weight attn_norm;            /* (D) */
    ll_weight wq, wk, wv, wo;       /* (H*hd, D) (Hkv*hd, D) (Hkv*hd, D) (D, H*hd) */
    ll_weight bq, bk, bv;           /* qwen2 only: (H*hd) (Hkv*hd) (Hkv*hd) */
    ll_weight ffn_norm;             /* (D) */
    ll_weight w_gate, w_up, w_down; /* (F, D) (F, D) (D, F) */
    int device;                     /* backend index this layer runs on */
    size_t bytes;                   /* weight bytes of this layer */
} ll_layer;

/* The seven matrices of a layer, in the order q, k, v, o, gate, up, down. */
#define LL_LAYER_MATRICES 7
static inline void ll_layer_matrices(const ll_layer *L, const ll_weight *ws[LL_LAYER_MATRICES]) {
    ws[0] = &L->wq;
    ws[1] = &L->wk;
    ws[2] = &L->wv;
    ws[3] = &L->wo;
    ws[4] = &L->w_gate;
    ws[5] = &L->w_up;
    ws[6] = &L->w_down;
}

typedef struct ll_model {
    gguf_file *gguf;
    ll_hparams hp;
    ll_weight tok_embd;    /* (n_vocab, D): row per token */
    ll_weight output_norm; /* (D) */
    ll_weight output;      /* (n_vocab, D); the embedding table when tied */
    bool tied_output;
    const float *rope_freqs; /* llama3 scaling: rope_dim/2 divisors, or NULL */
    ll_layer *layers;      /* n_layer */
    int n_gpu_layers;      /* the last n_gpu_layers layers run on the GPU */
    bool output_on_gpu;
    double load_ms;
} ll_model;

/* Validates the architecture and every tensor shape; the model keeps g. */
ll_model *ll_model_load(gguf_file *g, ll_error *e);
void ll_model_free(ll_model *m);
const char *ll_arch_name(ll_arch a);
/* Number of parameters (elements of all tensors). */
int64_t ll_model_n_params(const ll_model *m);

#endif
