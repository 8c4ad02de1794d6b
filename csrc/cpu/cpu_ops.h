/* CPU compute ops used by the CPU backend. Shapes in comments: (rows, cols),
 * row-major. All take the pool so they can split work across threads. */
#ifndef LL_CPU_OPS_H
#define LL_CPU_OPS_H

#include "model.h"
#include "cpu/threadpool.h"

/* Scratch of the matrix products (activation rows quantized to a weight's
 * vec_dot_type, or dequantized weight tiles), and the choice of the sgemm
 * path for long batches, made once by ll_cpu_matmul_init. */
typedef struct ll_actbuf {
    void *data;
    size_t cap;
    bool use_blas;
} ll_actbuf;

/* Decides the sgemm path (OpenBLAS present and LUALLM_NO_BLAS unset) and, when
 * taken, makes OpenBLAS single-threaded: our pool supplies the threads. */
void ll_cpu_matmul_init(ll_actbuf *act);

/* y_i (T, N_i) = x (T, K) . W_i (N_i, K)^T + b_i, for up to 3 weights sharing
 * the input x (q/k/v, gate/up). bias entries may be NULL. The input is
 * quantized once per distinct vec_dot_type into act (grown as needed). */
int ll_cpu_matmul(ll_pool *pool, ll_actbuf *act, int n_w, const ll_weight *const *w,
                  float *const *y, const float *const *bias, const float *x, int T, ll_error *e);

/* y (T, D) = x / rms(x) * g, per row. */
void ll_cpu_rmsnorm(const float *x, const float *g, float *y, int T, int D, float eps);
/* Rotates n_heads heads of hd floats of each of T rows at pos[t]. */
void ll_cpu_rope(float *x, int T, int n_heads, int hd, int rope_dim, bool neox, float base,
                 const float *freq_factors, const int32_t *pos);
/* g (T, F) = silu(g) * u */
void ll_cpu_swiglu(float *g, const float *u, int64_t n);
/* x += y */
void ll_cpu_add(float *x, const float *y, int64_t n);

/* The same ops split over the pool for long batches (ops_pool.c); identical results. */
void ll_cpu_rmsnorm_mt(ll_pool *pool, const float *x, const float *g, float *y, int T, int D, float eps);
void ll_cpu_rope_mt(ll_pool *pool, float *x, int T, int n_heads, int hd, int rope_dim, bool neox, float base,
                    const float *freq_factors, const int32_t *pos);
void ll_cpu_swiglu_mt(ll_pool *pool, float *g, const float *u, int64_t n);
void ll_cpu_add_mt(ll_pool *pool, float *x, const float *y, int64_t n);

/* K/V cache storage of one layer: rows of kv_dim elements of type `type`. */
typedef struct ll_kv_layer {
    void *k, *v;
    ll_type type;
    size_t row_bytes;
} ll_kv_layer;

/* Writes kv_dim floats into row `cell` of base (rows of row_bytes, type). */
void ll_cpu_kv_store(ll_type type, size_t row_bytes, void *base, int cell, const float *row, int kv_dim);

/* Causal attention of T query rows q (T, H*hd) over the cells each token's
 * sequence sees in the cache, into out (T, H*hd). */
typedef struct ll_attn_args {
    const float *q;
    float *out;
    int T, H, Hkv, hd;
    const int32_t *pos, *seq;
    const ll_kv_layer *kv;
    const int32_t *cell_pos;   /* kv cells: position */
    const uint64_t *cell_seqs; /* kv cells: sequence bitmask */
    int n_cells;               /* cells [0, n_cells) to consider */
    float *scratch;            /* per thread: see ll_cpu_backend_new */
    size_t scratch_per_thread;
} ll_attn_args;
void ll_cpu_attention(ll_pool *pool, ll_attn_args *a);

#endif
