/* Sizes of the CUDA backend's buffers, in plain C: the backend allocates by
 * them and the memory plan (plan.c) counts by them, so the two cannot drift. */
#ifndef LL_CUDA_SIZES_H
#define LL_CUDA_SIZES_H

#include <stddef.h>

/* The most tokens the matrix-vector kernels take (a generation step); more
 * go through cuBLAS. */
#define LL_CUDA_MATVEC_MAX 8
/* Splits of the cells in attention for up to LL_CUDA_MATVEC_MAX tokens. */
#define LL_CUDA_ATTN_SPLITS 16

static inline size_t ll_align256(size_t n) { return (n + 255) & ~(size_t)255; }

/* Activations (T, K) quantized to 8-bit blocks of 32: the int8 values, then
 * per block a float pair {scale d, d * sum of the block's values} (the sum
 * serves the K-quants' minimums) (macros: device code computes the offsets too). */
#define LL_CUDA_Q8_XQ_BYTES(T, K) ((((size_t)(T) * (size_t)(K)) + 255) & ~(size_t)255)
#define LL_CUDA_Q8_BYTES(T, K) (LL_CUDA_Q8_XQ_BYTES(T, K) + (size_t)(T) * ((size_t)(K) / 32) * 2 * sizeof(float))

/* Split attention states: (LL_CUDA_MATVEC_MAX, heads, splits, head_dim + 2) floats. */
static inline size_t ll_cuda_att_part_bytes(int n_head, int head_dim) {
    return (size_t)LL_CUDA_MATVEC_MAX * (size_t)n_head * LL_CUDA_ATTN_SPLITS * ((size_t)head_dim + 2) * sizeof(float);
}

/* A step's metadata at fixed offsets, for n_ctx cells and n_batch tokens:
 *   [0]         cell sequence masks (u64, n_ctx)
 *   [off_cpos]  cell positions (i32, n_ctx)
 *   [off_tok]   cells in use (i32, padded to 16 bytes), then token
 *               positions, sequences and cells (i32, n_batch each) */
typedef struct ll_cuda_meta_layout {
    size_t off_cpos, off_tok, bytes;
} ll_cuda_meta_layout;

static inline ll_cuda_meta_layout ll_cuda_meta(int n_ctx, int n_batch) {
    ll_cuda_meta_layout l;
    l.off_cpos = (size_t)n_ctx * 8;
    l.off_tok = l.off_cpos + ll_align256((size_t)n_ctx * 4);
    l.bytes = l.off_tok + 16 + (size_t)n_batch * 12;
    return l;
}

#endif
