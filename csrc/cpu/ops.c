#include "cpu/cpu_ops.h"

#include <math.h>
#include <string.h>

void ll_cpu_rmsnorm(const float *x, const float *g, float *y, int T, int D, float eps) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * D;
        float *yr = y + (size_t)t * D;
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)xr[i] * xr[i];
        float scale = (float)(1.0 / sqrt(ss / D + eps));
        for (int i = 0; i < D; i++) yr[i] = xr[i] * scale * g[i];
    }
}

void ll_cpu_rope(float *x, int T, int n_heads, int hd, int rope_dim, bool neox, float base,
                 const float *freq_factors, const int32_t *pos) {
    const int half = rope_dim / 2;
    float cs[256], sn[256]; /* half <= 256: head_dim is at most 512 */
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < half; i++) {
            double inv = pow((double)base, -2.0 * i / rope_dim);
            if (freq_factors) inv /= freq_factors[i];
            double a = (double)pos[t] * inv;
            cs[i] = (float)cos(a);
            sn[i] = (float)sin(a);
        }
        for (int h = 0; h < n_heads; h++) {
            float *v = x + ((size_t)t * n_heads + h) * hd;
            for (int i = 0; i < half; i++) {
                int i0 = neox ? i : 2 * i;
                int i1 = neox ? i + half : 2 * i + 1;
                float a = v[i0], b = v[i1];
                v[i0] = a * cs[i] - b * sn[i];
                v[i1] = a * sn[i] + b * cs[i];
            }
        }
    }
}

void ll_cpu_swiglu(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void ll_cpu_add(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

void ll_cpu_kv_store(ll_type type, size_t row_bytes, void *base, int cell, const float *row, int kv_dim) {
    void *dst = (uint8_t *)base + (size_t)cell * row_bytes;
    ll_type_get(type)->from_float(row, dst, kv_dim);
}
