#include "kv.h"

#include <stdlib.h>
#include <string.h>

int ll_kv_init(ll_kv *kv, int n_cells, int n_seq, ll_error *e) {
    memset(kv, 0, sizeof *kv);
    if (n_cells < 1) return ll_err(e, "kv: n_ctx must be at least 1");
    if (n_seq < 1 || n_seq > LL_MAX_SEQ) return ll_err(e, "kv: n_seq must be between 1 and %d", LL_MAX_SEQ);
    kv->n_cells = n_cells;
    kv->n_seq = n_seq;
    kv->pos = malloc((size_t)n_cells * sizeof *kv->pos);
    kv->seqs = calloc((size_t)n_cells, sizeof *kv->seqs);
    kv->seq_next = calloc((size_t)n_seq, sizeof *kv->seq_next);
    if (!kv->pos || !kv->seqs || !kv->seq_next) {
        ll_kv_free(kv);
        return ll_err(e, "kv: out of memory");
    }
    for (int i = 0; i < n_cells; i++) kv->pos[i] = -1;
    return 0;
}

void ll_kv_free(ll_kv *kv) {
    free(kv->pos);
    free(kv->seqs);
    free(kv->seq_next);
    memset(kv, 0, sizeof *kv);
}

int ll_kv_n_free(const ll_kv *kv) { return kv->n_cells - kv->n_used; }

int ll_kv_alloc(ll_kv *kv, int seq, int32_t pos, ll_error *e) {
    for (int i = 0; i < kv->n_cells; i++) {
        if (kv->pos[i] >= 0) continue;
        kv->pos[i] = pos;
        kv->seqs[i] = 1ull << seq;
        kv->n_used++;
        if (i >= kv->used_hi) kv->used_hi = i + 1;
        if (pos + 1 > kv->seq_next[seq]) kv->seq_next[seq] = pos + 1;
        return i;
    }
    return ll_err(e, "context overflow: all %d KV cells are in use (raise n_ctx, or trim/clear sequences)",
                  kv->n_cells);
}

static void release(ll_kv *kv, int i) {
    kv->pos[i] = -1;
    kv->seqs[i] = 0;
    kv->n_used--;
}

static void shrink_hi(ll_kv *kv) {
    while (kv->used_hi > 0 && kv->pos[kv->used_hi - 1] < 0) kv->used_hi--;
}

static void recompute_next(ll_kv *kv, int seq) {
    int32_t next = 0;
    uint64_t bit = 1ull << seq;
    for (int i = 0; i < kv->used_hi; i++)
        if ((kv->seqs[i] & bit) && kv->pos[i] + 1 > next) next = kv->pos[i] + 1;
    kv->seq_next[seq] = next;
}

void ll_kv_trim(ll_kv *kv, int seq, int32_t n) {
    uint64_t bit = 1ull << seq;
    for (int i = 0; i < kv->used_hi; i++) {
        if (!(kv->seqs[i] & bit) || kv->pos[i] < n) continue;
        kv->seqs[i] &= ~bit;
        if (!kv->seqs[i]) release(kv, i);
    }
    shrink_hi(kv);
    recompute_next(kv, seq);
}

void ll_kv_clear(ll_kv *kv, int seq) { ll_kv_trim(kv, seq, 0); }

void ll_kv_fork(ll_kv *kv, int src, int dst) {
    if (src == dst) return;
    ll_kv_clear(kv, dst);
    uint64_t sb = 1ull << src, db = 1ull << dst;
    for (int i = 0; i < kv->used_hi; i++)
        if (kv->seqs[i] & sb) kv->seqs[i] |= db;
    kv->seq_next[dst] = kv->seq_next[src];
}
