/* Launchers of the CUDA backend's kernels (kernels.cu). All run on stream st
 * and never synchronize; shapes are (rows, cols), row-major, device memory. */
#ifndef LL_CUDA_KERNELS_H
#define LL_CUDA_KERNELS_H

#include "cuda/cuda_common.h"
#include "cuda/sizes.h"

/* A weight matrix in device memory, in its file type. */
typedef struct ll_dweight {
    const uint8_t *d;
    int type;
    int ne0, ne1; /* K, N */
    size_t row_bytes;
} ll_dweight;


/* y (T, N) (+)= x (T, K) . W^T (+ bias), T <= LL_CUDA_MATVEC_MAX. */
void ll_cuda_matvec(const ll_dweight *w, const float *x, int T, float *y, const float *bias, bool accumulate,
                    cudaStream_t st);
/* The same on 8-bit activations and integer dots (matvec_q8.cu), for the
 * types ll_cuda_matvec_q8_ok accepts (Q4_K, and Q8_0 and Q6_K packed as in
 * packed.h): ll_cuda_quant_q8 quantizes x (T, K)
 * into q8 (LL_CUDA_Q8_BYTES(T, K) bytes of device scratch) once for all the
 * products that share x. */
bool ll_cuda_matvec_q8_ok(const ll_dweight *w);
void ll_cuda_quant_q8(const float *x, int T, int K, void *q8, cudaStream_t st);
/* rmsnorm(x) * g (T, D) quantized into q8, D % 32 == 0 (the normed rows are not kept). */
void ll_cuda_rmsnorm_quant_q8(const float *x, const float *g, int T, int D, float eps, void *q8, cudaStream_t st);
/* Up to 3 products of one quantized input in one launch, for weights that
 * ll_cuda_matvec_q8_group_ok accepts (q8 types, row counts multiples of 4).
 * y_i (T, N_i) = x . W_i^T + b_i. */
bool ll_cuda_matvec_q8_group_ok(const ll_dweight *w);
typedef struct ll_cuda_mv_group {
    int n;
    ll_dweight w[3];
    float *y[3];
    const float *bias[3];
} ll_cuda_mv_group;
void ll_cuda_matvec_q8_group(const ll_cuda_mv_group *g, const void *q8, int T, cudaStream_t st);
/* silu(g) * u (T, F) quantized into q8 (the swiglu of a down projection). */
void ll_cuda_swiglu_quant_q8(const float *g, const float *u, int T, int F, void *q8, cudaStream_t st);
void ll_cuda_matvec_q8(const ll_dweight *w, const void *q8, int T, float *y, const float *bias, bool accumulate,
                       cudaStream_t st);
/* W (N, K) -> out (N, K) FP16. */
void ll_cuda_dequant_f16(const ll_dweight *w, __half *out, cudaStream_t st);
void ll_cuda_f32_to_f16(const float *x, __half *y, int64_t n, cudaStream_t st);
/* y (T, N) += bias (N) */
void ll_cuda_add_bias(float *y, const float *bias, int T, int N, cudaStream_t st);
void ll_cuda_rmsnorm(const float *x, const float *g, float *y, int T, int D, float eps, cudaStream_t st);
/* The same rounded to FP16 (the input of cuBLAS products, converted once for all of them). */
void ll_cuda_rmsnorm_f16(const float *x, const float *g, __half *y, int T, int D, float eps, cudaStream_t st);
void ll_cuda_rope(float *x, int T, int n_heads, int hd, int rope_dim, bool neox, float base,
                  const float *freq_factors, const int32_t *pos, cudaStream_t st);
/* g = silu(g) * u */
void ll_cuda_swiglu(float *g, const float *u, int64_t n, cudaStream_t st);
/* y = silu(g) * u rounded to FP16 */
void ll_cuda_swiglu_f16(const float *g, const float *u, __half *y, int64_t n, cudaStream_t st);
/* Rotates q (T, H*hd) and k (T, Hkv*hd) and stores k and v into cache rows
 * cell[t] (F16) in one kernel; needs rope_dim == hd. */
void ll_cuda_rope_kv(float *q, const float *k, const float *v, __half *kc, __half *vc, const int32_t *cell,
                     const int32_t *pos, int T, int H, int Hkv, int hd, bool neox, float base,
                     const float *freq_factors, cudaStream_t st);
/* Rows k, v (T, kv_dim) into cache rows cell[t] (F16). */
void ll_cuda_kv_store(const float *k, const float *v, __half *kc, __half *vc, const int32_t *cell, int T,
                      int kv_dim, cudaStream_t st);

typedef struct ll_cuda_attn {
    const float *q; /* (T, H*hd) */
    float *out;     /* (T, H*hd) */
    const __half *kc, *vc; /* (n_ctx, Hkv*hd) */
    int T, H, Hkv, hd;
    const int32_t *tok_pos, *tok_seq;
    const int32_t *cell_pos;
    const unsigned long long *cell_seqs;
    const int32_t *n_cells; /* device memory: cells in use, so a captured graph serves every step */
    float *part; /* (LL_CUDA_MATVEC_MAX, H, LL_CUDA_ATTN_SPLITS, hd + 2) split states, or NULL */
    void *q8_out; /* with part: also the output quantized (LL_CUDA_Q8_BYTES(T, H*hd)), or NULL; hd % 32 == 0 */
} ll_cuda_attn;
void ll_cuda_attention(const ll_cuda_attn *a, cudaStream_t st);
/* The prompt path of ll_cuda_attention on tensor cores (attn_prompt.cu);
 * false (nothing launched) for a head dim other than 64 or 128. */
bool ll_cuda_attention_prompt(const ll_cuda_attn *a, cudaStream_t st);

#endif
