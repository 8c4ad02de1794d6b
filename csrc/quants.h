/* Quantized block formats, exactly as ggml lays them out (the GGUF files we
 * read were written by llama.cpp). Each format has a scalar reference
 * dequantizer, a reference quantizer, and a reference row dot product against
 * an activation row quantized to its `vec_dot_type`. SIMD versions live in
 * csrc/cpu/ and are tested against these. */
#ifndef LL_QUANTS_H
#define LL_QUANTS_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* ggml type ids, as stored in GGUF tensor infos. */
typedef enum ll_type {
    LL_TYPE_F32 = 0,
    LL_TYPE_F16 = 1,
    LL_TYPE_Q4_0 = 2,
    LL_TYPE_Q4_1 = 3,
    LL_TYPE_Q5_0 = 6,
    LL_TYPE_Q5_1 = 7,
    LL_TYPE_Q8_0 = 8,
    LL_TYPE_Q8_1 = 9,
    LL_TYPE_Q2_K = 10,
    LL_TYPE_Q3_K = 11,
    LL_TYPE_Q4_K = 12,
    LL_TYPE_Q5_K = 13,
    LL_TYPE_Q6_K = 14,
    LL_TYPE_Q8_K = 15,
    LL_TYPE_IQ2_XXS = 16,
    LL_TYPE_IQ2_XS = 17,
    LL_TYPE_IQ3_XXS = 18,
    LL_TYPE_IQ1_S = 19,
    LL_TYPE_IQ4_NL = 20,
    LL_TYPE_IQ3_S = 21,
    LL_TYPE_IQ2_S = 22,
    LL_TYPE_IQ4_XS = 23,
    LL_TYPE_I8 = 24,
    LL_TYPE_I16 = 25,
    LL_TYPE_I32 = 26,
    LL_TYPE_I64 = 27,
    LL_TYPE_F64 = 28,
    LL_TYPE_IQ1_M = 29,
    LL_TYPE_BF16 = 30,
    LL_TYPE_TQ1_0 = 34,
    LL_TYPE_TQ2_0 = 35,
    LL_TYPE_MXFP4 = 39,
    LL_TYPE_COUNT = 40
} ll_type;

#define LL_QK4_0 32
#define LL_QK4_1 32
#define LL_QK5_0 32
#define LL_QK5_1 32
#define LL_QK8_0 32
#define LL_QK8_1 32
#define LL_QK_K 256
#define LL_K_SCALE_SIZE 12

typedef uint16_t ll_fp16; /* IEEE half, raw bits */
typedef uint16_t ll_bf16; /* bfloat16, raw bits */

/* Q4_0: 32 weights, 4.5 bpw. w = d * (q - 8) */
typedef struct { ll_fp16 d; uint8_t qs[LL_QK4_0 / 2]; } ll_block_q4_0;
_Static_assert(sizeof(ll_block_q4_0) == 18, "q4_0 size");
/* Q4_1: 32 weights, 5 bpw. w = d * q + m */
typedef struct { ll_fp16 d, m; uint8_t qs[LL_QK4_1 / 2]; } ll_block_q4_1;
_Static_assert(sizeof(ll_block_q4_1) == 20, "q4_1 size");
/* Q5_0: 32 weights, 5.5 bpw; qh holds the 5th bits. w = d * (q - 16) */
typedef struct { ll_fp16 d; uint8_t qh[4]; uint8_t qs[LL_QK5_0 / 2]; } ll_block_q5_0;
_Static_assert(sizeof(ll_block_q5_0) == 22, "q5_0 size");
/* Q5_1: 32 weights, 6 bpw. w = d * q + m */
typedef struct { ll_fp16 d, m; uint8_t qh[4]; uint8_t qs[LL_QK5_1 / 2]; } ll_block_q5_1;
_Static_assert(sizeof(ll_block_q5_1) == 24, "q5_1 size");
/* Q8_0: 32 weights, 8.5 bpw. w = d * q */
typedef struct { ll_fp16 d; int8_t qs[LL_QK8_0]; } ll_block_q8_0;
_Static_assert(sizeof(ll_block_q8_0) == 34, "q8_0 size");
/* Q8_1: activations for Q4_1/Q5_1; s = d * sum(qs). */
typedef struct { ll_fp16 d, s; int8_t qs[LL_QK8_1]; } ll_block_q8_1;
_Static_assert(sizeof(ll_block_q8_1) == 36, "q8_1 size");

/* Q2_K: super-block of 16 blocks of 16, 2.625 bpw; 4-bit scales and mins. */
typedef struct {
    uint8_t scales[LL_QK_K / 16];
    uint8_t qs[LL_QK_K / 4];
    ll_fp16 d, dmin;
} ll_block_q2_K;
_Static_assert(sizeof(ll_block_q2_K) == 84, "q2_K size");
/* Q3_K: 16 blocks of 16, 3.4375 bpw; 6-bit scales, high bit in hmask. */
typedef struct {
    uint8_t hmask[LL_QK_K / 8];
    uint8_t qs[LL_QK_K / 4];
    uint8_t scales[12];
    ll_fp16 d;
} ll_block_q3_K;
_Static_assert(sizeof(ll_block_q3_K) == 110, "q3_K size");
/* Q4_K: 8 blocks of 32, 4.5 bpw; 6-bit scales and mins packed in 12 bytes. */
typedef struct {
    ll_fp16 d, dmin;
    uint8_t scales[LL_K_SCALE_SIZE];
    uint8_t qs[LL_QK_K / 2];
} ll_block_q4_K;
_Static_assert(sizeof(ll_block_q4_K) == 144, "q4_K size");
/* Q5_K: 8 blocks of 32, 5.5 bpw. */
typedef struct {
    ll_fp16 d, dmin;
    uint8_t scales[LL_K_SCALE_SIZE];
    uint8_t qh[LL_QK_K / 8];
    uint8_t qs[LL_QK_K / 2];
} ll_block_q5_K;
_Static_assert(sizeof(ll_block_q5_K) == 176, "q5_K size");
/* Q6_K: 16 blocks of 16, 6.5625 bpw; 8-bit scales. */
typedef struct {
    uint8_t ql[LL_QK_K / 2];
    uint8_t qh[LL_QK_K / 4];
    int8_t scales[LL_QK_K / 16];
    ll_fp16 d;
} ll_block_q6_K;
_Static_assert(sizeof(ll_block_q6_K) == 210, "q6_K size");
/* Q8_K: activations for the K-quants; bsums = sums of groups of 16. */
typedef struct {
    float d;
    int8_t qs[LL_QK_K];
    int16_t bsums[LL_QK_K / 16];
} ll_block_q8_K;
_Static_assert(sizeof(ll_block_q8_K) == 292, "q8_K size");

/* x: n elements (multiple of blck_size) -> y */
typedef void (*ll_to_float_fn)(const void *x, float *y, int64_t n);
typedef void (*ll_from_float_fn)(const float *x, void *y, int64_t n);
/* *s = dot(x row of this type, y row of vec_dot_type), n elements */
typedef void (*ll_vec_dot_fn)(int n, float *s, const void *x, const void *y);

typedef struct ll_type_traits {
    const char *name;          /* "Q4_K" */
    int blck_size;             /* elements per block */
    size_t type_size;          /* bytes per block */
    bool is_quantized;
    ll_to_float_fn to_float;   /* NULL when the type cannot be read */
    ll_from_float_fn from_float; /* reference quantizer; NULL when absent */
    ll_type vec_dot_type;      /* activation format for vec_dot */
    ll_vec_dot_fn vec_dot;     /* reference row dot product */
} ll_type_traits;

/* Traits of a type id, or NULL for an id outside the table. A known id whose
 * to_float is NULL is a type we can name but not compute with. */
const ll_type_traits *ll_type_get(int type);
/* Type id by name ("Q4_K", case-sensitive); -1 when unknown. */
int ll_type_from_name(const char *name);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block. */
size_t ll_row_size(ll_type type, int64_t n);

float ll_fp16_to_fp32(ll_fp16 h);
ll_fp16 ll_fp32_to_fp16(float f);
float ll_bf16_to_fp32(ll_bf16 h);
ll_bf16 ll_fp32_to_bf16(float f);

#endif
