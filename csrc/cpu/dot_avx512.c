/* AVX-512 (F/BW/VL/DQ/VNNI) kernels. The hot paths (float rows, Q8_0, Q4_0,
 * Q5_0, Q4_K, Q5_K, Q6_K) have 512-bit versions: the 32-element formats take
 * two blocks per step, the K formats 64 weights per step, integer products
 * through VNNI (vpdpbusd: u8 x s8 -> int32, vpdpwssd: int16 pairs -> int32).
 * The rest reuse the 256-bit code of simd_x86_256.h compiled with AVX-512. */
#include "cpu/kernels_isa.h"
#include "cpu/simd_x86_256.h"

#define DOT256(t) \
    void ll_vec_dot_##t##_avx512(int n, float *s, const void *x, const void *y) { ll_dot_##t##_256(n, s, x, y); }

DOT256(q4_1)
DOT256(q5_1)
DOT256(q2_K)
DOT256(q3_K)

void ll_quantize_q8_0_avx512(const float *x, void *y, int64_t n) { ll_quantize_q8_0_256(x, y, n); }
void ll_quantize_q8_1_avx512(const float *x, void *y, int64_t n) { ll_quantize_q8_1_256(x, y, n); }
void ll_quantize_q8_K_avx512(const float *x, void *y, int64_t n) { ll_quantize_q8_K_256(x, y, n); }

/* ---- float rows: 64 per step in 4 accumulators, masked tail ---- */

static inline __mmask16 tail_mask(int left) { return (__mmask16)((1u << left) - 1); }

static inline __m512 load_f16x16(const ll_fp16 *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static inline __m512 load_bf16x16(__m256i raw) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}

void ll_vec_dot_bf16_avx512(int n, float *s, const void *vx, const void *vy) {
    const ll_bf16 *x = vx;
    const float *y = vy;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_fmadd_ps(load_bf16x16(_mm256_loadu_si256((const __m256i *)(x + i))), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(load_bf16x16(_mm256_loadu_si256((const __m256i *)(x + i + 16))),
                             _mm512_loadu_ps(y + i + 16), a1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        a0 = _mm512_fmadd_ps(load_bf16x16(_mm256_maskz_loadu_epi16(m, x + i)), _mm512_maskz_loadu_ps(m, y + i), a0);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

void ll_f16_to_float_avx512(const void *vx, float *y, int64_t n) {
    const ll_fp16 *x = vx;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, load_f16x16(x + i));
    if (i < n) {
        const __mmask16 m = tail_mask((int)(n - i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
    }
}

/* ---- 32-element blocks, two per step ---- */

static inline __m512i load_2x32(const void *a, const void *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

/* s8 x s8 (y in [-127, 127]) -> 16 int32: |x| times y with x's sign. */
static inline __m512i dot_i8_512(__m512i x, __m512i y) {
    const __m512i sy = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), _mm512_setzero_si512(), y);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), sy);
}

/* Nibbles of two blocks -> [a lo, a hi, b lo, b hi] (16 bytes each), i.e.
 * elements 0..31 of block a then of block b. */
static inline __m512i unpack_nibbles_2(const uint8_t *qa, const uint8_t *qb) {
    const __m256i t = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)qb), _mm_loadu_si128((const __m128i *)qa));
    const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(t), _mm256_srli_epi16(t, 4), 1);
    return _mm512_and_si512(_mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(0x0F));
}

/* Σ (u - off) * y per 4 bytes, with u unsigned: dpbusd(u, y) - dpbusd(off, y). */
static inline __m512i dot_offset_512(__m512i u, __m512i y, char off) {
    const __m512i z = _mm512_setzero_si512();
    return _mm512_sub_epi32(_mm512_dpbusd_epi32(z, u, y), _mm512_dpbusd_epi32(z, _mm512_set1_epi8(off), y));
}

/* Scale products dx_i * dy_i of four blocks, converted together; returned
 * spread for two 2-block steps: lanes 0..7 = block 0 (2), 8..15 = block 1 (3). */
static inline void scales_4(const ll_fp16 *dx, const ll_fp16 *dy, __m512 *d01, __m512 *d23) {
    const __m256 f = _mm256_cvtph_ps(_mm_setr_epi16((short)dx[0], (short)dx[1], (short)dx[2], (short)dx[3],
                                                    (short)dy[0], (short)dy[1], (short)dy[2], (short)dy[3]));
    const __m512 p = _mm512_castps128_ps512(_mm_mul_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1)));
    const __m512i i01 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(1), 1);
    const __m512i i23 = _mm512_inserti64x4(_mm512_set1_epi32(2), _mm256_set1_epi32(3), 1);
    *d01 = _mm512_permutexvar_ps(i01, p);
    *d23 = _mm512_permutexvar_ps(i23, p);
}

/* The 32-element formats x Q8_0, four blocks per step: int_dot(b) gives the
 * 16 int32 partial sums of blocks b, b+1; the rest (< 4 blocks) goes to the
 * 256-bit kernel. */
#define DOT_32x4(name, xtype, int_dot, tail)                                          \
    void name(int n, float *s, const void *vx, const void *vy) {                        \
        const xtype *x = vx;                                                            \
        const ll_block_q8_0 *y = vy;                                                    \
        const int nb = n / LL_QK8_0;                                                    \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;                                 \
        int b = 0;                                                                      \
        for (; b + 4 <= nb; b += 4) {                                                   \
            const ll_fp16 dx[4] = {x[b].d, x[b + 1].d, x[b + 2].d, x[b + 3].d};         \
            const ll_fp16 dy[4] = {y[b].d, y[b + 1].d, y[b + 2].d, y[b + 3].d};         \
            __m512 d01, d23;                                                            \
            scales_4(dx, dy, &d01, &d23);                                               \
            acc0 = _mm512_fmadd_ps(d01, _mm512_cvtepi32_ps(int_dot(x, y, b)), acc0);    \
            acc1 = _mm512_fmadd_ps(d23, _mm512_cvtepi32_ps(int_dot(x, y, b + 2)), acc1); \
        }                                                                               \
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));                    \
        if (b < nb) {                                                                   \
            float t;                                                                    \
            tail((nb - b) * LL_QK8_0, &t, &x[b], &y[b]);                                \
            sum += t;                                                                   \
        }                                                                               \
        *s = sum;                                                                       \
    }

static inline __m512i int_dot_q8_0(const ll_block_q8_0 *x, const ll_block_q8_0 *y, int b) {
    return dot_i8_512(load_2x32(x[b].qs, x[b + 1].qs), load_2x32(y[b].qs, y[b + 1].qs));
}

static inline __m512i int_dot_q4_0(const ll_block_q4_0 *x, const ll_block_q8_0 *y, int b) {
    const __m512i u = unpack_nibbles_2(x[b].qs, x[b + 1].qs);
    return dot_offset_512(u, load_2x32(y[b].qs, y[b + 1].qs), 8);
}

static inline __m512i int_dot_q5_0(const ll_block_q5_0 *x, const ll_block_q8_0 *y, int b) {
    uint32_t h0, h1;
    memcpy(&h0, x[b].qh, 4);
    memcpy(&h1, x[b + 1].qh, 4);
    const __mmask64 hb = (__mmask64)h0 | (__mmask64)h1 << 32; /* bit j: fifth bit of element j */
    const __m512i u0 = unpack_nibbles_2(x[b].qs, x[b + 1].qs);
    const __m512i u = _mm512_mask_blend_epi8(hb, u0, _mm512_or_si512(u0, _mm512_set1_epi8(0x10)));
    return dot_offset_512(u, load_2x32(y[b].qs, y[b + 1].qs), 16);
}

DOT_32x4(ll_vec_dot_q8_0_avx512, ll_block_q8_0, int_dot_q8_0, ll_dot_q8_0_256)
DOT_32x4(ll_vec_dot_q4_0_avx512, ll_block_q4_0, int_dot_q4_0, ll_dot_q4_0_256)
DOT_32x4(ll_vec_dot_q5_0_avx512, ll_block_q5_0, int_dot_q5_0, ll_dot_q5_0_256)

/* ---- K formats: 64 weights per step ---- */

/* int16 vector whose lanes 16c..16c+15 hold v[i0 + c] (c = 0, 1), from 8
 * int16 in v. */
static inline __m512i bcast2_epi16(__m128i v, int i0) {
    const __m512i idx = _mm512_inserti64x4(_mm512_set1_epi16((short)i0), _mm256_set1_epi16((short)(i0 + 1)), 1);
    return _mm512_permutexvar_epi16(idx, _mm512_castsi128_si512(v));
}

/* ---- one weight row x up to 4 activation rows per pass (vec_dot_n) ----
 * Float rows, Q4_K, Q5_K and Q6_K: one body serves both vec_dot (M = 1, at
 * the end of the file) and vec_dot_n, so each activation's result is
 * bit-identical to vec_dot's; Q8_0 follows DOT_32x4's order. The row is
 * loaded (and converted) once per pass instead of once per activation.
 * M is a constant at every call (switch below), so the arrays live in
 * registers. */

/* Four _mm512_reduce_add_ps at once, with the same pairings in the same
 * order (lanes i + 8, then i + 4, then i + 2, then i + 1; float addition is
 * commutative), so each sum is bit-identical to the single reduction. */
LL_INLINE __m128 reduce4_512(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 v = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(ab, cd, _MM_SHUFFLE(3, 1, 3, 1)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), v));
}

LL_INLINE void dotn_float_512(int n, float *s, size_t ss, const void *vx, const uint8_t *y, size_t ys,
                              const int M, const bool half) {
    __m512 a[4][4];
    LL_UNROLL
    for (int t = 0; t < M; t++) a[t][0] = a[t][1] = a[t][2] = a[t][3] = _mm512_setzero_ps();
#define W(off) (half ? load_f16x16((const ll_fp16 *)vx + (off)) : _mm512_loadu_ps((const float *)vx + (off)))
#define Y(t, off) _mm512_loadu_ps((const float *)(y + (size_t)(t) * ys) + (off))
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 w0 = W(i), w1 = W(i + 16), w2 = W(i + 32), w3 = W(i + 48);
        LL_UNROLL
        for (int t = 0; t < M; t++) {
            a[t][0] = _mm512_fmadd_ps(w0, Y(t, i), a[t][0]);
            a[t][1] = _mm512_fmadd_ps(w1, Y(t, i + 16), a[t][1]);
            a[t][2] = _mm512_fmadd_ps(w2, Y(t, i + 32), a[t][2]);
            a[t][3] = _mm512_fmadd_ps(w3, Y(t, i + 48), a[t][3]);
        }
    }
    for (; i + 16 <= n; i += 16) {
        const __m512 w0 = W(i);
        LL_UNROLL
        for (int t = 0; t < M; t++) a[t][0] = _mm512_fmadd_ps(w0, Y(t, i), a[t][0]);
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        const __m512 w = half ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const ll_fp16 *)vx + i))
                              : _mm512_maskz_loadu_ps(m, (const float *)vx + i);
        LL_UNROLL
        for (int t = 0; t < M; t++)
            a[t][1] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m, (const float *)(y + (size_t)t * ys) + i), a[t][1]);
    }
#undef W
#undef Y
    __m512 r[4];
    LL_UNROLL
    for (int t = 0; t < M; t++) r[t] = _mm512_add_ps(_mm512_add_ps(a[t][0], a[t][1]), _mm512_add_ps(a[t][2], a[t][3]));
    if (M == 4) {
        float out[4];
        _mm_storeu_ps(out, reduce4_512(r[0], r[1], r[2], r[3]));
        LL_UNROLL
        for (int t = 0; t < 4; t++) s[(size_t)t * ss] = out[t];
    } else {
        LL_UNROLL
        for (int t = 0; t < M; t++) s[(size_t)t * ss] = _mm512_reduce_add_ps(r[t]);
    }
}

void ll_vec_dot_n_f32_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
#define CALL(M) dotn_float_512(n, s + (size_t)t0 * ss, ss, x, (const uint8_t *)y + (size_t)t0 * ys, ys, M, false)
    LL_FOR_TILES(nt, CALL)
#undef CALL
}

void ll_vec_dot_n_f16_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
#define CALL(M) dotn_float_512(n, s + (size_t)t0 * ss, ss, x, (const uint8_t *)y + (size_t)t0 * ys, ys, M, true)
    LL_FOR_TILES(nt, CALL)
#undef CALL
}

/* Q8_0 tiles: R (<= 2) weight rows x M (<= 4) activations per pass. The
 * activations' scales come converted to float (dy, M rows of nb), once per
 * tile instead of once per weight row: in dotn_q8_0_512 the fp16 scale
 * gathers and conversions cost more than the integer dots. Each result
 * keeps DOT_32x4's operations and order (the same products dx * dy, the
 * same two accumulators), so it is bit-identical to vec_dot. */
LL_INLINE void tile_q8_0_512(int nb, const uint8_t *xb, size_t xs, const uint8_t *y, size_t ys, const float *dy,
                             float *s, size_t ss, const int R, const int M) {
    __m512 acc0[2][4], acc1[2][4];
    LL_UNROLL
    for (int r = 0; r < R; r++)
        LL_UNROLL
        for (int t = 0; t < M; t++) acc0[r][t] = acc1[r][t] = _mm512_setzero_ps();
    const __m512i z = _mm512_setzero_si512();
    const __m512i i01 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(1), 1);
    const __m512i i23 = _mm512_inserti64x4(_mm512_set1_epi32(2), _mm256_set1_epi32(3), 1);
    int b = 0;
    for (; b + 4 <= nb; b += 4) {
        __m512i ax01[2], ax23[2];
        __mmask64 n01[2], n23[2];
        __m512 dx01[2], dx23[2];
        LL_UNROLL
        for (int r = 0; r < R; r++) {
            const ll_block_q8_0 *x = (const ll_block_q8_0 *)(xb + (size_t)r * xs);
            const __m512i x01 = load_2x32(x[b].qs, x[b + 1].qs), x23 = load_2x32(x[b + 2].qs, x[b + 3].qs);
            n01[r] = _mm512_movepi8_mask(x01);
            n23[r] = _mm512_movepi8_mask(x23);
            ax01[r] = _mm512_abs_epi8(x01);
            ax23[r] = _mm512_abs_epi8(x23);
            const __m512 dx = _mm512_castps128_ps512(_mm_cvtph_ps(
                _mm_setr_epi16((short)x[b].d, (short)x[b + 1].d, (short)x[b + 2].d, (short)x[b + 3].d, 0, 0, 0, 0)));
            dx01[r] = _mm512_permutexvar_ps(i01, dx);
            dx23[r] = _mm512_permutexvar_ps(i23, dx);
        }
        LL_UNROLL
        for (int t = 0; t < M; t++) {
            const ll_block_q8_0 *yt = (const ll_block_q8_0 *)(y + (size_t)t * ys);
            const __m512 d = _mm512_castps128_ps512(_mm_loadu_ps(dy + (size_t)t * nb + b));
            const __m512 dy01 = _mm512_permutexvar_ps(i01, d), dy23 = _mm512_permutexvar_ps(i23, d);
            const __m512i y01 = load_2x32(yt[b].qs, yt[b + 1].qs), y23 = load_2x32(yt[b + 2].qs, yt[b + 3].qs);
            LL_UNROLL
            for (int r = 0; r < R; r++) {
                const __m512i p01 = _mm512_dpbusd_epi32(z, ax01[r], _mm512_mask_sub_epi8(y01, n01[r], z, y01));
                const __m512i p23 = _mm512_dpbusd_epi32(z, ax23[r], _mm512_mask_sub_epi8(y23, n23[r], z, y23));
                acc0[r][t] = _mm512_fmadd_ps(_mm512_mul_ps(dx01[r], dy01), _mm512_cvtepi32_ps(p01), acc0[r][t]);
                acc1[r][t] = _mm512_fmadd_ps(_mm512_mul_ps(dx23[r], dy23), _mm512_cvtepi32_ps(p23), acc1[r][t]);
            }
        }
    }
    LL_UNROLL
    for (int r = 0; r < R; r++) {
        const ll_block_q8_0 *x = (const ll_block_q8_0 *)(xb + (size_t)r * xs);
        LL_UNROLL
        for (int t = 0; t < M; t++) {
            const ll_block_q8_0 *yt = (const ll_block_q8_0 *)(y + (size_t)t * ys);
            float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0[r][t], acc1[r][t]));
            if (b < nb) {
                float rest;
                ll_dot_q8_0_256((nb - b) * LL_QK8_0, &rest, &x[b], &yt[b]);
                sum += rest;
            }
            s[(size_t)t * ss + r] = sum;
        }
    }
}

/* Activations' scales per tile of 4: rows of up to this many blocks (K up
 * to 32768); longer rows go row by row through vec_dot_n. */
#define TILE_MAX_BLOCKS 1024

void ll_vec_dot_tile_q8_0_avx512(int n, int nr, const void *x, size_t xs, int nt, const void *y, size_t ys, float *s,
                                 size_t ss) {
    const int nb = n / LL_QK8_0;
    if (nb > TILE_MAX_BLOCKS) {
        for (int r = 0; r < nr; r++)
            for (int t = 0; t < nt; t++)
                ll_vec_dot_q8_0_avx512(n, s + (size_t)t * ss + r, (const uint8_t *)x + (size_t)r * xs,
                                       (const uint8_t *)y + (size_t)t * ys);
        return;
    }
    float dy[4 * TILE_MAX_BLOCKS];
    for (int t0 = 0; t0 < nt; t0 += 4) {
        const int M = nt - t0 < 4 ? nt - t0 : 4;
        const uint8_t *yt0 = (const uint8_t *)y + (size_t)t0 * ys;
        for (int t = 0; t < M; t++) {
            const ll_block_q8_0 *yt = (const ll_block_q8_0 *)(yt0 + (size_t)t * ys);
            for (int b = 0; b < nb; b++) dy[(size_t)t * nb + b] = _cvtsh_ss(yt[b].d);
        }
        float *st = s + (size_t)t0 * ss;
        for (int r0 = 0; r0 < nr; r0 += 2) {
            const uint8_t *xr = (const uint8_t *)x + (size_t)r0 * xs;
            /* R and M as constants, so the accumulators live in registers */
#define CALL(R, M_) tile_q8_0_512(nb, xr, xs, yt0, ys, dy, st + r0, ss, R, M_)
#define ROWS(R)                                   \
    switch (M) {                                  \
    case 4: CALL(R, 4); break;                    \
    case 3: CALL(R, 3); break;                    \
    case 2: CALL(R, 2); break;                    \
    default: CALL(R, 1); break;                   \
    }
            if (nr - r0 >= 2) {
                ROWS(2)
            } else {
                ROWS(1)
            }
#undef ROWS
#undef CALL
        }
    }
}

/* One row: the tile kernel with nr = 1 (the tokens' scales converted once
 * per call). */
void ll_vec_dot_n_q8_0_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
    ll_vec_dot_tile_q8_0_avx512(n, 1, x, 0, nt, y, ys, s, ss);
}

/* Q4_K / Q5_K x Q8_K: the 64-weight vectors and the scale
 * broadcasts of a super-block are built once per pass. */
LL_INLINE void dotn_k4_512(int n, float *s, size_t ss, const void *vx, const uint8_t *y, size_t ys, const int M,
                           const bool five) {
    const size_t bs = five ? sizeof(ll_block_q5_K) : sizeof(ll_block_q4_K);
    const uint8_t *xb = vx;
    const __m256i m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(0x10);
    __m512 acc[4];
    __m128 accm[4];
    LL_UNROLL
    for (int t = 0; t < M; t++) {
        acc[t] = _mm512_setzero_ps();
        accm[t] = _mm_setzero_ps();
    }
    for (int b = 0; b < n / LL_QK_K; b++, xb += bs) {
        const ll_block_q4_K *x4 = (const ll_block_q4_K *)xb;
        const ll_block_q5_K *x5 = (const ll_block_q5_K *)xb;
        const uint8_t *qs = five ? x5->qs : x4->qs;
        __m128i sc16, m16;
        ll_k4_scales(five ? x5->scales : x4->scales, &sc16, &m16);
        __m256i h = five ? _mm256_loadu_si256((const __m256i *)x5->qh) : _mm256_setzero_si256();
        __m512i u[4], sc[4];
        LL_UNROLL
        for (int c = 0; c < 4; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (five) {
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(h, 4), b4));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(h, 3), b4));
                h = _mm256_srli_epi16(h, 2);
            }
            u[c] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            sc[c] = bcast2_epi16(sc16, 2 * c);
        }
        const float dx = ll_h2f(five ? x5->d : x4->d), dminx = ll_h2f(five ? x5->dmin : x4->dmin);
        LL_UNROLL
        for (int t = 0; t < M; t++) {
            const ll_block_q8_K *yb = (const ll_block_q8_K *)(y + (size_t)t * ys) + b;
            __m512i isum = _mm512_setzero_si512();
            LL_UNROLL
            for (int c = 0; c < 4; c++) {
                const __m512i p = _mm512_maddubs_epi16(u[c], _mm512_loadu_si512((const void *)(yb->qs + 64 * c)));
                isum = _mm512_dpwssd_epi32(isum, p, sc[c]);
            }
            const float d = yb->d * dx, dmin = yb->d * dminx;
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(isum), acc[t]);
            accm[t] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(ll_k4_mins(m16, yb->bsums)), accm[t]);
        }
    }
    LL_UNROLL
    for (int t = 0; t < M; t++) {
        __m128 m = _mm_add_ps(accm[t], _mm_movehl_ps(accm[t], accm[t]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        s[(size_t)t * ss] = _mm512_reduce_add_ps(acc[t]) - _mm_cvtss_f32(m);
    }
}

void ll_vec_dot_n_q4_K_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
#define CALL(M) dotn_k4_512(n, s + (size_t)t0 * ss, ss, x, (const uint8_t *)y + (size_t)t0 * ys, ys, M, false)
    LL_FOR_TILES(nt, CALL)
#undef CALL
}

void ll_vec_dot_n_q5_K_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
#define CALL(M) dotn_k4_512(n, s + (size_t)t0 * ss, ss, x, (const uint8_t *)y + (size_t)t0 * ys, ys, M, true)
    LL_FOR_TILES(nt, CALL)
#undef CALL
}

/* Q6_K x Q8_K: the four 64-weight vectors and their scale vectors are built
 * once per pass. */
LL_INLINE void dotn_q6_K_512(int n, float *s, size_t ss, const ll_block_q6_K *x, const uint8_t *y, size_t ys,
                             const int M) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    /* the high-bit pairs of qh: bits 0-1 and 2-3 to bits 4-5 (weights 0..63 of
     * a half), bits 4-5 and 6-7 to bits 4-5 (weights 64..127) */
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    /* scale index of each int16 lane of a maddubs result covering 64 weights:
     * lane i covers weights 2i, 2i+1, group i / 8 */
    __m512i gidx[4];
    LL_UNROLL
    for (int q = 0; q < 4; q++) {
        short t[32];
        for (int i = 0; i < 32; i++) t[i] = (short)(4 * q + i / 8);
        gidx[q] = _mm512_loadu_si512((const void *)t);
    }
    __m512 acc[4];
    LL_UNROLL
    for (int t = 0; t < M; t++) acc[t] = _mm512_setzero_ps();
    for (int b = 0; b < n / LL_QK_K; b++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[b].scales));
        const __m512i scw = _mm512_castsi256_si512(sc16);
        __m512i w[4], sc[4];
        LL_UNROLL
        for (int h = 0; h < 2; h++) {
            const __m512i ql = _mm512_loadu_si512((const void *)(x[b].ql + 64 * h));
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h)));
            w[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m30));
            w[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                           _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m30));
            sc[2 * h] = _mm512_permutexvar_epi16(gidx[2 * h], scw);
            sc[2 * h + 1] = _mm512_permutexvar_epi16(gidx[2 * h + 1], scw);
        }
        const float dx = ll_h2f(x[b].d);
        LL_UNROLL
        for (int t = 0; t < M; t++) {
            const ll_block_q8_K *yb = (const ll_block_q8_K *)(y + (size_t)t * ys) + b;
            const __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)yb->bsums), sc16);
            __m512i isum = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5)));
            LL_UNROLL
            for (int h = 0; h < 2; h++) {
                const __m512i p0 = _mm512_maddubs_epi16(w[2 * h], _mm512_loadu_si512((const void *)(yb->qs + 128 * h)));
                const __m512i p1 = _mm512_maddubs_epi16(w[2 * h + 1], _mm512_loadu_si512((const void *)(yb->qs + 128 * h + 64)));
                isum = _mm512_dpwssd_epi32(isum, p0, sc[2 * h]);
                isum = _mm512_dpwssd_epi32(isum, p1, sc[2 * h + 1]);
            }
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(yb->d * dx), _mm512_cvtepi32_ps(isum), acc[t]);
        }
    }
    LL_UNROLL
    for (int t = 0; t < M; t++) s[(size_t)t * ss] = _mm512_reduce_add_ps(acc[t]);
}

void ll_vec_dot_n_q6_K_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys) {
#define CALL(M) dotn_q6_K_512(n, s + (size_t)t0 * ss, ss, x, (const uint8_t *)y + (size_t)t0 * ys, ys, M)
    LL_FOR_TILES(nt, CALL)
#undef CALL
}

/* The single-row kernels of these formats are the bodies above with one
 * activation (the compiler drops the per-activation loops). */
void ll_vec_dot_f32_avx512(int n, float *s, const void *x, const void *y) { dotn_float_512(n, s, 0, x, y, 0, 1, false); }
void ll_vec_dot_f16_avx512(int n, float *s, const void *x, const void *y) { dotn_float_512(n, s, 0, x, y, 0, 1, true); }
void ll_vec_dot_q4_K_avx512(int n, float *s, const void *x, const void *y) { dotn_k4_512(n, s, 0, x, y, 0, 1, false); }
void ll_vec_dot_q5_K_avx512(int n, float *s, const void *x, const void *y) { dotn_k4_512(n, s, 0, x, y, 0, 1, true); }
void ll_vec_dot_q6_K_avx512(int n, float *s, const void *x, const void *y) { dotn_q6_K_512(n, s, 0, x, y, 0, 1); }
