/* Device layouts of Q8_0 and Q6_K weights for the 8-bit dot kernels.
 *
 * In a file their blocks are 34 and 210 bytes long, so a block starts at
 * any even address and a thread can only read it a word at a time and
 * realign the words. On upload the CUDA backend rearranges such a tensor
 * (N rows of K weights) into sections of plain arrays, each row of each
 * section 16-byte aligned, in the same number of bytes:
 *
 *   Q8_0:  qs  int8 [N][K]        the weights
 *          d   fp16 [N][K/32]     the block scales
 *   Q6_K:  lo  [N][K/2]           low 4 bits, 64 weights per 32 bytes: byte l
 *                                 of item j holds weight 64j+l (low nibble) and
 *                                 64j+32+l (high nibble), like Q4_K's qs
 *          hi  [N][K/4]           high 2 bits, 16 bytes per item (see below)
 *          sc  int8 [N][K/16]     the file's scales, in order
 *          d   fp16 [N][K/256]    the super-block scales
 *
 * Q6_K's high bits are stored minus 2 (xor 2), so that low | high << 4 is
 * the weight (q - 32) as a 6-bit two's complement number. Item weight e
 * (block b = e / 32, l = e % 32, word i = l / 4, byte x = l % 4) has them in
 * hi word (i & 3), byte x, bits 2 * ((i >> 2) + 2 * b): one shift and mask
 * gives four weights' high bits in byte lanes. The 64-weight item is the
 * unit of work of matvec_q8.cu for every type. Values are the file's, bit
 * for bit (ll_cuda_dequant_f16 reads both layouts). */
#ifndef LL_CUDA_PACKED_H
#define LL_CUDA_PACKED_H

#include "cuda/cuda_common.h"

/* Type ids of the packed layouts: the file type with this bit set. */
#define LL_CUDA_PACKED 0x100
#define LL_CUDA_Q8_0P (LL_TYPE_Q8_0 | LL_CUDA_PACKED)
#define LL_CUDA_Q6_KP (LL_TYPE_Q6_K | LL_CUDA_PACKED)

/* Whether a weight of this file type and row length is packed on upload. */
static inline bool ll_cuda_packs(int type, long long K) {
    return (type == LL_TYPE_Q8_0 && K % 64 == 0) || (type == LL_TYPE_Q6_K && K % 256 == 0);
}

/* Section starts of a packed tensor of N rows of K (bytes from its base). */
typedef struct ll_packed_sections {
    size_t s1, s2, s3; /* Q8_0: d at s1; Q6_K: hi at s1, sc at s2, d at s3 */
} ll_packed_sections;

static __host__ __device__ __forceinline__ ll_packed_sections ll_packed(int type, size_t N, size_t K) {
    ll_packed_sections p;
    if ((type & ~LL_CUDA_PACKED) == LL_TYPE_Q8_0) {
        p.s1 = N * K;
        p.s2 = p.s3 = 0;
    } else {
        p.s1 = N * K / 2;
        p.s2 = p.s1 + N * K / 4;
        p.s3 = p.s2 + N * K / 16;
    }
    return p;
}

/* Rearranges rows [r0, r0 + nr) of a tensor of N rows of K, given in file
 * layout at src (device memory, nr rows), into the packed tensor at dst. */
void ll_cuda_pack_rows(int type, const uint8_t *src, int r0, int nr, int N, int K, uint8_t *dst, cudaStream_t st);

#endif
