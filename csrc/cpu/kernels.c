/* Run-time dispatch: one static const table per ISA level. Formats without
 * a SIMD kernel at a level point at the scalar reference. */
#include "cpu/kernels.h"
#include "cpu/kernels_isa.h"
#include "quants_impl.h"

#include <stddef.h>

/* Reference entries of every computable format. */
#define REF_ENTRIES \
    .vec_dot = { \
        [LL_TYPE_F32] = ll_vec_dot_f32_ref, [LL_TYPE_F16] = ll_vec_dot_f16_ref, \
        [LL_TYPE_BF16] = ll_vec_dot_bf16_ref, [LL_TYPE_Q4_0] = ll_vec_dot_q4_0_ref, \
        [LL_TYPE_Q4_1] = ll_vec_dot_q4_1_ref, [LL_TYPE_Q5_0] = ll_vec_dot_q5_0_ref, \
        [LL_TYPE_Q5_1] = ll_vec_dot_q5_1_ref, [LL_TYPE_Q8_0] = ll_vec_dot_q8_0_ref, \
        [LL_TYPE_Q2_K] = ll_vec_dot_q2_K_ref, [LL_TYPE_Q3_K] = ll_vec_dot_q3_K_ref, \
        [LL_TYPE_Q4_K] = ll_vec_dot_q4_K_ref, [LL_TYPE_Q5_K] = ll_vec_dot_q5_K_ref, \
        [LL_TYPE_Q6_K] = ll_vec_dot_q6_K_ref, \
    }, \
    .quantize_act = { \
        [LL_TYPE_F32] = ll_f32_from_float, [LL_TYPE_Q8_0] = ll_q8_0_from_float, \
        [LL_TYPE_Q8_1] = ll_q8_1_from_float, [LL_TYPE_Q8_K] = ll_q8_K_from_float, \
    }, \
    .to_float = { \
        [LL_TYPE_F32] = ll_f32_to_float, [LL_TYPE_F16] = ll_f16_to_float, \
        [LL_TYPE_BF16] = ll_bf16_to_float, [LL_TYPE_Q4_0] = ll_q4_0_to_float, \
        [LL_TYPE_Q4_1] = ll_q4_1_to_float, [LL_TYPE_Q5_0] = ll_q5_0_to_float, \
        [LL_TYPE_Q5_1] = ll_q5_1_to_float, [LL_TYPE_Q8_0] = ll_q8_0_to_float, \
        [LL_TYPE_Q8_1] = ll_q8_1_to_float, [LL_TYPE_Q2_K] = ll_q2_K_to_float, \
        [LL_TYPE_Q3_K] = ll_q3_K_to_float, [LL_TYPE_Q4_K] = ll_q4_K_to_float, \
        [LL_TYPE_Q5_K] = ll_q5_K_to_float, [LL_TYPE_Q6_K] = ll_q6_K_to_float, \
        [LL_TYPE_Q8_K] = ll_q8_K_to_float, \
    }

static const ll_cpu_kernels scalar_kernels = {
    REF_ENTRIES,
    .isa = "scalar",
};

/* A SIMD level: its own kernels where it has them, the reference elsewhere;
 * vdn: its .vec_dot_n (and .vec_dot_tile) initializers. */
#define SIMD_TABLE(name, sfx, vdn) \
    static const ll_cpu_kernels name = { \
        .vec_dot = { \
            [LL_TYPE_F32] = ll_vec_dot_f32_##sfx, [LL_TYPE_F16] = ll_vec_dot_f16_##sfx, \
            [LL_TYPE_BF16] = ll_vec_dot_bf16_##sfx, [LL_TYPE_Q4_0] = ll_vec_dot_q4_0_##sfx, \
            [LL_TYPE_Q4_1] = ll_vec_dot_q4_1_##sfx, [LL_TYPE_Q5_0] = ll_vec_dot_q5_0_##sfx, \
            [LL_TYPE_Q5_1] = ll_vec_dot_q5_1_##sfx, [LL_TYPE_Q8_0] = ll_vec_dot_q8_0_##sfx, \
            [LL_TYPE_Q2_K] = ll_vec_dot_q2_K_##sfx, [LL_TYPE_Q3_K] = ll_vec_dot_q3_K_##sfx, \
            [LL_TYPE_Q4_K] = ll_vec_dot_q4_K_##sfx, [LL_TYPE_Q5_K] = ll_vec_dot_q5_K_##sfx, \
            [LL_TYPE_Q6_K] = ll_vec_dot_q6_K_##sfx, \
        }, \
        vdn \
        .quantize_act = { \
            [LL_TYPE_F32] = ll_f32_from_float, [LL_TYPE_Q8_0] = ll_quantize_q8_0_##sfx, \
            [LL_TYPE_Q8_1] = ll_quantize_q8_1_##sfx, [LL_TYPE_Q8_K] = ll_quantize_q8_K_##sfx, \
        }, \
        .to_float = { \
            [LL_TYPE_F32] = ll_f32_to_float, [LL_TYPE_F16] = ll_f16_to_float_##sfx, \
            [LL_TYPE_BF16] = ll_bf16_to_float, [LL_TYPE_Q4_0] = ll_q4_0_to_float, \
            [LL_TYPE_Q4_1] = ll_q4_1_to_float, [LL_TYPE_Q5_0] = ll_q5_0_to_float, \
            [LL_TYPE_Q5_1] = ll_q5_1_to_float, [LL_TYPE_Q8_0] = ll_q8_0_to_float, \
            [LL_TYPE_Q8_1] = ll_q8_1_to_float, [LL_TYPE_Q2_K] = ll_q2_K_to_float, \
            [LL_TYPE_Q3_K] = ll_q3_K_to_float, [LL_TYPE_Q4_K] = ll_q4_K_to_float, \
            [LL_TYPE_Q5_K] = ll_q5_K_to_float, [LL_TYPE_Q6_K] = ll_q6_K_to_float, \
            [LL_TYPE_Q8_K] = ll_q8_K_to_float, \
        }, \
        .isa = #sfx, \
    };

#define VDN_AVX2 \
    .vec_dot_n = { \
        [LL_TYPE_F32] = ll_vec_dot_n_f32_avx2, [LL_TYPE_F16] = ll_vec_dot_n_f16_avx2, \
        [LL_TYPE_Q8_0] = ll_vec_dot_n_q8_0_avx2, \
    },
#define VDN_AVX512 \
    .vec_dot_n = { \
        [LL_TYPE_F32] = ll_vec_dot_n_f32_avx512, [LL_TYPE_F16] = ll_vec_dot_n_f16_avx512, \
        [LL_TYPE_Q8_0] = ll_vec_dot_n_q8_0_avx512, [LL_TYPE_Q4_K] = ll_vec_dot_n_q4_K_avx512, \
        [LL_TYPE_Q5_K] = ll_vec_dot_n_q5_K_avx512, [LL_TYPE_Q6_K] = ll_vec_dot_n_q6_K_avx512, \
    },
#define VDT_AVX512 .vec_dot_tile = {[LL_TYPE_Q8_0] = ll_vec_dot_tile_q8_0_avx512},
SIMD_TABLE(avx2_kernels, avx2, VDN_AVX2)
SIMD_TABLE(avx512_kernels, avx512, VDN_AVX512 VDT_AVX512)

/* The highest level the CPU supports, ignoring LUALLM_ISA. */
static ll_isa hardware_isa(void) {
    const ll_cpu_features *f = ll_cpu_features_get();
    if (!(f->avx2 && f->fma && f->f16c)) return LL_ISA_SCALAR;
    if (f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq && f->avx512vnni) return LL_ISA_AVX512;
    return LL_ISA_AVX2;
}

const ll_cpu_kernels *ll_cpu_kernels_for(ll_isa isa) {
    if (isa > hardware_isa()) return NULL;
    switch (isa) {
    case LL_ISA_SCALAR: return &scalar_kernels;
    case LL_ISA_AVX2: return &avx2_kernels;
    case LL_ISA_AVX512: return &avx512_kernels;
    }
    return NULL;
}

const ll_cpu_kernels *ll_cpu_kernels_get(void) {
    const ll_cpu_kernels *k = ll_cpu_kernels_for(ll_cpu_isa());
    return k ? k : &scalar_kernels;
}
