/* A small seeded PRNG whose sequence is the same on every platform:
 * xoshiro256** (Blackman & Vigna) seeded through splitmix64. Only integer
 * arithmetic on uint64_t, so no libc or FPU difference can change a draw. */
#ifndef LL_RNG_H
#define LL_RNG_H

#include <stdint.h>

typedef struct ll_rng {
    uint64_t s[4];
} ll_rng;

/* State from a 64-bit seed (any value, 0 included). */
void ll_rng_seed(ll_rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t ll_rng_next(ll_rng *r);

/* Uniform double in [0, 1): the top 53 bits of ll_rng_next() times 2^-53,
 * so every value is exact and identical everywhere. */
double ll_rng_uniform(ll_rng *r);

#endif
