/* Internal to the block-format code: the scalar reference functions the type
 * table points at (exported so the CPU kernel tables in csrc/cpu/ can fall
 * back to them from static const initializers) and small helpers shared by
 * quants_legacy.c and quants_k.c. Not part of the public API (quants.h). */
#ifndef LL_QUANTS_IMPL_H
#define LL_QUANTS_IMPL_H

#include "quants.h"

#include <math.h>

/* Round half to even (the FPU's default mode), as the reference quantizers of
 * the K formats and Q8_K do. Inputs are small (|x| < 2^22) in practice. */
static inline int ll_nearest_int(float x) {
    return (int)lrintf(x);
}

/* 6-bit scale and min number j (0..7) of a Q4_K/Q5_K 12-byte scale field:
 * bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 mins 0-3, bytes 8-11
 * the low nibbles of scales/mins 4-7 whose top 2 bits sit in the spare top
 * bits of bytes 0-7. */
static inline void ll_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* 6-bit scale j (0..15) of a Q3_K block, still biased by 32. */
static inline int ll_q3k_scale(const uint8_t *s, int j) {
    int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
    int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return lo | (hi << 4);
}

#define LL_DECLARE_REF(t) \
    void ll_##t##_to_float(const void *x, float *y, int64_t n); \
    void ll_##t##_from_float(const float *x, void *y, int64_t n);

LL_DECLARE_REF(f32)
LL_DECLARE_REF(f16)
LL_DECLARE_REF(bf16)
LL_DECLARE_REF(q4_0)
LL_DECLARE_REF(q4_1)
LL_DECLARE_REF(q5_0)
LL_DECLARE_REF(q5_1)
LL_DECLARE_REF(q8_0)
LL_DECLARE_REF(q8_1)
LL_DECLARE_REF(q2_K)
LL_DECLARE_REF(q3_K)
LL_DECLARE_REF(q4_K)
LL_DECLARE_REF(q5_K)
LL_DECLARE_REF(q6_K)
LL_DECLARE_REF(q8_K)
#undef LL_DECLARE_REF

/* Reference row dot products: weight row type x activation row vec_dot_type. */
void ll_vec_dot_f32_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_f16_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_bf16_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q4_0_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q4_1_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q5_0_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q5_1_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q8_0_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q2_K_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q3_K_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q4_K_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q5_K_ref(int n, float *s, const void *x, const void *y);
void ll_vec_dot_q6_K_ref(int n, float *s, const void *x, const void *y);

#endif
