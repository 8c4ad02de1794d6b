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
