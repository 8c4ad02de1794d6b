/* Deterministic random rows for the kernel tests and benchmarks
 * (csrc/lua_quants.c): float rows shaped like LLM weights/activations, and
 * raw blocks whose dot products are exact in float arithmetic. */
#ifndef LL_QUANTS_TESTGEN_H
#define LL_QUANTS_TESTGEN_H

#include "quants.h"
#include "rng.h"

/* Roughly normal (sum of uniforms) with a few larger outliers. */
void ll_testgen_floats(ll_rng *r, float *x, int64_t n);
/* n weights of type t as raw blocks: every value bit pattern random, the
 * fp16 scales small powers of two (0.25..1) and float formats small
 * integers, so dots with ll_testgen_exact_act rows are exact in float.
 * Returns 0, or -1 for a type it cannot generate. */
int ll_testgen_raw_weights(ll_rng *r, ll_type t, void *dst, int64_t n);
/* An activation row of format vdt (F32, Q8_0, Q8_1, Q8_K) with scale 1 and
 * values in [-8, 8]. Returns 0, or -1 for another format. */
int ll_testgen_exact_act(ll_rng *r, ll_type vdt, void *dst, int64_t n);

#endif
