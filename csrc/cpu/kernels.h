/* CPU kernel tables: the best row kernels of each instruction-set level,
 * chosen at run time. The engine quantizes an activation row once with
 * quantize_act[vec_dot_type] (vec_dot_type from ll_type_get), then calls
 * vec_dot once per weight row. Tables are static const: nothing mutable. */
#ifndef LL_CPU_KERNELS_H
#define LL_CPU_KERNELS_H

#include "quants.h"
#include "cpu/cpu_features.h"

#include <stddef.h>

/* One weight row against nt activation rows (y + t * y_stride bytes), while
 * the row is in registers/L1: s[t * s_stride] = vec_dot(n, x, y_t), and each
 * result is bit-identical to the same level's vec_dot (same accumulation
 * order), so batching never changes a token's numbers. */
typedef void (*ll_vec_dot_n_fn)(int n, int nt, float *s, size_t s_stride, const void *x, const void *y,
                                size_t y_stride);

/* nr weight rows (x + r * x_stride bytes) against nt activation rows:
 * s[t * s_stride + r] = vec_dot(n, x_r, y_t), bit-identical to vec_dot like
 * vec_dot_n; a tile of rows shares each activation's conversions. */
typedef void (*ll_vec_dot_tile_fn)(int n, int nr, const void *x, size_t x_stride, int nt, const void *y,
                                   size_t y_stride, float *s, size_t s_stride);

typedef struct ll_cpu_kernels {
    ll_vec_dot_fn vec_dot[LL_TYPE_COUNT];          /* best per weight type, NULL if unsupported */
    ll_vec_dot_n_fn vec_dot_n[LL_TYPE_COUNT];      /* multi-activation variant, NULL: loop vec_dot */
    ll_vec_dot_tile_fn vec_dot_tile[LL_TYPE_COUNT]; /* rows x activations, NULL: vec_dot_n per row */
    ll_from_float_fn quantize_act[LL_TYPE_COUNT];  /* best activation quantizer per vec_dot_type */
    ll_to_float_fn to_float[LL_TYPE_COUNT];        /* best row dequantizer */
    const char *isa;
} ll_cpu_kernels;

/* The table for ll_cpu_isa() (which honours LUALLM_ISA=scalar|avx2|avx512). */
const ll_cpu_kernels *ll_cpu_kernels_get(void);
/* The table of one level, for tests; NULL when this CPU lacks it. */
const ll_cpu_kernels *ll_cpu_kernels_for(ll_isa isa);

#endif
