#include "cpu_features.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ll_cpu_features detected;
static ll_isa detected_isa;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint64_t xgetbv0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static void detect(void) {
    unsigned a, b, c, d;
    ll_cpu_features f;
    memset(&f, 0, sizeof f);
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        bool osxsave = c & (1u << 27);
        uint64_t xcr0 = osxsave ? xgetbv0() : 0;
        bool ymm = (xcr0 & 6) == 6;            /* SSE + AVX state enabled by the OS */
        bool zmm = (xcr0 & 0xe6) == 0xe6;      /* plus opmask and ZMM state */
        f.avx = ymm && (c & (1u << 28));
        f.fma = f.avx && (c & (1u << 12));
        f.f16c = f.avx && (c & (1u << 29));
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            f.avx2 = f.avx && (b & (1u << 5));
            f.avx512f = zmm && (b & (1u << 16));
            f.avx512dq = f.avx512f && (b & (1u << 17));
            f.avx512bw = f.avx512f && (b & (1u << 30));
            f.avx512vl = f.avx512f && (b & (1u << 31));
            f.avx512vnni = f.avx512f && (c & (1u << 11));
        }
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
            f.avxvnni = f.avx2 && (a & (1u << 4));
            f.avx512bf16 = f.avx512f && (a & (1u << 5));
        }
    }
    detected = f;
    ll_isa isa = LL_ISA_SCALAR;
    if (f.avx2 && f.fma && f.f16c) isa = LL_ISA_AVX2;
    if (isa == LL_ISA_AVX2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni)
        isa = LL_ISA_AVX512;
    const char *want = getenv("LUALLM_ISA");
    if (want) {
        ll_isa cap = strcmp(want, "scalar") == 0 ? LL_ISA_SCALAR
                   : strcmp(want, "avx2") == 0   ? LL_ISA_AVX2
                                                 : LL_ISA_AVX512;
        if (cap < isa) isa = cap;
    }
    detected_isa = isa;
}

const ll_cpu_features *ll_cpu_features_get(void) {
    pthread_once(&once, detect);
    return &detected;
}

ll_isa ll_cpu_isa(void) {
    pthread_once(&once, detect);
    return detected_isa;
}

const char *ll_isa_name(ll_isa isa) {
    static const char *n[] = {"scalar", "avx2", "avx512"};
    return n[isa];
}

int ll_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
