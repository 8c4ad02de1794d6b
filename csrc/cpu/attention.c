/* Causal attention over the KV cache. One task per (token, kv head): the
 * G = H/Hkv query heads that share a kv head read each visible K/V row once. */
#include "cpu/cpu_ops.h"
#include "cpu/kernels_select.h"

#include <math.h>
#include <string.h>

static void attn_worker(int ith, int nth, void *arg) {
    ll_attn_args *a = arg;
    const int G = a->H / a->Hkv, hd = a->hd;
    const int kv_dim = a->Hkv * hd;
    const ll_kv_layer *kv = a->kv;
    ll_to_float_fn to_f = ll_kernel_to_float(kv->type);
    const size_t head_bytes = ll_row_size(kv->type, hd);
    float *scores = a->scratch + a->scratch_per_thread * (size_t)ith; /* (G, n_cells) */
    float *row = scores + (size_t)G * a->n_cells;                     /* (hd) */
    int32_t *vis = (int32_t *)(row + hd);                              /* (n_cells) */
    const float scale = 1.0f / sqrtf((float)hd);
    int64_t lo, hi;
    ll_split((int64_t)a->T * a->Hkv, ith, nth, &lo, &hi);
    (void)kv_dim;
    for (int64_t task = lo; task < hi; task++) {
        const int t = (int)(task / a->Hkv), kh = (int)(task % a->Hkv);
        const uint64_t bit = 1ull << a->seq[t];
        const int32_t p = a->pos[t];
        int nv = 0;
        for (int c = 0; c < a->n_cells; c++)
            if ((a->cell_seqs[c] & bit) && a->cell_pos[c] >= 0 && a->cell_pos[c] <= p) vis[nv++] = c;
        for (int j = 0; j < nv; j++) {
            const uint8_t *kr = (const uint8_t *)kv->k + (size_t)vis[j] * kv->row_bytes + (size_t)kh * head_bytes;
            to_f(kr, row, hd);
            for (int g = 0; g < G; g++) {
                const float *q = a->q + ((size_t)t * a->H + (size_t)kh * G + g) * hd;
                float s = 0;
                for (int d = 0; d < hd; d++) s += q[d] * row[d];
                scores[(size_t)g * a->n_cells + j] = s * scale;
            }
        }
        for (int g = 0; g < G; g++) {
            float *sc = scores + (size_t)g * a->n_cells;
            float mx = -INFINITY;
            for (int j = 0; j < nv; j++) mx = sc[j] > mx ? sc[j] : mx;
            double sum = 0;
            for (int j = 0; j < nv; j++) { sc[j] = expf(sc[j] - mx); sum += sc[j]; }
            float inv = (float)(1.0 / sum);
            for (int j = 0; j < nv; j++) sc[j] *= inv;
            float *o = a->out + ((size_t)t * a->H + (size_t)kh * G + g) * hd;
            memset(o, 0, sizeof(float) * hd);
        }
        for (int j = 0; j < nv; j++) {
            const uint8_t *vr = (const uint8_t *)kv->v + (size_t)vis[j] * kv->row_bytes + (size_t)kh * head_bytes;
            to_f(vr, row, hd);
            for (int g = 0; g < G; g++) {
                const float w = scores[(size_t)g * a->n_cells + j];
                float *o = a->out + ((size_t)t * a->H + (size_t)kh * G + g) * hd;
                for (int d = 0; d < hd; d++) o[d] += w * row[d];
            }
        }
    }
}

void ll_cpu_attention(ll_pool *pool, ll_attn_args *a) {
    ll_pool_run(pool, attn_worker, a);
}
