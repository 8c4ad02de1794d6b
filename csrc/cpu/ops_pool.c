/* The element-wise and per-row ops of a layer spread over the pool when a
 * batch is long: on a prompt whose products run elsewhere (the GPU assist),
 * a single-threaded swiglu over 512 x 18944 values alone took longer than
 * the layer's products. Each thread runs the plain op on its share, so the
 * results are those of the single-threaded op, bit for bit. */
#include "cpu/cpu_ops.h"

/* below this many values one thread is quicker than waking the pool */
#define MT_MIN 65536

typedef struct ew_job {
    float *a;
    const float *b;
    int64_t n;
    bool swiglu; /* else add */
} ew_job;

static void ew_worker(int ith, int nth, void *arg) {
    const ew_job *j = arg;
    int64_t lo, hi;
    ll_split(j->n, ith, nth, &lo, &hi);
    if (hi <= lo) return;
    if (j->swiglu)
        ll_cpu_swiglu(j->a + lo, j->b + lo, hi - lo);
    else
        ll_cpu_add(j->a + lo, j->b + lo, hi - lo);
}

void ll_cpu_swiglu_mt(ll_pool *pool, float *g, const float *u, int64_t n) {
    if (n < MT_MIN) { ll_cpu_swiglu(g, u, n); return; }
    ew_job j = {g, u, n, true};
    ll_pool_run(pool, ew_worker, &j);
}

void ll_cpu_add_mt(ll_pool *pool, float *x, const float *y, int64_t n) {
    if (n < MT_MIN) { ll_cpu_add(x, y, n); return; }
    ew_job j = {x, y, n, false};
    ll_pool_run(pool, ew_worker, &j);
}

typedef struct norm_job {
    const float *x, *g;
    float *y;
    int T, D;
    float eps;
} norm_job;

static void norm_worker(int ith, int nth, void *arg) {
    const norm_job *j = arg;
    int64_t lo, hi;
    ll_split(j->T, ith, nth, &lo, &hi);
    if (hi > lo)
        ll_cpu_rmsnorm(j->x + (size_t)lo * j->D, j->g, j->y + (size_t)lo * j->D, (int)(hi - lo), j->D, j->eps);
}

void ll_cpu_rmsnorm_mt(ll_pool *pool, const float *x, const float *g, float *y, int T, int D, float eps) {
    if ((int64_t)T * D < MT_MIN) { ll_cpu_rmsnorm(x, g, y, T, D, eps); return; }
    norm_job j = {x, g, y, T, D, eps};
    ll_pool_run(pool, norm_worker, &j);
}

typedef struct rope_job {
    float *x;
    int T, n_heads, hd, rope_dim;
    bool neox;
    float base;
    const float *ff;
    const int32_t *pos;
} rope_job;

static void rope_worker(int ith, int nth, void *arg) {
    const rope_job *j = arg;
    int64_t lo, hi;
    ll_split(j->T, ith, nth, &lo, &hi);
    if (hi > lo)
        ll_cpu_rope(j->x + (size_t)lo * j->n_heads * j->hd, (int)(hi - lo), j->n_heads, j->hd, j->rope_dim, j->neox,
                    j->base, j->ff, j->pos + lo);
}

void ll_cpu_rope_mt(ll_pool *pool, float *x, int T, int n_heads, int hd, int rope_dim, bool neox, float base,
                    const float *freq_factors, const int32_t *pos) {
    if ((int64_t)T * n_heads * hd < MT_MIN) {
        ll_cpu_rope(x, T, n_heads, hd, rope_dim, neox, base, freq_factors, pos);
        return;
    }
    rope_job j = {x, T, n_heads, hd, rope_dim, neox, base, freq_factors, pos};
    ll_pool_run(pool, rope_worker, &j);
}
