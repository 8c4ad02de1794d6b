/* Causal attention over the KV cache. One task per (token, kv head): the
 * G = H/Hkv query heads that share a kv head read each visible K/V row once. */
#include "cpu/cpu_ops.h"
#include "cpu/kernels_select.h"

#include <math.h>
#include <string.h>

/* Tokens per task: a chunk of consecutive tokens of one sequence converts
 * the K/V rows it can see once and reuses them for every token. */
#define CHUNK 16

#ifdef LL_HAVE_OPENBLAS
#include <cblas.h>
#endif

/* C (M, N) = A (M, K) . B^T (N, K) when bt, else A (M, K) . B (K, N). */
static void gemm(bool bt, int M, int N, int K, const float *A, const float *B, float *C) {
#ifdef LL_HAVE_OPENBLAS
    cblas_sgemm(CblasRowMajor, CblasNoTrans, bt ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, K, B,
                bt ? K : N, 0.0f, C, N);
#else
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < K; k++) s += A[(size_t)i * K + k] * (bt ? B[(size_t)j * K + k] : B[(size_t)k * N + j]);
            C[(size_t)i * N + j] = s;
        }
#endif
}

static void attn_chunk(const ll_attn_args *a, int t0, int t1, int kh, float *scr) {
    const int G = a->H / a->Hkv, hd = a->hd, nt = t1 - t0, M = nt * G;
    const ll_kv_layer *kv = a->kv;
    ll_to_float_fn to_f = ll_kernel_to_float(kv->type);
    const size_t head_bytes = ll_row_size(kv->type, hd);
    const uint64_t bit = 1ull << a->seq[t0];
    int32_t pmax = a->pos[t0];
    for (int t = t0; t < t1; t++) pmax = a->pos[t] > pmax ? a->pos[t] : pmax;
    /* scratch: Kf, Vf (n_cells, hd); positions (n_cells); Q, O (CHUNK*G, hd); S (CHUNK*G, n_cells) */
    float *Kf = scr, *Vf = Kf + (size_t)a->n_cells * hd;
    int32_t *vpos = (int32_t *)(Vf + (size_t)a->n_cells * hd);
    float *Q = (float *)(vpos + a->n_cells), *O = Q + (size_t)CHUNK * G * hd, *S = O + (size_t)CHUNK * G * hd;
    int nv = 0;
    for (int c = 0; c < a->n_cells; c++) {
        if (!(a->cell_seqs[c] & bit) || a->cell_pos[c] < 0 || a->cell_pos[c] > pmax) continue;
        const size_t off = (size_t)c * kv->row_bytes + (size_t)kh * head_bytes;
        to_f((const uint8_t *)kv->k + off, Kf + (size_t)nv * hd, hd);
        to_f((const uint8_t *)kv->v + off, Vf + (size_t)nv * hd, hd);
        vpos[nv++] = a->cell_pos[c];
    }
    const float scale = 1.0f / sqrtf((float)hd);
    for (int t = t0; t < t1; t++)
        memcpy(Q + (size_t)(t - t0) * G * hd, a->q + ((size_t)t * a->H + (size_t)kh * G) * hd, sizeof(float) * G * hd);
    gemm(true, M, nv, hd, Q, Kf, S); /* S (M, nv) = Q . Kf^T */
    for (int r = 0; r < M; r++) {
        const int32_t p = a->pos[t0 + r / G];
        float *sr = S + (size_t)r * nv;
        float mx = -INFINITY;
        for (int j = 0; j < nv; j++)
            if (vpos[j] <= p && sr[j] > mx) mx = sr[j];
        double sum = 0;
        for (int j = 0; j < nv; j++) {
            sr[j] = vpos[j] <= p ? expf((sr[j] - mx) * scale) : 0.0f;
            sum += sr[j];
        }
        const float inv = (float)(1.0 / sum);
        for (int j = 0; j < nv; j++) sr[j] *= inv;
    }
    gemm(false, M, hd, nv, S, Vf, O); /* O (M, hd) = P . Vf */
    for (int t = t0; t < t1; t++)
        memcpy(a->out + ((size_t)t * a->H + (size_t)kh * G) * hd, O + (size_t)(t - t0) * G * hd, sizeof(float) * G * hd);
}

static void attn_worker(int ith, int nth, void *arg) {
    const ll_attn_args *a = arg;
    float *scr = a->scratch + a->scratch_per_thread * (size_t)ith;
    /* tasks: (chunk, kv head); a chunk never spans two sequences */
    int64_t n_tasks = 0;
    for (int t = 0; t < a->T;) {
        int e = t + 1;
        while (e < a->T && e - t < CHUNK && a->seq[e] == a->seq[t]) e++;
        n_tasks += a->Hkv;
        t = e;
    }
    int64_t lo, hi, g = 0;
    ll_split(n_tasks, ith, nth, &lo, &hi);
    for (int t = 0; t < a->T;) {
        int e = t + 1;
        while (e < a->T && e - t < CHUNK && a->seq[e] == a->seq[t]) e++;
        for (int kh = 0; kh < a->Hkv; kh++, g++)
            if (g >= lo && g < hi) attn_chunk(a, t, e, kh, scr);
        t = e;
    }
}

void ll_cpu_attention(ll_pool *pool, ll_attn_args *a) {
    ll_pool_run(pool, attn_worker, a);
}
