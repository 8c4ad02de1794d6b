/* AVX-512 (F/BW/VL/DQ/VNNI) kernels. The hot paths (F16 x F32, Q8_0, Q4_0,
 * Q5_0, Q4_K, Q5_K, Q6_K) have 512-bit versions; the rest reuse the 256-bit
 * code of simd_x86_256.h, compiled here with AVX-512 enabled. */
#include "cpu/kernels_isa.h"
#include "cpu/simd_x86_256.h"

#define DOT256(t) \
    void ll_vec_dot_##t##_avx512(int n, float *s, const void *x, const void *y) { ll_dot_##t##_256(n, s, x, y); }

DOT256(f32)
DOT256(f16)
DOT256(bf16)
DOT256(q4_0)
DOT256(q4_1)
DOT256(q5_0)
DOT256(q5_1)
DOT256(q8_0)
DOT256(q2_K)
DOT256(q3_K)
DOT256(q4_K)
DOT256(q5_K)
DOT256(q6_K)

void ll_quantize_q8_0_avx512(const float *x, void *y, int64_t n) { ll_quantize_q8_0_256(x, y, n); }
void ll_quantize_q8_1_avx512(const float *x, void *y, int64_t n) { ll_quantize_q8_1_256(x, y, n); }
void ll_quantize_q8_K_avx512(const float *x, void *y, int64_t n) { ll_quantize_q8_K_256(x, y, n); }
void ll_f16_to_float_avx512(const void *x, float *y, int64_t n) { ll_f16_to_float_256(x, y, n); }
