/* Threaded matrix products on quantized weights: the activation rows are
 * quantized once to the weights' vec_dot_type, then threads split the weight
 * rows; each thread walks a chunk of rows for all tokens so the chunk stays
 * in cache while the tokens stream past it. Where the level has a vec_dot_n
 * kernel, each weight row is loaded once per block of tokens (a block of
 * activations that fits L1), not once per token; with a vec_dot_tile kernel
 * the chunk's rows go at once, sharing the tokens' scale conversions. */
#include "cpu/cpu_ops.h"
#include "cpu/kernels_select.h"

#include <stdlib.h>
#include <string.h>

#ifdef LL_HAVE_OPENBLAS
#include <cblas.h>
/* Prompt batches at least this long go through sgemm on dequantized tiles.
 * Above the largest decode step (64 sequences x 1 token): sgemm rounds
 * differently from the dot kernels (and skips the activation quantization
 * of the quantized types), so a step must never switch kernels with the
 * number of sequences in it. With vec_dot_n the dot kernels keep up to
 * there (micro models at 32-64 tokens: about even for F16, 2-3x faster for
 * Q4_K_M, whose sgemm path dequantizes the 151936-row output per call). */
#define BLAS_MIN_T 65
/* Rows of a weight dequantized at once per thread (tile <= 256 x K floats). */
#define BLAS_TILE 256
#endif

#define ROW_CHUNK 16
/* Bytes of activations walked against one chunk of rows at a time. */
#define ACT_BLOCK_BYTES 16384

typedef struct mm_job {
    int n_w;
    const ll_weight *const *w;
    float *const *y;
    const float *const *bias;
    const void *xq[3];
    size_t xq_row[3];
    int T;
    ll_vec_dot_fn dot[3];
    ll_vec_dot_n_fn dotn[3];
    ll_vec_dot_tile_fn tile[3];
} mm_job;

static void mm_chunk(const mm_job *j, int i, int64_t r0) {
    const ll_weight *w = j->w[i];
    const int K = (int)w->ne0;
    const int64_t N = w->ne1;
    const int64_t r1 = r0 + ROW_CHUNK < N ? r0 + ROW_CHUNK : N;
    float *y = j->y[i];
    const float *b = j->bias[i];
    if (j->dotn[i] && j->T > 1) {
        const size_t xs = j->xq_row[i];
        int tb = (int)(ACT_BLOCK_BYTES / xs) / 4 * 4;
        if (tb < 4) tb = 4;
        for (int t0 = 0; t0 < j->T; t0 += tb) {
            const int nt = j->T - t0 < tb ? j->T - t0 : tb;
            const uint8_t *xr = (const uint8_t *)j->xq[i] + (size_t)t0 * xs;
            float *yb = y + (size_t)t0 * N;
            if (j->tile[i]) /* the chunk's rows at once */
                j->tile[i](K, (int)(r1 - r0), (const uint8_t *)w->data + (size_t)r0 * w->row_bytes, w->row_bytes, nt,
                           xr, xs, yb + r0, (size_t)N);
            else
                for (int64_t r = r0; r < r1; r++)
                    j->dotn[i](K, nt, yb + r, (size_t)N, (const uint8_t *)w->data + (size_t)r * w->row_bytes, xr, xs);
            if (b)
                for (int64_t r = r0; r < r1; r++)
                    for (int t = 0; t < nt; t++) yb[(size_t)t * N + r] += b[r];
        }
        return;
    }
    for (int t = 0; t < j->T; t++) {
        const void *xr = (const uint8_t *)j->xq[i] + (size_t)t * j->xq_row[i];
        float *yr = y + (size_t)t * N;
        for (int64_t r = r0; r < r1; r++) {
            float s;
            j->dot[i](K, &s, (const uint8_t *)w->data + (size_t)r * w->row_bytes, xr);
            yr[r] = b ? s + b[r] : s;
        }
    }
}

static void mm_worker(int ith, int nth, void *arg) {
    const mm_job *j = arg;
    int64_t nchunks = 0;
    for (int i = 0; i < j->n_w; i++) nchunks += (j->w[i]->ne1 + ROW_CHUNK - 1) / ROW_CHUNK;
    int64_t lo, hi, g = 0;
    ll_split(nchunks, ith, nth, &lo, &hi);
    for (int i = 0; i < j->n_w; i++) {
        int64_t nc = (j->w[i]->ne1 + ROW_CHUNK - 1) / ROW_CHUNK;
        for (int64_t c = 0; c < nc; c++, g++)
            if (g >= lo && g < hi) mm_chunk(j, i, c * ROW_CHUNK);
    }
}

typedef struct q_job {
    ll_from_float_fn q;
    const float *x;
    void *out;
    int K, T;
    size_t row;
} q_job;

static void quant_worker(int ith, int nth, void *arg) {
    q_job *j = arg;
    int64_t lo, hi;
    ll_split(j->T, ith, nth, &lo, &hi);
    for (int64_t t = lo; t < hi; t++)
        j->q(j->x + (size_t)t * j->K, (uint8_t *)j->out + (size_t)t * j->row, j->K);
}

#ifdef LL_HAVE_OPENBLAS
typedef struct blas_job {
    int n_w;
    const ll_weight *const *w;
    float *const *y;
    const float *const *bias;
    const float *x;
    int T;
    float *tiles; /* per thread: BLAS_TILE x K floats */
    size_t tile_floats;
} blas_job;

/* The weights' rows, concatenated, are split evenly between the threads in
 * groups of 16 (whole tiles would leave a thread idle on a 256-row matrix);
 * each thread dequantizes its rows a tile at a time and runs one
 * single-threaded sgemm y[:, r0:r1] = x . tile^T per tile. */
static void blas_worker(int ith, int nth, void *arg) {
    const blas_job *j = arg;
    float *tile = j->tiles + j->tile_floats * (size_t)ith;
    int64_t groups = 0;
    for (int i = 0; i < j->n_w; i++) groups += (j->w[i]->ne1 + 15) / 16;
    int64_t lo, hi, base = 0;
    ll_split(groups, ith, nth, &lo, &hi);
    lo *= 16;
    hi *= 16;
    for (int i = 0; i < j->n_w; i++) {
        const ll_weight *w = j->w[i];
        const int K = (int)w->ne0;
        const int64_t N = w->ne1, span = (N + 15) / 16 * 16;
        /* this thread's rows of weight i: [a, b) */
        int64_t a = lo - base, b = hi - base;
        base += span;
        if (a < 0) a = 0;
        if (b > N) b = N;
        if (a >= b) continue;
        ll_to_float_fn to_f = ll_kernel_to_float(w->type);
        for (int64_t r0 = a; r0 < b; r0 += BLAS_TILE) {
            const int64_t r1 = r0 + BLAS_TILE < b ? r0 + BLAS_TILE : b;
            for (int64_t r = r0; r < r1; r++)
                to_f((const uint8_t *)w->data + (size_t)r * w->row_bytes, tile + (size_t)(r - r0) * K, K);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->T, (int)(r1 - r0), K, 1.0f,
                        j->x, K, tile, K, 0.0f, j->y[i] + r0, (int)N);
            if (j->bias[i])
                for (int t = 0; t < j->T; t++)
                    for (int64_t r = r0; r < r1; r++) j->y[i][(size_t)t * N + r] += j->bias[i][r];
        }
    }
}

static int blas_matmul(ll_pool *pool, ll_actbuf *act, int n_w, const ll_weight *const *w,
                       float *const *y, const float *const *bias, const float *x, int T, ll_error *e) {
    const int K = (int)w[0]->ne0;
    const int nth = ll_pool_size(pool);
    size_t tile = (size_t)BLAS_TILE * K;
    size_t need = tile * sizeof(float) * (size_t)nth;
    if (need > act->cap) {
        void *nb = realloc(act->data, need);
        if (!nb) return ll_err(e, "matmul: out of memory for weight tiles");
        act->data = nb;
        act->cap = need;
    }
    blas_job j = {n_w, w, y, bias, x, T, act->data, tile};
    ll_pool_run(pool, blas_worker, &j);
    return 0;
}
#endif

void ll_cpu_matmul_init(ll_actbuf *act) {
#ifdef LL_HAVE_OPENBLAS
    act->use_blas = getenv("LUALLM_NO_BLAS") == NULL;
    if (act->use_blas) openblas_set_num_threads(1);
#else
    act->use_blas = false;
#endif
}

int ll_cpu_matmul(ll_pool *pool, ll_actbuf *act, int n_w, const ll_weight *const *w,
                  float *const *y, const float *const *bias, const float *x, int T, ll_error *e) {
#ifdef LL_HAVE_OPENBLAS
    if (T >= BLAS_MIN_T && act->use_blas) return blas_matmul(pool, act, n_w, w, y, bias, x, T, e);
#endif
    mm_job j = {.n_w = n_w, .w = w, .y = y, .bias = bias, .T = T};
    const int K = (int)w[0]->ne0;
    /* Quantize x once per distinct activation type (at most 3). */
    ll_type done_t[3];
    size_t done_off[3];
    int n_done = 0;
    size_t need = 0;
    for (int i = 0; i < n_w; i++) {
        ll_type vt = ll_type_get(w[i]->type)->vec_dot_type;
        bool seen = false;
        for (int d = 0; d < n_done; d++) seen |= done_t[d] == vt;
        if (!seen && vt != LL_TYPE_F32) {
            done_t[n_done] = vt;
            done_off[n_done++] = need;
            need += ll_row_size(vt, K) * (size_t)T;
        }
    }
    if (need > act->cap) {
        void *nb = realloc(act->data, need);
        if (!nb) return ll_err(e, "matmul: out of memory for activations");
        act->data = nb;
        act->cap = need;
    }
    for (int d = 0; d < n_done; d++) {
        q_job qj = {ll_kernel_quantize_act(done_t[d]), x, (uint8_t *)act->data + done_off[d], K, T,
                    ll_row_size(done_t[d], K)};
        if (T > 1) ll_pool_run(pool, quant_worker, &qj);
        else quant_worker(0, 1, &qj);
    }
    for (int i = 0; i < n_w; i++) {
        ll_type vt = ll_type_get(w[i]->type)->vec_dot_type;
        j.dot[i] = ll_kernel_vec_dot(w[i]->type);
        j.dotn[i] = ll_kernel_vec_dot_n(w[i]->type);
        j.tile[i] = j.dotn[i] ? ll_kernel_vec_dot_tile(w[i]->type) : NULL;
        if (vt == LL_TYPE_F32) {
            j.xq[i] = x;
            j.xq_row[i] = (size_t)K * sizeof(float);
            continue;
        }
        for (int d = 0; d < n_done; d++)
            if (done_t[d] == vt) {
                j.xq[i] = (uint8_t *)act->data + done_off[d];
                j.xq_row[i] = ll_row_size(vt, K);
            }
    }
    ll_pool_run(pool, mm_worker, &j);
    return 0;
}
