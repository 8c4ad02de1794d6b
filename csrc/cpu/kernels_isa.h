/* The SIMD kernels of csrc/cpu/dot_avx2.c and dot_avx512.c, named by ISA.
 * Each has the signature of the reference function it replaces (quants.h)
 * and is only called when cpuid reports the ISA. Layout and math are
 * documented with the reference code in quants_legacy.c / quants_k.c. */
#ifndef LL_CPU_KERNELS_ISA_H
#define LL_CPU_KERNELS_ISA_H

#include "quants.h"

#include <stddef.h>

#define LL_DECLARE_ISA(isa) \
    void ll_vec_dot_f32_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_f16_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_bf16_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q4_0_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q4_1_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q5_0_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q5_1_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q8_0_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q2_K_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q3_K_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q4_K_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q5_K_##isa(int n, float *s, const void *x, const void *y); \
    void ll_vec_dot_q6_K_##isa(int n, float *s, const void *x, const void *y); \
    void ll_quantize_q8_0_##isa(const float *x, void *y, int64_t n); \
    void ll_quantize_q8_1_##isa(const float *x, void *y, int64_t n); \
    void ll_quantize_q8_K_##isa(const float *x, void *y, int64_t n); \
    void ll_f16_to_float_##isa(const void *x, float *y, int64_t n); \
    void ll_vec_dot_n_f32_##isa(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys); \
    void ll_vec_dot_n_f16_##isa(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys); \
    void ll_vec_dot_n_q8_0_##isa(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys);

/* For the vec_dot_n kernels of both ISA files: always-inlined bodies, and
 * call(M) with M = min(4, nt - t0) a constant, for t0 = 0, 4, ... (so the
 * per-activation arrays of a body live in registers). */
#define LL_INLINE static inline __attribute__((always_inline))
#define LL_FOR_TILES(nt, call)                         \
    for (int t0 = 0; t0 < (nt); t0 += 4) {          \
        switch ((nt) - t0 >= 4 ? 4 : (nt) - t0) {   \
        case 4: call(4); break;                     \
        case 3: call(3); break;                     \
        case 2: call(2); break;                     \
        default: call(1); break;                    \
        }                                           \
    }

LL_DECLARE_ISA(avx2)
LL_DECLARE_ISA(avx512)
#undef LL_DECLARE_ISA

/* vec_dot_n of the K formats: AVX-512 only (AVX2 loops its vec_dot). */
void ll_vec_dot_n_q4_K_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys);
void ll_vec_dot_n_q5_K_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys);
void ll_vec_dot_n_q6_K_avx512(int n, int nt, float *s, size_t ss, const void *x, const void *y, size_t ys);
/* vec_dot_tile of Q8_0: AVX-512 only. */
void ll_vec_dot_tile_q8_0_avx512(int n, int nr, const void *x, size_t xs, int nt, const void *y, size_t ys, float *s,
                                 size_t ss);

#endif
