/* Scalar reference code of the K formats: super-blocks of 256 weights split
 * into sub-blocks with their own quantized scales (and mins), plus the Q8_K
 * activation format. Dequantization matches ggml bit for bit: the sub-block
 * scale is formed as a float first (d * sc, dmin * m), then d1 * q - m1. */
#include "quants_impl.h"

#include <string.h>

/* ---- dequantization ---- */

/* Q2_K: qs packs four 2-bit values per byte; in each half (128 weights) the
 * 32 bytes are read four times with shifts 0, 2, 4, 6, 16 weights per scale. */
void ll_q2_K_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q2_K *x = vx;
    for (int64_t b = 0; b < n / LL_QK_K; b++) {
        const float d = ll_fp16_to_fp32(x[b].d), dmin = ll_fp16_to_fp32(x[b].dmin);
        const uint8_t *q = x[b].qs;
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int k = 0; k < 2; k++) {
                    const uint8_t sc = x[b].scales[is++];
                    const float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[16 * k + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* Q3_K: 2 low bits as in Q2_K; bit 2 in hmask (set means +4, i.e. q - 0,
 * clear means q - 4); 16 signed 6-bit scales biased by 32. */
void ll_q3_K_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q3_K *x = vx;
    for (int64_t b = 0; b < n / LL_QK_K; b++) {
        const float d = ll_fp16_to_fp32(x[b].d);
        const uint8_t *q = x[b].qs, *hm = x[b].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1)) {
                for (int k = 0; k < 2; k++) {
                    const float dl = d * (float)(ll_q3k_scale(x[b].scales, is++) - 32);
                    for (int l = 0; l < 16; l++) {
                        int v = ((q[16 * k + l] >> shift) & 3) - ((hm[16 * k + l] & m) ? 0 : 4);
                        *y++ = dl * (float)v;
                    }
                }
            }
        }
    }
}

/* Q4_K: four chunks of 64: 32 bytes, low nibbles first then high nibbles. */
void ll_q4_K_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q4_K *x = vx;
    for (int64_t b = 0; b < n / LL_QK_K; b++) {
        const float d = ll_fp16_to_fp32(x[b].d), dmin = ll_fp16_to_fp32(x[b].dmin);
        const uint8_t *q = x[b].qs;
        for (int c = 0; c < 4; c++, q += 32) {
            uint8_t sc, m;
            ll_k4_scale_min(2 * c, x[b].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            ll_k4_scale_min(2 * c + 1, x[b].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/* Q5_K: Q4_K plus a fifth bit: bit 2c (low half) / 2c+1 (high half) of qh[l]. */
void ll_q5_K_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q5_K *x = vx;
    for (int64_t b = 0; b < n / LL_QK_K; b++) {
        const float d = ll_fp16_to_fp32(x[b].d), dmin = ll_fp16_to_fp32(x[b].dmin);
        const uint8_t *q = x[b].qs, *qh = x[b].qh;
        for (int c = 0; c < 4; c++, q += 32) {
            uint8_t sc, m;
            ll_k4_scale_min(2 * c, x[b].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            ll_k4_scale_min(2 * c + 1, x[b].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((q[l] & 0xF) + (((qh[l] >> (2 * c)) & 1) << 4)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)((q[l] >> 4) + (((qh[l] >> (2 * c + 1)) & 1) << 4)) - m2;
        }
    }
}

/* Q6_K: per half of 128: ql[0..63] low nibbles, qh[0..31] 2 high bits each;
 * element l+32k takes nibble (k>>1) of ql[l + 32(k&1)] and bits 2k of qh[l]. */
void ll_q6_K_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q6_K *x = vx;
    for (int64_t b = 0; b < n / LL_QK_K; b++) {
        const float d = ll_fp16_to_fp32(x[b].d);
        const uint8_t *ql = x[b].ql, *qh = x[b].qh;
        const int8_t *sc = x[b].scales;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, y += 128) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

void ll_q8_K_to_float(const void *vx, float *y, int64_t n) {
    const ll_block_q8_K *x = vx;
    for (int64_t b = 0; b < n / LL_QK_K; b++, y += LL_QK_K)
        for (int j = 0; j < LL_QK_K; j++) y[j] = x[b].d * (float)x[b].qs[j];
}

/* ---- reference quantization ---- */

/* Affine fit of n values to levels 0..nmax (w = scale * l - min) minimizing a
 * weighted error: start from the min/max grid, then try nstep slightly wider
 * grids, solving least squares for scale and min on each. Returns the scale,
 * the (positive) min in *the_min, the levels in L. */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L,
                           float *the_min, float rmin, float rdelta, int nstep, bool use_mad) {
    uint8_t Laux[32];
    float lo = x[0], hi = x[0], sum_w = w[0], sum_x = w[0] * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (lo > 0) lo = 0;
    if (hi == lo) {
        memset(L, 0, (size_t)n);
        *the_min = -lo;
        return 0.0f;
    }
    float iscale = (float)nmax / (hi - lo), scale = 1.0f / iscale, best = 0;
    for (int i = 0; i < n; i++) {
        int l = ll_nearest_int(iscale * (x[i] - lo));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * (float)L[i] + lo - x[i];
        best += w[i] * (use_mad ? fabsf(diff) : diff * diff);
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = ll_nearest_int(iscale * (x[i] - lo));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)(l * l);
            sum_xl += w[i] * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D <= 0) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * (float)Laux[i] + this_min - x[i];
            err += w[i] * (use_mad ? fabsf(diff) : diff * diff);
        }
        if (err < best) {
            memcpy(L, Laux, (size_t)n);
            best = err;
            scale = this_scale;
            lo = this_min;
        }
    }
    *the_min = -lo;
    return scale;
}

/* Symmetric fit to levels -nmax..nmax-1 (stored biased by nmax), weighting
 * by x^2; tries 18 grids around the max-abs one. Returns the signed scale. */
static float fit_symmetric(int n, int nmax, const float *x, int8_t *L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }
    if (amax < 1e-15f) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -(float)nmax / max, sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = ll_nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)(l * l);
    }
    float scale = suml2 > 0 ? sumlx / suml2 : 0.0f, best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = ll_nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)(l * l);
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = ll_nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + (l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Symmetric 3-bit fit (levels -4..3) refined by coordinate descent on the
 * x^2-weighted error; levels returned biased by nmax. */
static float fit_q3(int n, int nmax, const float *x, int8_t *L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }
    if (amax == 0) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    const float iscale = -(float)nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = ll_nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)(l * l);
    }
    for (int pass = 0; pass < 5; pass++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)L[i];
            if (slx <= 0) continue;
            float sl2 = suml2 - w * (float)(L[i] * L[i]);
            int nl = ll_nearest_int(x[i] * sl2 / slx);
            nl = nl < -nmax ? -nmax : nl > nmax - 1 ? nmax - 1 : nl;
            if (nl == L[i]) continue;
            slx += w * x[i] * (float)nl;
            sl2 += w * (float)(nl * nl);
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = (int8_t)nl;
                sumlx = slx;
                suml2 = sl2;
                changed++;
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0 ? sumlx / suml2 : 0.0f;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void ll_q2_K_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q2_K *y = vy;
    for (int64_t b = 0; b < n / LL_QK_K; b++, x += LL_QK_K) {
        uint8_t L[LL_QK_K];
        float w[16], scales[16], mins[16], max_scale = 0, max_min = 0;
        for (int j = 0; j < 16; j++) {
            for (int l = 0; l < 16; l++) w[l] = fabsf(x[16 * j + l]);
            scales[j] = fit_scale_min(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        memset(y[b].scales, 0, sizeof y[b].scales);
        y[b].d = y[b].dmin = 0;
        if (max_scale > 0) {
            const float is = 15.0f / max_scale;
            for (int j = 0; j < 16; j++) y[b].scales[j] = (uint8_t)clampi(ll_nearest_int(is * scales[j]), 0, 15);
            y[b].d = ll_fp32_to_fp16(max_scale / 15.0f);
        }
        if (max_min > 0) {
            const float im = 15.0f / max_min;
            for (int j = 0; j < 16; j++) y[b].scales[j] |= (uint8_t)(clampi(ll_nearest_int(im * mins[j]), 0, 15) << 4);
            y[b].dmin = ll_fp32_to_fp16(max_min / 15.0f);
        }
        /* requantize against the scales actually stored */
        for (int j = 0; j < 16; j++) {
            const float d = ll_fp16_to_fp32(y[b].d) * (float)(y[b].scales[j] & 0xF);
            if (d == 0) continue;
            const float dm = ll_fp16_to_fp32(y[b].dmin) * (float)(y[b].scales[j] >> 4);
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (uint8_t)clampi(ll_nearest_int((x[16 * j + l] + dm) / d), 0, 3);
        }
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const uint8_t *p = L + 128 * h + l;
                y[b].qs[32 * h + l] = (uint8_t)(p[0] | p[32] << 2 | p[64] << 4 | p[96] << 6);
            }
    }
}

void ll_q3_K_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q3_K *y = vy;
    for (int64_t b = 0; b < n / LL_QK_K; b++, x += LL_QK_K) {
        int8_t L[LL_QK_K];
        float scales[16], max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = fit_q3(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) { amax = fabsf(scales[j]); max_scale = scales[j]; }
        }
        memset(y[b].scales, 0, sizeof y[b].scales);
        y[b].d = 0;
        if (max_scale != 0) {
            const float is = -32.0f / max_scale;
            for (int j = 0; j < 16; j++) {
                int l = clampi(ll_nearest_int(is * scales[j]), -32, 31) + 32;
                if (j < 8) y[b].scales[j] = (uint8_t)(l & 0xF);
                else y[b].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                y[b].scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[b].d = ll_fp32_to_fp16(1.0f / is);
        }
        for (int j = 0; j < 16; j++) {
            const float d = ll_fp16_to_fp32(y[b].d) * (float)(ll_q3k_scale(y[b].scales, j) - 32);
            if (d == 0) continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clampi(ll_nearest_int(x[16 * j + l] / d), -4, 3) + 4);
        }
        /* bit 2 of element j goes to hmask[j % 32], bit j / 32 */
        memset(y[b].hmask, 0, sizeof y[b].hmask);
        for (int j = 0; j < LL_QK_K; j++) {
            if (L[j] > 3) {
                y[b].hmask[j % 32] |= (uint8_t)(1 << (j / 32));
                L[j] -= 4;
            }
        }
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const int8_t *p = L + 128 * h + l;
                y[b].qs[32 * h + l] = (uint8_t)(p[0] | p[32] << 2 | p[64] << 4 | p[96] << 6);
            }
    }
}

/* Packs 8 six-bit scales and mins the way ll_k4_scale_min reads them. */
static void pack_k4_scales(uint8_t *s, const uint8_t *ls, const uint8_t *lm) {
    memset(s, 0, LL_K_SCALE_SIZE);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (uint8_t)((ls[j] & 0xF) | (lm[j] & 0xF) << 4);
            s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            s[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31): fits 8 sub-blocks of 32,
 * stores d, dmin and scales, returns the final levels in L. */
static void quantize_k4_block(const float *x, int nmax, ll_fp16 *dd, ll_fp16 *dmin, uint8_t *scales,
                              uint8_t *L) {
    float w[32], sc[8], mn[8], max_scale = 0, max_min = 0;
    const bool q4 = nmax == 15;
    for (int j = 0; j < 8; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(x[32 * j + l]);
        sc[j] = fit_scale_min(32, nmax, x + 32 * j, w, L + 32 * j, &mn[j], q4 ? -1.0f : -0.5f, 0.1f,
                              q4 ? 20 : 15, false);
        if (sc[j] > max_scale) max_scale = sc[j];
        if (mn[j] > max_min) max_min = mn[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)clampi(ll_nearest_int(inv_scale * sc[j]), 0, 63);
        lm[j] = (uint8_t)clampi(ll_nearest_int(inv_min * mn[j]), 0, 63);
    }
    pack_k4_scales(scales, ls, lm);
    *dd = ll_fp32_to_fp16(max_scale / 63.0f);
    *dmin = ll_fp32_to_fp16(max_min / 63.0f);
    for (int j = 0; j < 8; j++) {
        uint8_t s, m;
        ll_k4_scale_min(j, scales, &s, &m);
        const float d = ll_fp16_to_fp32(*dd) * (float)s;
        if (d == 0) continue;
        const float dm = ll_fp16_to_fp32(*dmin) * (float)m;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)clampi(ll_nearest_int((x[32 * j + l] + dm) / d), 0, nmax);
    }
}

void ll_q4_K_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q4_K *y = vy;
    for (int64_t b = 0; b < n / LL_QK_K; b++, x += LL_QK_K) {
        uint8_t L[LL_QK_K];
        quantize_k4_block(x, 15, &y[b].d, &y[b].dmin, y[b].scales, L);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
    }
}

void ll_q5_K_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q5_K *y = vy;
    for (int64_t b = 0; b < n / LL_QK_K; b++, x += LL_QK_K) {
        uint8_t L[LL_QK_K];
        quantize_k4_block(x, 31, &y[b].d, &y[b].dmin, y[b].scales, L);
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                y[b].qs[32 * c + l] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
                y[b].qh[l] |= (uint8_t)((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
            }
    }
}

void ll_q6_K_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q6_K *y = vy;
    for (int64_t b = 0; b < n / LL_QK_K; b++, x += LL_QK_K) {
        int8_t L[LL_QK_K];
        float scales[16], max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = fit_symmetric(16, 32, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) { amax = fabsf(scales[j]); max_scale = scales[j]; }
        }
        memset(&y[b], 0, sizeof y[b]);
        if (amax == 0) continue;
        const float is = -128.0f / max_scale;
        y[b].d = ll_fp32_to_fp16(1.0f / is);
        for (int j = 0; j < 16; j++) y[b].scales[j] = (int8_t)clampi(ll_nearest_int(is * scales[j]), -128, 127);
        for (int j = 0; j < 16; j++) {
            const float d = ll_fp16_to_fp32(y[b].d) * (float)y[b].scales[j];
            if (d == 0) continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clampi(ll_nearest_int(x[16 * j + l] / d), -32, 31) + 32);
        }
        for (int h = 0; h < 2; h++) {
            uint8_t *ql = y[b].ql + 64 * h, *qh = y[b].qh + 32 * h;
            const int8_t *p = L + 128 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((p[l] & 0xF) | (p[l + 64] & 0xF) << 4);
                ql[l + 32] = (uint8_t)((p[l + 32] & 0xF) | (p[l + 96] & 0xF) << 4);
                qh[l] = (uint8_t)((p[l] >> 4) | (p[l + 32] >> 4) << 2 | (p[l + 64] >> 4) << 4 | (p[l + 96] >> 4) << 6);
            }
        }
    }
}

/* Q8_K (activations): the largest-magnitude element x_m maps to -127 exactly
 * (iscale = -127 / x_m), q = round-half-even(iscale * x) capped at 127,
 * d = 1 / iscale; bsums are the sums of each 16 q. */
void ll_q8_K_from_float(const float *x, void *vy, int64_t n) {
    ll_block_q8_K *y = vy;
    for (int64_t b = 0; b < n / LL_QK_K; b++, x += LL_QK_K) {
        float amax = 0, max = 0;
        for (int j = 0; j < LL_QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (amax == 0) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < LL_QK_K; j++) {
            int v = ll_nearest_int(iscale * x[j]);
            y[b].qs[j] = (int8_t)(v > 127 ? 127 : v);
        }
        for (int g = 0; g < LL_QK_K / 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += y[b].qs[16 * g + l];
            y[b].bsums[g] = (int16_t)s;
        }
        y[b].d = 1.0f / iscale;
    }
}

/* ---- reference dot products against Q8_K ---- */

void ll_vec_dot_q2_K_ref(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q2_K *x = vx;
    const ll_block_q8_K *y = vy;
    float sum = 0;
    for (int b = 0; b < n / LL_QK_K; b++) {
        int sumi = 0, summ = 0;
        for (int g = 0; g < 16; g++) {
            const uint8_t *q = x[b].qs + 32 * (g / 8) + 16 * (g % 2);
            const int shift = 2 * ((g % 8) / 2);
            const int8_t *a = y[b].qs + 16 * g;
            int si = 0;
            for (int l = 0; l < 16; l++) si += ((q[l] >> shift) & 3) * a[l];
            sumi += (x[b].scales[g] & 0xF) * si;
            summ += (x[b].scales[g] >> 4) * y[b].bsums[g];
        }
        const float d = y[b].d * ll_fp16_to_fp32(x[b].d), dmin = y[b].d * ll_fp16_to_fp32(x[b].dmin);
        sum += d * (float)sumi - dmin * (float)summ;
    }
    *s = sum;
}

void ll_vec_dot_q3_K_ref(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q3_K *x = vx;
    const ll_block_q8_K *y = vy;
    float sum = 0;
    for (int b = 0; b < n / LL_QK_K; b++) {
        int sumi = 0;
        for (int g = 0; g < 16; g++) {
            const int off = 32 * (g / 8) + 16 * (g % 2), shift = 2 * ((g % 8) / 2);
            const uint8_t m = (uint8_t)(1 << ((g % 8) / 2 + 4 * (g / 8)));
            const int8_t *a = y[b].qs + 16 * g;
            int si = 0;
            for (int l = 0; l < 16; l++) {
                int v = ((x[b].qs[off + l] >> shift) & 3) - ((x[b].hmask[16 * (g % 2) + l] & m) ? 0 : 4);
                si += v * a[l];
            }
            sumi += (ll_q3k_scale(x[b].scales, g) - 32) * si;
        }
        sum += y[b].d * ll_fp16_to_fp32(x[b].d) * (float)sumi;
    }
    *s = sum;
}

static void vec_dot_k4(int n, float *s, const void *vx, const void *vy, bool five) {
    const uint8_t *xb = vx;
    const ll_block_q8_K *y = vy;
    const size_t bs = five ? sizeof(ll_block_q5_K) : sizeof(ll_block_q4_K);
    float sum = 0;
    for (int b = 0; b < n / LL_QK_K; b++, xb += bs) {
        const ll_block_q4_K *x4 = (const ll_block_q4_K *)xb;
        const ll_block_q5_K *x5 = (const ll_block_q5_K *)xb;
        const uint8_t *scales = five ? x5->scales : x4->scales, *qs = five ? x5->qs : x4->qs;
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            ll_k4_scale_min(j, scales, &sc, &m);
            const uint8_t *q = qs + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            const int8_t *a = y[b].qs + 32 * j;
            int si = 0;
            for (int l = 0; l < 32; l++) {
                int v = (q[l] >> shift) & 0xF;
                if (five) v |= ((x5->qh[l] >> j) & 1) << 4;
                si += v * a[l];
            }
            sumi += sc * si;
            summ += m * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
        }
        const ll_fp16 hd = five ? x5->d : x4->d, hm = five ? x5->dmin : x4->dmin;
        const float d = y[b].d * ll_fp16_to_fp32(hd), dmin = y[b].d * ll_fp16_to_fp32(hm);
        sum += d * (float)sumi - dmin * (float)summ;
    }
    *s = sum;
}

void ll_vec_dot_q4_K_ref(int n, float *s, const void *x, const void *y) { vec_dot_k4(n, s, x, y, false); }
void ll_vec_dot_q5_K_ref(int n, float *s, const void *x, const void *y) { vec_dot_k4(n, s, x, y, true); }

void ll_vec_dot_q6_K_ref(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q6_K *x = vx;
    const ll_block_q8_K *y = vy;
    float sum = 0;
    for (int b = 0; b < n / LL_QK_K; b++) {
        int sumi = 0;
        for (int g = 0; g < 16; g++) {
            /* group g: half h, quarter k (elements 32k..32k+31 of the half) */
            const int h = g / 8, k = (g % 8) / 2, l0 = 16 * (g % 2);
            const uint8_t *ql = x[b].ql + 64 * h + 32 * (k & 1), *qh = x[b].qh + 32 * h;
            const int8_t *a = y[b].qs + 16 * g;
            int si = 0;
            for (int l = l0; l < l0 + 16; l++) {
                int v = ((ql[l] >> (4 * (k >> 1))) & 0xF) | (((qh[l] >> (2 * k)) & 3) << 4);
                si += (v - 32) * a[l - l0];
            }
            sumi += x[b].scales[g] * si;
        }
        sum += y[b].d * ll_fp16_to_fp32(x[b].d) * (float)sumi;
    }
    *s = sum;
}
