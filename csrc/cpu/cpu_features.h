/* CPU features detected at run time (cpuid + xgetbv), never assumed at build time. */
#ifndef LL_CPU_FEATURES_H
#define LL_CPU_FEATURES_H

#include <stdbool.h>

typedef struct ll_cpu_features {
    bool avx, avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512bf16;
    bool avxvnni;
} ll_cpu_features;

/* Detected once; the result is immutable afterwards. */
const ll_cpu_features *ll_cpu_features_get(void);
/* Number of online processors (at least 1). */
int ll_cpu_count(void);

/* Kernel level chosen for this machine, lowered by the LUALLM_ISA environment
 * variable ("scalar", "avx2", "avx512") for testing every path. */
typedef enum { LL_ISA_SCALAR = 0, LL_ISA_AVX2 = 1, LL_ISA_AVX512 = 2 } ll_isa;
ll_isa ll_cpu_isa(void);
const char *ll_isa_name(ll_isa isa);

#endif
