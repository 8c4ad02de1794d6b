/* A context: the KV cache of one or more sequences for a model, the backends
 * that run its layers, and the logits of the last decode. */
#ifndef LL_CONTEXT_H
#define LL_CONTEXT_H

#include "backend.h"
#include "kv.h"
#include "model.h"

typedef struct ll_context_params {
    int n_ctx;       /* KV cells (positions over all sequences) */
    int n_seq;       /* sequences (1..64) */
    int n_batch;     /* tokens per forward pass */
    int n_threads;   /* CPU threads (0: all cores) */
    ll_type kv_type; /* F16 (default), F32 or Q8_0 */
} ll_context_params;

struct ll_context {
    const ll_model *m;
    ll_context_params p;
    ll_kv kv;
    ll_backend *be[2];  /* be[0] runs the first layers (CPU); be[1] the rest (GPU), or NULL */
    int n_be;
    float *x;           /* (n_batch, D) residual stream of the current micro-batch */
    int32_t *ub_pos, *ub_seq, *ub_cell; /* (n_batch) */
    int32_t *out_rows;  /* (n_batch) rows of the micro-batch whose logits are wanted */
    float *logits;      /* (n_logits, n_vocab) rows requested by the last decode */
    int n_logits, cap_logits;
    float *out_x;       /* (n_batch, D) rows sent to the output projection */
    /* counters for stats */
    int64_t n_eval_tokens;
};

ll_context *ll_context_new(const ll_model *m, const ll_context_params *p, ll_error *e);
void ll_context_free(ll_context *c);

/* Appends n tokens. seq[i] names each token's sequence (NULL: all sequence 0);
 * pos[i] its position (NULL: the next position of its sequence, in order).
 * want[i] asks for that token's logits (NULL: only the last token's).
 * On error nothing is appended (the cache is checked for room first). */
int ll_context_decode(ll_context *c, int n, const int32_t *tokens, const int32_t *seq,
                      const int32_t *pos, const bool *want, ll_error *e);
/* Logits row i (0-based, in the order requested) of the last decode; NULL if out of range. */
const float *ll_context_logits(const ll_context *c, int i);
/* Runs fn(ith, nth, arg) on the context's CPU threads (nth = 1 when it has none). */
void ll_context_parallel(ll_context *c, void (*fn)(int ith, int nth, void *arg), void *arg);

#endif
