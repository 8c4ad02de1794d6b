/* Packing of Q8_0 and Q6_K tensors into the device layouts of packed.h,
 * a thread per (row, block), run once per tensor at upload. */
#include "cuda/packed.h"

__global__ void k_pack_q8_0(const uint8_t *__restrict__ src, int r0, int nr, int K, size_t row_bytes,
                            uint8_t *__restrict__ dst, size_t s1) {
    const int nb = K / 32;
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)nr * nb) return;
    const int rl = (int)(i / nb), b = (int)(i % nb);
    const ll_block_q8_0 *blk = reinterpret_cast<const ll_block_q8_0 *>(src + rl * row_bytes) + b;
    const size_t row = (size_t)(r0 + rl);
    int8_t *q = reinterpret_cast<int8_t *>(dst) + row * K + (size_t)b * 32;
    for (int l = 0; l < 32; l++) q[l] = blk->qs[l];
    reinterpret_cast<uint16_t *>(dst + s1)[row * nb + b] = blk->d;
}

__global__ void k_pack_q6_K(const uint8_t *__restrict__ src, int r0, int nr, int K, size_t row_bytes,
                            uint8_t *__restrict__ dst, ll_packed_sections s) {
    const int nsb = K / 256;
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)nr * nsb) return;
    const int rl = (int)(i / nsb), sb = (int)(i % nsb);
    const ll_block_q6_K *blk = reinterpret_cast<const ll_block_q6_K *>(src + rl * row_bytes) + sb;
    const size_t row = (size_t)(r0 + rl);
    uint8_t q[256]; /* 6-bit values, 0..63 */
    for (int e = 0; e < 256; e++) {
        const int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
        const int lo = (blk->ql[h * 64 + (k & 1) * 32 + l] >> (4 * (k >> 1))) & 0xF;
        const int hi = (blk->qh[h * 32 + l] >> (2 * k)) & 3;
        q[e] = (uint8_t)(lo | hi << 4);
    }
    for (int jj = 0; jj < 4; jj++) {
        const size_t j = (size_t)sb * 4 + jj; /* item in the row */
        const uint8_t *qi = q + 64 * jj;
        uint8_t *lo = dst + row * (K / 2) + 32 * j;
        for (int l = 0; l < 32; l++) lo[l] = (uint8_t)((qi[l] & 15) | (qi[32 + l] & 15) << 4);
        uint8_t hb[16] = {0};
        for (int e = 0; e < 64; e++) {
            const int b = e / 32, l = e % 32, w = l / 4, x = l % 4;
            hb[4 * (w & 3) + x] |= (uint8_t)((((qi[e] >> 4) ^ 2) & 3) << (2 * ((w >> 2) + 2 * b)));
        }
        uint8_t *hi = dst + s.s1 + row * (K / 4) + 16 * j;
        for (int l = 0; l < 16; l++) hi[l] = hb[l];
    }
    int8_t *sc = reinterpret_cast<int8_t *>(dst + s.s2) + row * (K / 16) + 16 * sb;
    for (int l = 0; l < 16; l++) sc[l] = blk->scales[l];
    reinterpret_cast<uint16_t *>(dst + s.s3)[row * nsb + sb] = blk->d;
}

void ll_cuda_pack_rows(int type, const uint8_t *src, int r0, int nr, int N, int K, uint8_t *dst, cudaStream_t st) {
    const ll_packed_sections s = ll_packed(type, (size_t)N, (size_t)K);
    const size_t row_bytes = type == LL_TYPE_Q8_0 ? (size_t)K / 32 * sizeof(ll_block_q8_0) : (size_t)K / 256 * sizeof(ll_block_q6_K);
    if (type == LL_TYPE_Q8_0) {
        const int64_t n = (int64_t)nr * (K / 32);
        k_pack_q8_0<<<(unsigned)((n + 255) / 256), 256, 0, st>>>(src, r0, nr, K, row_bytes, dst, s.s1);
    } else {
        const int64_t n = (int64_t)nr * (K / 256);
        k_pack_q6_K<<<(unsigned)((n + 127) / 128), 128, 0, st>>>(src, r0, nr, K, row_bytes, dst, s);
    }
}
