/* AVX2 + FMA + F16C kernels: the 256-bit implementations of simd_x86_256.h
 * under their exported names. Compiled with -mavx2 -mfma -mf16c. */
#include "cpu/kernels_isa.h"
#include "cpu/simd_x86_256.h"

#define DOT(t) \
    void ll_vec_dot_##t##_avx2(int n, float *s, const void *x, const void *y) { ll_dot_##t##_256(n, s, x, y); }

DOT(f32)
DOT(f16)
DOT(bf16)
DOT(q4_0)
DOT(q4_1)
DOT(q5_0)
DOT(q5_1)
DOT(q8_0)
DOT(q2_K)
DOT(q3_K)
DOT(q4_K)
DOT(q5_K)
DOT(q6_K)

void ll_quantize_q8_0_avx2(const float *x, void *y, int64_t n) { ll_quantize_q8_0_256(x, y, n); }
void ll_quantize_q8_1_avx2(const float *x, void *y, int64_t n) { ll_quantize_q8_1_256(x, y, n); }
void ll_quantize_q8_K_avx2(const float *x, void *y, int64_t n) { ll_quantize_q8_K_256(x, y, n); }
void ll_f16_to_float_avx2(const void *x, float *y, int64_t n) { ll_f16_to_float_256(x, y, n); }

/* ---- one weight row x up to 4 activation rows per pass (vec_dot_n) ----
 * Per activation the accumulators and order of the 256-bit row kernels, so
 * results are bit-identical to them; the weights are loaded once per pass. */

LL_INLINE void dotn_float_256(int n, float *s, size_t ss, const void *vx, const uint8_t *y, size_t ys,
                              const int M, const bool half) {
    __m256 a[4][4];
    LL_UNROLL
    for (int t = 0; t < M; t++) a[t][0] = a[t][1] = a[t][2] = a[t][3] = _mm256_setzero_ps();
#define W(off) (half ? ll_load_f16x8((const ll_fp16 *)vx + (off)) : _mm256_loadu_ps((const float *)vx + (off)))
#define YT(t) ((const float *)(y + (size_t)(t) * ys))
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256 w0 = W(i), w1 = W(i + 8), w2 = W(i + 16), w3 = W(i + 24);
        LL_UNROLL
        for (int t = 0; t < M; t++) {
            a[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(YT(t) + i), a[t][0]);
            a[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(YT(t) + i + 8), a[t][1]);
            a[t][2] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(YT(t) + i + 16), a[t][2]);
            a[t][3] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(YT(t) + i + 24), a[t][3]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 w0 = W(i);
        LL_UNROLL
        for (int t = 0; t < M; t++) a[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(YT(t) + i), a[t][0]);
    }
    LL_UNROLL
    for (int t = 0; t < M; t++) {
        float sum = ll_hsum_ps256(_mm256_add_ps(_mm256_add_ps(a[t][0], a[t][1]), _mm256_add_ps(a[t][2], a[t][3])));
        for (int j = i; j < n; j++)
            sum += (half ? ll_h2f(((const ll_fp16 *)vx)[j]) : ((const float *)vx)[j]) * YT(t)[j];
        s[(size_t)t * ss] = sum;
    }
#undef W
#undef YT
}

void ll_vec_dot_n_f32_avx2(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
#define CALL(M) dotn_float_256(n, s + (size_t)t0 * ss, ss, x, (const uint8_t *)y + (size_t)t0 * ys, ys, M, false)
    LL_FOR_TILES(nt, CALL)
#undef CALL
}

void ll_vec_dot_n_f16_avx2(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
#define CALL(M) dotn_float_256(n, s + (size_t)t0 * ss, ss, x, (const uint8_t *)y + (size_t)t0 * ys, ys, M, true)
    LL_FOR_TILES(nt, CALL)
#undef CALL
}

LL_INLINE void dotn_q8_0_256(int n, float *s, size_t ss, const ll_block_q8_0 *x, const uint8_t *y, size_t ys,
                             const int M) {
    __m256 acc[4];
    LL_UNROLL
    for (int t = 0; t < M; t++) acc[t] = _mm256_setzero_ps();
    for (int b = 0; b < n / LL_QK8_0; b++) {
        const __m256i qx = _mm256_loadu_si256((const __m256i *)x[b].qs);
        const __m256i ax = _mm256_sign_epi8(qx, qx);
        const float dx = ll_h2f(x[b].d);
        LL_UNROLL
        for (int t = 0; t < M; t++) {
            const ll_block_q8_0 *yt = (const ll_block_q8_0 *)(y + (size_t)t * ys);
            const __m256i qy = _mm256_loadu_si256((const __m256i *)yt[b].qs);
            const __m256 d = _mm256_set1_ps(dx * ll_h2f(yt[b].d));
            acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(ll_dot_u8i8_256(ax, _mm256_sign_epi8(qy, qx))), acc[t]);
        }
    }
    LL_UNROLL
    for (int t = 0; t < M; t++) s[(size_t)t * ss] = ll_hsum_ps256(acc[t]);
}

void ll_vec_dot_n_q8_0_avx2(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
#define CALL(M) dotn_q8_0_256(n, s + (size_t)t0 * ss, ss, x, (const uint8_t *)y + (size_t)t0 * ys, ys, M)
    LL_FOR_TILES(nt, CALL)
#undef CALL
}
