/* KV cache bookkeeping: a pool of cells shared by up to 64 sequences. A cell
 * holds one position's keys and values for every layer; a bitmask says which
 * sequences see it, so a forked sequence shares its parent's prefix cells
 * instead of copying them. Storage for the K/V rows of each layer belongs to
 * the backend that runs the layer; this file only tracks cells. */
#ifndef LL_KV_H
#define LL_KV_H

#include "ll_common.h"

#define LL_MAX_SEQ 64

typedef struct ll_kv {
    int n_cells;
    int n_seq;
    int32_t *pos;      /* (n_cells) position held by the cell, -1 when free */
    uint64_t *seqs;    /* (n_cells) bit s set: sequence s sees this cell */
    int32_t *seq_next; /* (n_seq) next position to append for sequence s */
    int used_hi;       /* cells at or above this index are all free */
    int n_used;
} ll_kv;

int ll_kv_init(ll_kv *kv, int n_cells, int n_seq, ll_error *e);
void ll_kv_free(ll_kv *kv);

/* Takes a free cell for (seq, pos); -1 (e set) when the cache is full. */
int ll_kv_alloc(ll_kv *kv, int seq, int32_t pos, ll_error *e);
/* Free cells available. */
int ll_kv_n_free(const ll_kv *kv);
/* Drops sequence seq from every cell (cells nobody sees become free). */
void ll_kv_clear(ll_kv *kv, int seq);
/* Keeps the first n positions of seq. */
void ll_kv_trim(ll_kv *kv, int seq, int32_t n);
/* dst sees exactly what src sees (its old cells are dropped first). */
void ll_kv_fork(ll_kv *kv, int src, int dst);

#endif
