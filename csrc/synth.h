/* Synthetic tensors: random weights of a chosen type and scale, produced
 * block by block while the GGUF writer streams the file (no float data is
 * quantized and no tensor is held whole in memory), so a model of any size
 * is written at disk speed. The model layout (shapes, names, metadata) lives
 * in lua/luallm/synth.lua. */
#ifndef LL_SYNTH_H
#define LL_SYNTH_H

#include "gguf.h"

typedef struct ll_synth_params {
    ll_type type;
    float mean;          /* float types only: quantized weights are centred on 0 */
    float std;           /* standard deviation of the values */
    uint64_t seed;       /* mixed with the tensor name: same seed, same bytes */
    int n_threads;       /* rows of each chunk are split over this many threads */
    const float *values; /* F32 only: the exact values (copied), or NULL */
} ll_synth_params;

/* Adds tensor name to w. With a sparse writer a tensor without values is
 * added without data (a hole); otherwise its bytes are generated while
 * gguf_writer_write runs. */
int ll_synth_add_tensor(gguf_writer *w, const char *name, int n_dims, const int64_t *ne,
                        const ll_synth_params *p, ll_error *e);

#endif
