/* Random tensors generated straight in their storage format (see synth.h).
 * Quantized rows are random bits with the per-block fp16 scale (and min)
 * fields overwritten by one constant per tensor, calibrated once by
 * dequantizing sample blocks so that the values have the requested spread;
 * float rows are sums of four uniforms (close to normal). Every row has its
 * own PRNG stream seeded from (seed, tensor name, row), so the bytes do not
 * depend on the number of threads or on the chunking of the writer. */
#include "synth.h"

#include "rng.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
#define CAL_BLOCKS 64

typedef struct gen {
    ll_type type;
    int64_t ne0;
    size_t row_bytes, type_size;
    int blck;
    float mean, std;
    uint64_t seed;
    int n_threads;
    float *values;          /* owned, or NULL */
    int d_off, m_off;       /* fp16 fields in a block; -1 when absent */
    ll_fp16 d, m;
} gen;

/* Where the fp16 scale and min sit in a block, and the min as a multiple of
 * the scale that centres random quants on zero (the mean of the quant times
 * the mean of the sub-block scale, or the quant midpoint). */
static int block_fields(ll_type t, int *d, int *m, float *m_ratio) {
    *d = *m = -1;
    *m_ratio = 0;
    switch (t) {
    case LL_TYPE_Q4_0: *d = offsetof(ll_block_q4_0, d); break;
    case LL_TYPE_Q5_0: *d = offsetof(ll_block_q5_0, d); break;
    case LL_TYPE_Q8_0: *d = offsetof(ll_block_q8_0, d); break;
    case LL_TYPE_Q4_1: *d = offsetof(ll_block_q4_1, d); *m = offsetof(ll_block_q4_1, m); *m_ratio = -7.5f; break;
    case LL_TYPE_Q5_1: *d = offsetof(ll_block_q5_1, d); *m = offsetof(ll_block_q5_1, m); *m_ratio = -15.5f; break;
    case LL_TYPE_Q2_K: *d = offsetof(ll_block_q2_K, d); *m = offsetof(ll_block_q2_K, dmin); *m_ratio = 1.5f; break;
    case LL_TYPE_Q3_K: *d = offsetof(ll_block_q3_K, d); break;
    case LL_TYPE_Q4_K: *d = offsetof(ll_block_q4_K, d); *m = offsetof(ll_block_q4_K, dmin); *m_ratio = 7.5f; break;
    case LL_TYPE_Q5_K: *d = offsetof(ll_block_q5_K, d); *m = offsetof(ll_block_q5_K, dmin); *m_ratio = 15.5f; break;
    case LL_TYPE_Q6_K: *d = offsetof(ll_block_q6_K, d); break;
    default: return -1;
    }
    return 0;
}

static void random_bytes(ll_rng *r, uint8_t *p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x = ll_rng_next(r);
        memcpy(p + i, &x, 8);
    }
    if (i < n) {
        uint64_t x = ll_rng_next(r);
        memcpy(p + i, &x, n - i);
    }
}

static void put_scales(const gen *g, uint8_t *row, int64_t nblocks) {
    for (int64_t b = 0; b < nblocks; b++) {
        uint8_t *blk = row + (size_t)b * g->type_size;
        memcpy(blk + g->d_off, &g->d, 2);
        if (g->m_off >= 0) memcpy(blk + g->m_off, &g->m, 2);
    }
}

/* Close to N(0, 1): a sum of four 16-bit uniforms from one draw. */
static inline float normalish(ll_rng *r) {
    const uint64_t x = ll_rng_next(r);
    const float s = (float)((x & 0xFFFF) + ((x >> 16) & 0xFFFF) + ((x >> 32) & 0xFFFF) + (x >> 48));
    return (s - 131070.0f) * (1.0f / 37837.2f); /* mean 4 * 32767.5, sd 65536 / sqrt(3) */
}

static void gen_row(const gen *g, int64_t row, uint8_t *dst) {
    if (g->values) {
        memcpy(dst, g->values + row * g->ne0, g->row_bytes);
        return;
    }
    ll_rng r;
    ll_rng_seed(&r, g->seed + (uint64_t)row * 0x9E3779B97F4A7C15ULL);
    if (g->d_off >= 0) {
        random_bytes(&r, dst, g->row_bytes);
        put_scales(g, dst, g->ne0 / g->blck);
        return;
    }
    for (int64_t i = 0; i < g->ne0; i++) {
        const float v = g->mean + g->std * normalish(&r);
        if (g->type == LL_TYPE_F32) memcpy(dst + 4 * i, &v, 4);
        else {
            const uint16_t h = g->type == LL_TYPE_F16 ? ll_fp32_to_fp16(v) : ll_fp32_to_bf16(v);
            memcpy(dst + 2 * i, &h, 2);
        }
    }
}

typedef struct job {
    const gen *g;
    int64_t row0, row1;
    uint8_t *dst; /* row row0 */
} job;

static void *run_job(void *arg) {
    const job *j = arg;
    for (int64_t r = j->row0; r < j->row1; r++)
        gen_row(j->g, r, j->dst + (size_t)(r - j->row0) * j->g->row_bytes);
    return NULL;
}

static int fill(void *ud, int64_t row0, int64_t nrows, void *dst, ll_error *e) {
    (void)e;
    const gen *g = ud;
    int nt = g->n_threads;
    if (nt > nrows) nt = (int)nrows;
    if (nt < 1) nt = 1;
    job jobs[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    for (int t = 0; t < nt; t++) {
        const int64_t a = row0 + nrows * t / nt, b = row0 + nrows * (t + 1) / nt;
        jobs[t] = (job){g, a, b, (uint8_t *)dst + (size_t)(a - row0) * g->row_bytes};
    }
    for (int t = 1; t < nt; t++) started[t] = pthread_create(&th[t], NULL, run_job, &jobs[t]) == 0;
    run_job(&jobs[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else run_job(&jobs[t]); /* no thread: do its share here */
    }
    return 0;
}

static void free_gen(void *ud) {
    gen *g = ud;
    if (g) free(g->values);
    free(g);
}

/* Sets g->d and g->m so that dequantized values have spread g->std:
 * dequantizes sample blocks made with scale 1 and scales by the ratio. */
static int calibrate(gen *g, float m_ratio, ll_error *e) {
    const ll_type_traits *tr = ll_type_get(g->type);
    if (!tr->to_float) return ll_err(e, "synth: type %s cannot be read back", tr->name);
    uint8_t *blocks = malloc(CAL_BLOCKS * g->type_size);
    float *f = malloc(sizeof(float) * CAL_BLOCKS * (size_t)g->blck);
    if (!blocks || !f) {
        free(blocks);
        free(f);
        return ll_err(e, "synth: out of memory");
    }
    g->d = ll_fp32_to_fp16(1.0f);
    g->m = ll_fp32_to_fp16(m_ratio);
    ll_rng r;
    ll_rng_seed(&r, 0x5EED);
    random_bytes(&r, blocks, CAL_BLOCKS * g->type_size);
    put_scales(g, blocks, CAL_BLOCKS);
    const int64_t n = (int64_t)CAL_BLOCKS * g->blck;
    tr->to_float(blocks, f, n);
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) s += f[i];
    const double mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) ss += (f[i] - mean) * (f[i] - mean);
    const double sd = sqrt(ss / (double)n);
    free(blocks);
    free(f);
    if (!(sd > 0)) return ll_err(e, "synth: calibration of %s failed", tr->name);
    const float k = (float)(g->std / sd);
    g->d = ll_fp32_to_fp16(k);
    g->m = ll_fp32_to_fp16(k * m_ratio);
    return 0;
}

static uint64_t name_hash(const char *s) { /* FNV-1a */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

int ll_synth_add_tensor(gguf_writer *w, const char *name, int n_dims, const int64_t *ne,
                        const ll_synth_params *p, ll_error *e) {
    const ll_type_traits *tr = ll_type_get((int)p->type);
    if (!tr || !tr->blck_size || !tr->type_size)
        return ll_err(e, "synth: tensor '%s' has unknown type %d", name, (int)p->type);
    if (p->values && p->type != LL_TYPE_F32)
        return ll_err(e, "synth: tensor '%s': exact values need type F32", name);
    if (!(p->std >= 0) || !isfinite(p->mean) || !isfinite(p->std))
        return ll_err(e, "synth: tensor '%s': mean and std must be finite, std >= 0", name);
    if (gguf_writer_sparse(w) && !p->values)
        return gguf_writer_add_tensor(w, name, p->type, n_dims, ne, NULL, e);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS) /* the writer checks the rest */
        return ll_err(e, "synth: tensor '%s' has %d dimensions", name, n_dims);

    gen *g = calloc(1, sizeof *g);
    if (!g) return ll_err(e, "synth: out of memory");
    *g = (gen){.type = p->type, .ne0 = ne[0], .type_size = tr->type_size, .blck = tr->blck_size,
               .mean = p->mean, .std = p->std, .n_threads = p->n_threads, .d_off = -1, .m_off = -1};
    if (g->n_threads > MAX_THREADS) g->n_threads = MAX_THREADS;
    g->row_bytes = ll_row_size(p->type, ne[0]);
    ll_rng sr;
    ll_rng_seed(&sr, p->seed ^ name_hash(name));
    g->seed = ll_rng_next(&sr);
    int rc = 0;
    if (p->values) {
        uint64_t n = 1;
        for (int d = 0; d < n_dims; d++) n *= (uint64_t)(ne[d] > 0 ? ne[d] : 1);
        g->values = malloc(sizeof(float) * n);
        if (!g->values) rc = ll_err(e, "synth: out of memory");
        else memcpy(g->values, p->values, sizeof(float) * n);
    } else if (tr->is_quantized) {
        float m_ratio;
        if (block_fields(p->type, &g->d_off, &g->m_off, &m_ratio))
            rc = ll_err(e, "synth: type %s is not supported", tr->name);
        else
            rc = calibrate(g, m_ratio, e);
    } else if (p->type != LL_TYPE_F32 && p->type != LL_TYPE_F16 && p->type != LL_TYPE_BF16) {
        rc = ll_err(e, "synth: type %s is not supported", tr->name);
    }
    if (rc) {
        free_gen(g);
        return -1;
    }
    return gguf_writer_add_tensor_fill(w, name, p->type, n_dims, ne, fill, g, free_gen, e);
}
