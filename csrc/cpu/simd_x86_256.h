/* 256-bit (AVX2 + FMA + F16C) row kernels, as static inline functions.
 * Included by dot_avx2.c, which exports them, and by dot_avx512.c, which
 * reuses the ones it has no 512-bit version of (compiled there with AVX-512
 * enabled, they get the EVEX encodings for free).
 *
 * Integer dot products use _mm256_maddubs_epi16 (u8 x s8 -> pairs of int16).
 * Activations come from our quantizers, so they lie in [-127, 127]: the
 * sign trick (|x| times y with x's sign) then cannot overflow, and no pair
 * sum exceeds 2 * 128 * 127 < 32767. Per-block integer sums are exact; only
 * the float accumulation across blocks differs from the reference. */
#ifndef LL_SIMD_X86_256_H
#define LL_SIMD_X86_256_H

#include "quants_impl.h"

#include <immintrin.h>
#include <string.h>

/* Fully unroll the short fixed loops over a block's parts: shift counts and
 * shuffle controls become constants and nothing spills (-O2 won't do it). */
#define LL_UNROLL _Pragma("GCC unroll 8")

static inline float ll_hsum_ps256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int ll_hsum_epi32_256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static inline float ll_h2f(ll_fp16 h) { return _cvtsh_ss(h); }

/* u8 (0..255, at most 128 with signed partners) x s8 -> 8 int32 sums of 4. */
static inline __m256i ll_dot_u8i8_256(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* s8 x s8 (y in [-127, 127]) -> 8 int32 sums of 4. */
static inline __m256i ll_dot_i8i8_256(__m256i x, __m256i y) {
    return ll_dot_u8i8_256(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* 16 bytes of packed nibbles -> 32 bytes: low nibbles (elements 0..15)
 * then high nibbles (16..31), the order of Q4_0/Q4_1/Q5_x blocks. */
static inline __m256i ll_unpack_nibbles_256(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/* 32 bits -> 32 bytes, byte j = 0xFF when bit j is set. */
static inline __m256i ll_bits_to_bytes_256(const uint8_t qh[4]) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const __m256i pick = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                           0x0101010101010101LL, 0x0000000000000000LL);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), pick);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* ---- float weights x float activations ---- */

static inline void ll_dot_f32_256(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    float sum = ll_hsum_ps256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += x[i] * y[i];
    *s = sum;
}

static inline __m256 ll_load_f16x8(const ll_fp16 *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static inline void ll_dot_f16_256(int n, float *s, const void *vx, const void *vy) {
    const ll_fp16 *x = vx;
    const float *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(ll_load_f16x8(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(ll_load_f16x8(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(ll_load_f16x8(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(ll_load_f16x8(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(ll_load_f16x8(x + i), _mm256_loadu_ps(y + i), a0);
    float sum = ll_hsum_ps256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += ll_h2f(x[i]) * y[i];
    *s = sum;
}

static inline __m256 ll_load_bf16x8(const ll_bf16 *p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

static inline void ll_dot_bf16_256(int n, float *s, const void *vx, const void *vy) {
    const ll_bf16 *x = vx;
    const float *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(ll_load_bf16x8(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(ll_load_bf16x8(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(ll_load_bf16x8(x + i), _mm256_loadu_ps(y + i), a0);
    float sum = ll_hsum_ps256(_mm256_add_ps(a0, a1));
    for (; i < n; i++) sum += ll_bf16_to_fp32(x[i]) * y[i];
    *s = sum;
}

static inline void ll_f16_to_float_256(const void *vx, float *y, int64_t n) {
    const ll_fp16 *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, ll_load_f16x8(x + i));
    for (; i < n; i++) y[i] = ll_h2f(x[i]);
}

/* ---- 32-element blocks x Q8_0 / Q8_1 ---- */

static inline void ll_dot_q8_0_256(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q8_0 *x = vx, *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < n / LL_QK8_0; b++) {
        const __m256i qx = _mm256_loadu_si256((const __m256i *)x[b].qs);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256 d = _mm256_set1_ps(ll_h2f(x[b].d) * ll_h2f(y[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(ll_dot_i8i8_256(qx, qy)), acc);
    }
    *s = ll_hsum_ps256(acc);
}

static inline void ll_dot_q4_0_256(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q4_0 *x = vx;
    const ll_block_q8_0 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < n / LL_QK8_0; b++) {
        const __m256i qx = _mm256_sub_epi8(ll_unpack_nibbles_256(x[b].qs), _mm256_set1_epi8(8));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256 d = _mm256_set1_ps(ll_h2f(x[b].d) * ll_h2f(y[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(ll_dot_i8i8_256(qx, qy)), acc);
    }
    *s = ll_hsum_ps256(acc);
}

static inline void ll_dot_q4_1_256(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q4_1 *x = vx;
    const ll_block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int b = 0; b < n / LL_QK8_1; b++) {
        const __m256i qx = ll_unpack_nibbles_256(x[b].qs);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256 d = _mm256_set1_ps(ll_h2f(x[b].d) * ll_h2f(y[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(ll_dot_u8i8_256(qx, qy)), acc);
        summ += ll_h2f(x[b].m) * ll_h2f(y[b].s);
    }
    *s = ll_hsum_ps256(acc) + summ;
}

static inline void ll_dot_q5_0_256(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q5_0 *x = vx;
    const ll_block_q8_0 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < n / LL_QK8_0; b++) {
        /* (q | h << 4) - 16 as int8: q itself when h is set, q | 0xF0 when not */
        const __m256i hi = _mm256_andnot_si256(ll_bits_to_bytes_256(x[b].qh), _mm256_set1_epi8((char)0xF0));
        const __m256i qx = _mm256_or_si256(ll_unpack_nibbles_256(x[b].qs), hi);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256 d = _mm256_set1_ps(ll_h2f(x[b].d) * ll_h2f(y[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(ll_dot_i8i8_256(qx, qy)), acc);
    }
    *s = ll_hsum_ps256(acc);
}

static inline void ll_dot_q5_1_256(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q5_1 *x = vx;
    const ll_block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int b = 0; b < n / LL_QK8_1; b++) {
        const __m256i hi = _mm256_and_si256(ll_bits_to_bytes_256(x[b].qh), _mm256_set1_epi8(0x10));
        const __m256i qx = _mm256_or_si256(ll_unpack_nibbles_256(x[b].qs), hi);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256 d = _mm256_set1_ps(ll_h2f(x[b].d) * ll_h2f(y[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(ll_dot_u8i8_256(qx, qy)), acc);
        summ += ll_h2f(x[b].m) * ll_h2f(y[b].s);
    }
    *s = ll_hsum_ps256(acc) + summ;
}

/* ---- K formats x Q8_K ---- */

/* Control for _mm256_shuffle_epi8 on 8 int16 held in both 128-bit lanes:
 * element j broadcast in lanes 0..7, element j+1 in lanes 8..15. */
static inline __m256i ll_pair_ctl(int j) {
    return _mm256_set_m128i(_mm_set1_epi16((short)(((2 * j + 3) << 8) | (2 * j + 2))),
                            _mm_set1_epi16((short)(((2 * j + 1) << 8) | (2 * j))));
}

/* The 16 int8 values of v (one per group of 16 weights) as int16, half h
 * (groups 8h..8h+7) in both 128-bit lanes. */
static inline __m256i ll_half_epi16(__m128i v, int h) {
    return _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(h ? _mm_unpackhi_epi64(v, v) : v));
}

static inline void ll_dot_q2_K_256(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q2_K *x = vx;
    const ll_block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int b = 0; b < n / LL_QK_K; b++) {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[b].scales);
        const __m128i scl = _mm_and_si128(sc8, _mm_set1_epi8(0x0F));
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), _mm_set1_epi8(0x0F)));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[b].bsums);
        const __m256i mprod = _mm256_madd_epi16(bs, mins);
        __m256i isum = _mm256_setzero_si256();
        LL_UNROLL
        for (int h = 0; h < 2; h++) {
            const __m256i sch = ll_half_epi16(scl, h);
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * h));
            LL_UNROLL
            for (int sh = 0; sh < 4; sh++) {
                const __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * sh), m3);
                const __m256i a = _mm256_loadu_si256((const __m256i *)(y[b].qs + 128 * h + 32 * sh));
                const __m256i sc = _mm256_shuffle_epi8(sch, ll_pair_ctl(2 * sh));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(v, a), sc));
            }
        }
        const float d = y[b].d * ll_h2f(x[b].d), dmin = y[b].d * ll_h2f(x[b].dmin);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(mprod), accm);
    }
    *s = ll_hsum_ps256(acc) - ll_hsum_ps256(accm);
}

/* The 16 scales of a Q3_K block minus 32, as int8, unpacked from 32-bit
 * words: low nibbles from bytes 0..7, high 2-bit pairs from bytes 8..11. */
static inline __m128i ll_q3k_scales(const uint8_t *s) {
    uint32_t a, b, c;
    memcpy(&a, s, 4);
    memcpy(&b, s + 4, 4);
    memcpy(&c, s + 8, 4);
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    const uint32_t w0 = (a & m4) | ((c & m2) << 4);
    const uint32_t w1 = (b & m4) | (((c >> 2) & m2) << 4);
    const uint32_t w2 = ((a >> 4) & m4) | (((c >> 4) & m2) << 4);
    const uint32_t w3 = ((b >> 4) & m4) | (((c >> 6) & m2) << 4);
    return _mm_sub_epi8(_mm_set_epi32((int)w3, (int)w2, (int)w1, (int)w0), _mm_set1_epi8(32));
}

/* Q3_K: each weight is q - 4 with q = low 2 bits + 4 * (hmask bit) in 0..7;
 * the -4 goes through the activations' group sums, as Q6_K's -32 does. */
static inline void ll_dot_q3_K_256(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q3_K *x = vx;
    const ll_block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < n / LL_QK_K; b++) {
        const __m128i sc8 = ll_q3k_scales(x[b].scales);
        const __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), _mm256_cvtepi8_epi16(sc8));
        __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 2));
        const __m256i hm = _mm256_loadu_si256((const __m256i *)x[b].hmask);
        LL_UNROLL
        for (int h = 0; h < 2; h++) {
            const __m256i sch = ll_half_epi16(sc8, h);
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * h));
            LL_UNROLL
            for (int sh = 0; sh < 4; sh++) {
                const __m256i bit = _mm256_set1_epi8((char)(1 << (4 * h + sh)));
                const __m256i hb = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit), four);
                const __m256i v = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * sh), m3), hb);
                const __m256i a = _mm256_loadu_si256((const __m256i *)(y[b].qs + 128 * h + 32 * sh));
                const __m256i sc = _mm256_shuffle_epi8(sch, ll_pair_ctl(2 * sh));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(v, a), sc));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[b].d * ll_h2f(x[b].d)), _mm256_cvtepi32_ps(isum), acc);
    }
    *s = ll_hsum_ps256(acc);
}

/* Scales and mins of a Q4_K/Q5_K super-block as 8 int16 each, unpacked
 * four at a time from 32-bit words (see ll_k4_scale_min for the layout). */
static inline void ll_k4_scales(const uint8_t *s, __m128i *sc16, __m128i *m16) {
    uint32_t a, b, c;
    memcpy(&a, s, 4);
    memcpy(&b, s + 4, 4);
    memcpy(&c, s + 8, 4);
    const uint32_t sc_lo = a & 0x3f3f3f3fu, m_lo = b & 0x3f3f3f3fu;
    const uint32_t sc_hi = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    const uint32_t m_hi = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
    *sc16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo));
    *m16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)m_hi, (int)m_lo));
}

/* 4 int32: m[2i] * (bsums[4i] + bsums[4i+1]) + m[2i+1] * (bsums[4i+2] + bsums[4i+3]),
 * i.e. the min term of a Q4_K/Q5_K super-block, partially summed. */
static inline __m128i ll_k4_mins(__m128i m16, const int16_t *bsums) {
    const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)bsums),
                                         _mm_loadu_si128((const __m128i *)(bsums + 8)));
    return _mm_madd_epi16(pairs, m16);
}

/* int16 element j of a vector holding 8 int16 in both 128-bit lanes,
 * broadcast (shuffle control picking bytes 2j, 2j+1). */
static inline __m256i ll_bcast_epi16(__m256i v, int j) {
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(((2 * j + 1) << 8) | (2 * j))));
}

/* Shared by Q4_K and Q5_K: 4 chunks of 64 weights = 32 bytes of nibbles
 * (+ a fifth bit from qh for Q5_K). */
static inline void ll_dot_k4_256(int n, float *s, const void *vx, const void *vy, bool five) {
    const ll_block_q8_K *y = vy;
    const size_t bs = five ? sizeof(ll_block_q5_K) : sizeof(ll_block_q4_K);
    const uint8_t *xb = vx;
    const __m256i m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int b = 0; b < n / LL_QK_K; b++, xb += bs) {
        const ll_block_q4_K *x4 = (const ll_block_q4_K *)xb;
        const ll_block_q5_K *x5 = (const ll_block_q5_K *)xb;
        const uint8_t *qs = five ? x5->qs : x4->qs;
        __m128i sc16, m16;
        ll_k4_scales(five ? x5->scales : x4->scales, &sc16, &m16);
        const __m256i scv = _mm256_broadcastsi128_si256(sc16);
        __m256i h = five ? _mm256_loadu_si256((const __m256i *)x5->qh) : _mm256_setzero_si256();
        __m256i isum = _mm256_setzero_si256();
        LL_UNROLL
        for (int c = 0; c < 4; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (five) { /* bits 2c, 2c+1 of qh are at bits 0, 1 of h after c shifts by 2 */
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(h, 4), b4));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(h, 3), b4));
                h = _mm256_srli_epi16(h, 2);
            }
            const __m256i p0 = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * c)));
            const __m256i p1 = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * c + 32)));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p0, ll_bcast_epi16(scv, 2 * c)));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p1, ll_bcast_epi16(scv, 2 * c + 1)));
        }
        const float d = y[b].d * ll_h2f(five ? x5->d : x4->d), dmin = y[b].d * ll_h2f(five ? x5->dmin : x4->dmin);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(ll_k4_mins(m16, y[b].bsums)), accm);
    }
    __m128 m = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    *s = ll_hsum_ps256(acc) - _mm_cvtss_f32(m);
}

static inline void ll_dot_q4_K_256(int n, float *s, const void *vx, const void *vy) {
    ll_dot_k4_256(n, s, vx, vy, false);
}

static inline void ll_dot_q5_K_256(int n, float *s, const void *vx, const void *vy) {
    ll_dot_k4_256(n, s, vx, vy, true);
}

static inline void ll_dot_q6_K_256(int n, float *s, const void *vx, const void *vy) {
    const ll_block_q6_K *x = vx;
    const ll_block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < n / LL_QK_K; b++) {
        const __m128i s8 = _mm_loadu_si128((const __m128i *)x[b].scales);
        const __m256i sc16 = _mm256_cvtepi8_epi16(s8);
        /* the -32 offset of every weight, through the activations' group sums */
        const __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), sc16);
        __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
        LL_UNROLL
        for (int h = 0; h < 2; h++) {
            /* scales 8h..8h+7 as int16 in both lanes */
            const __m256i sch = ll_half_epi16(s8, h);
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h));
            __m256i v[4];
            v[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            v[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
            v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            LL_UNROLL
            for (int k = 0; k < 4; k++) {
                /* groups 2k, 2k+1 of this half: scale 2k in lanes 0-7, 2k+1 in lanes 8-15 */
                const __m256i ctl = ll_pair_ctl(2 * k);
                const __m256i a = _mm256_loadu_si256((const __m256i *)(y[b].qs + 128 * h + 32 * k));
                const __m256i p = _mm256_maddubs_epi16(v[k], a);
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_shuffle_epi8(sch, ctl)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[b].d * ll_h2f(x[b].d)), _mm256_cvtepi32_ps(isum), acc);
    }
    *s = ll_hsum_ps256(acc);
}

/* ---- activation quantizers, byte-identical to the reference ---- */

static inline __m256 ll_abs_ps256(__m256 v) {
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

static inline float ll_hmax_ps256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* roundf: to nearest, halves away from zero (the FPU rounds them to even). */
static inline __m256 ll_round_away_ps256(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = ll_abs_ps256(_mm256_sub_ps(v, t)); /* exact */
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), one));
}

/* 4 x 8 int32 (each in int8 range) -> 32 int8 in order. */
static inline __m256i ll_pack_i32_to_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    const __m256i v = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* One block of 32 with Q8_0 rounding; returns d, stores q, *sum = Σq. */
static inline float ll_quant_block32_256(const float *x, int8_t *q, int *sum) {
    __m256 v[4], mx = _mm256_setzero_ps();
    LL_UNROLL
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        mx = _mm256_max_ps(mx, ll_abs_ps256(v[k]));
    }
    const float amax = ll_hmax_ps256(mx);
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const __m256 idv = _mm256_set1_ps(id);
    __m256i qi[4];
    LL_UNROLL
    for (int k = 0; k < 4; k++) qi[k] = _mm256_cvttps_epi32(ll_round_away_ps256(_mm256_mul_ps(v[k], idv)));
    _mm256_storeu_si256((__m256i *)q, ll_pack_i32_to_i8(qi[0], qi[1], qi[2], qi[3]));
    if (sum) {
        __m256i t = _mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3]));
        *sum = ll_hsum_epi32_256(t);
    }
    return d;
}

static inline void ll_quantize_q8_0_256(const float *x, void *vy, int64_t n) {
    ll_block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / LL_QK8_0; b++) {
        const float d = ll_quant_block32_256(x + LL_QK8_0 * b, y[b].qs, NULL);
        y[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    }
}

static inline void ll_quantize_q8_1_256(const float *x, void *vy, int64_t n) {
    ll_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / LL_QK8_1; b++) {
        int sum;
        const float d = ll_quant_block32_256(x + LL_QK8_1 * b, y[b].qs, &sum);
        y[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        y[b].s = _cvtss_sh((float)sum * d, _MM_FROUND_TO_NEAREST_INT);
    }
}

static inline void ll_quantize_q8_K_256(const float *x, void *vy, int64_t n) {
    ll_block_q8_K *y = vy;
    for (int64_t b = 0; b < n / LL_QK_K; b++, x += LL_QK_K) {
        __m256 mx = _mm256_setzero_ps();
        for (int i = 0; i < LL_QK_K; i += 8) mx = _mm256_max_ps(mx, ll_abs_ps256(_mm256_loadu_ps(x + i)));
        const float amax = ll_hmax_ps256(mx);
        if (amax == 0) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        /* the first element of largest magnitude gives the sign, as in the reference */
        float max = amax;
        const __m256 am = _mm256_set1_ps(amax);
        for (int i = 0; i < LL_QK_K; i += 8) {
            const __m256 v = _mm256_loadu_ps(x + i);
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(ll_abs_ps256(v), am, _CMP_EQ_OQ));
            if (hit) {
                max = x[i + __builtin_ctz((unsigned)hit)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 is = _mm256_set1_ps(iscale);
        for (int i = 0; i < LL_QK_K; i += 32) {
            __m256i qi[4];
            LL_UNROLL
            for (int k = 0; k < 4; k++) /* cvtps rounds half to even, as the reference does */
                qi[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), is));
            const __m256i q8 = ll_pack_i32_to_i8(qi[0], qi[1], qi[2], qi[3]);
            _mm256_storeu_si256((__m256i *)(y[b].qs + i), q8);
            /* group sums via sad on biased bytes: Σ(q + 128) over 8 bytes per lane */
            const __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(q8, _mm256_set1_epi8((char)0x80)), _mm256_setzero_si256());
            long long l[4];
            _mm256_storeu_si256((__m256i *)l, sad);
            y[b].bsums[i / 16] = (int16_t)(l[0] + l[1] - 2048);
            y[b].bsums[i / 16 + 1] = (int16_t)(l[2] + l[3] - 2048);
        }
        y[b].d = 1.0f / iscale;
    }
}

#endif
