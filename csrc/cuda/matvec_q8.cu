/* Matrix-vector products of generation steps for the formats of the usual
 * files (Q4_K, Q6_K, Q8_0) on 8-bit activations with integer dot products
 * (dp4a): the activations are quantized once per product to blocks of 32
 * int8 values with a float scale (as the CPU quantizes them for its dots),
 * and a thread takes 32 weights at a time with a handful of wide loads. The
 * float kernel (kernels.cu) spends some six instructions per weight decoding
 * K-quants and stays far below the memory bandwidth; these spend about one.
 * A warp per output row, four rows per block. */
#include "cuda/kernels.h"
#include "cuda/dequant.h"

/* ---- activations: x (T, K) -> q (T, K) int8, d (T, K/32) scales ---- */

__global__ void k_quant_q8(const float *__restrict__ x, int8_t *__restrict__ q, float *__restrict__ d, int n_blocks) {
    const int b = blockIdx.x * (blockDim.x / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (b >= n_blocks) return;
    const float v = x[(size_t)b * 32 + lane];
    const float amax = ll_warp_max(fabsf(v));
    const float dd = amax / 127.f;
    q[(size_t)b * 32 + lane] = (int8_t)(dd > 0.f ? __float2int_rn(v / dd) : 0);
    if (lane == 0) d[b] = dd;
}

/* rmsnorm(x) * g quantized, a block per row (the normed row is not kept). */
__global__ void k_rmsnorm_quant_q8(const float *__restrict__ x, const float *__restrict__ g, int D, float eps,
                                   int8_t *__restrict__ q, float *__restrict__ d) {
    const float *xr = x + (size_t)blockIdx.x * D;
    __shared__ float part[32];
    float ss = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) ss += xr[i] * xr[i];
    ss = ll_warp_sum(ss);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) part[warp] = ss;
    __syncthreads();
    if (warp == 0) {
        float v = lane < nw ? part[lane] : 0.f;
        v = ll_warp_sum(v);
        if (lane == 0) part[0] = v;
    }
    __syncthreads();
    const float scale = rsqrtf(part[0] / D + eps);
    /* each warp quantizes whole blocks of 32 */
    for (int b = warp; b < D / 32; b += nw) {
        const int i = b * 32 + lane;
        const float v = xr[i] * scale * g[i];
        const float amax = ll_warp_max(fabsf(v));
        const float dd = amax / 127.f;
        const size_t o = (size_t)blockIdx.x * D + i;
        q[o] = (int8_t)(dd > 0.f ? __float2int_rn(v / dd) : 0);
        if (lane == 0) d[(size_t)blockIdx.x * (D / 32) + b] = dd;
    }
}

/* silu(g) * u quantized, for a down projection (the product is not kept). */
__global__ void k_swiglu_quant_q8(const float *__restrict__ g, const float *__restrict__ u, int8_t *__restrict__ q,
                                  float *__restrict__ d, int n_blocks) {
    const int b = blockIdx.x * (blockDim.x / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (b >= n_blocks) return;
    const size_t i = (size_t)b * 32 + lane;
    const float gv = g[i], v = gv / (1.0f + expf(-gv)) * u[i];
    const float amax = ll_warp_max(fabsf(v));
    const float dd = amax / 127.f;
    q[i] = (int8_t)(dd > 0.f ? __float2int_rn(v / dd) : 0);
    if (lane == 0) d[b] = dd;
}

/* 32 bytes from a 2-byte aligned address (Q8_0 and Q6_K blocks are 34 and
 * 210 bytes long): aligned words, realigned with funnel shifts. */
static __device__ __forceinline__ void load32_a2(const uint8_t *p, uint32_t w[8]) {
    const uint32_t *a = reinterpret_cast<const uint32_t *>(reinterpret_cast<uintptr_t>(p) & ~(uintptr_t)3);
    if ((reinterpret_cast<uintptr_t>(p) & 3) == 0) { /* 4-aligned only: no wider loads */
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = a[i];
        return;
    }
    uint32_t r[9];
#pragma unroll
    for (int i = 0; i < 9; i++) r[i] = a[i];
#pragma unroll
    for (int i = 0; i < 8; i++) w[i] = __funnelshift_r(r[i], r[i + 1], 16);
}

static __device__ __forceinline__ int dot4(const uint32_t *w, const int4 &x0, int acc) {
    acc = __dp4a((int)w[0], x0.x, acc);
    acc = __dp4a((int)w[1], x0.y, acc);
    acc = __dp4a((int)w[2], x0.z, acc);
    return __dp4a((int)w[3], x0.w, acc);
}

/* One unit (32 weights) of row w against activation row t: returns its float contribution. */
template <int TYPE>
static __device__ __forceinline__ float unit_dot(const uint8_t *__restrict__ w, int u, const int8_t *__restrict__ xq,
                                                 const float *__restrict__ xd) {
    if constexpr (TYPE == LL_TYPE_Q8_0) {
        const ll_block_q8_0 *b = reinterpret_cast<const ll_block_q8_0 *>(w) + u;
        uint32_t q[8];
        load32_a2(reinterpret_cast<const uint8_t *>(b->qs), q);
        const int4 *xp = reinterpret_cast<const int4 *>(xq + (size_t)u * 32);
        const int s = dot4(q + 4, xp[1], dot4(q, xp[0], 0));
        return xd[u] * ll_h2f(b->d) * (float)s;
    } else if constexpr (TYPE == LL_TYPE_Q4_K) {
        /* unit u: superblock u/8; 16 bytes of qs (chunk c, half hb) give
         * weights c*64 + hb*16 + [0,16) (low nibbles, sub-block 2c) and the
         * same 32 places later (high nibbles, sub-block 2c+1) */
        const ll_block_q4_K *b = reinterpret_cast<const ll_block_q4_K *>(w) + u / 8;
        const int c = (u % 8) / 2, hb = u % 2;
        const uint4 qq = *reinterpret_cast<const uint4 *>(b->qs + c * 32 + hb * 16);
        const uint32_t lo[4] = {qq.x & 0x0F0F0F0Fu, qq.y & 0x0F0F0F0Fu, qq.z & 0x0F0F0F0Fu, qq.w & 0x0F0F0F0Fu};
        const uint32_t hi[4] = {(qq.x >> 4) & 0x0F0F0F0Fu, (qq.y >> 4) & 0x0F0F0F0Fu, (qq.z >> 4) & 0x0F0F0F0Fu,
                                (qq.w >> 4) & 0x0F0F0F0Fu};
        const size_t e0 = (size_t)(u / 8) * 256 + c * 64 + hb * 16;
        const int4 xa = *reinterpret_cast<const int4 *>(xq + e0), xb = *reinterpret_cast<const int4 *>(xq + e0 + 32);
        const uint32_t ones[4] = {0x01010101u, 0x01010101u, 0x01010101u, 0x01010101u};
        const int da = dot4(lo, xa, 0), db = dot4(hi, xb, 0), sa = dot4(ones, xa, 0), sb = dot4(ones, xb, 0);
        int sc0, mn0, sc1, mn1;
        ll_k4_scale_min(2 * c, b->scales, sc0, mn0);
        ll_k4_scale_min(2 * c + 1, b->scales, sc1, mn1);
        const float d = ll_h2f(b->d), dm = ll_h2f(b->dmin);
        const int blk = (u / 8) * 8 + 2 * c;
        return xd[blk] * (d * sc0 * (float)da - dm * mn0 * (float)sa) +
               xd[blk + 1] * (d * sc1 * (float)db - dm * mn1 * (float)sb);
    } else { /* Q6_K: unit u = quarter k of half h of superblock u/8 */
        const ll_block_q6_K *b = reinterpret_cast<const ll_block_q6_K *>(w) + u / 8;
        const int h = (u % 8) / 4, k = u % 4;
        uint32_t ql[8], qh[8], q[8];
        load32_a2(b->ql + h * 64 + (k & 1) * 32, ql);
        load32_a2(b->qh + h * 32, qh);
        const int sl = 4 * (k >> 1), sh = 2 * k;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const uint32_t v = ((ql[i] >> sl) & 0x0F0F0F0Fu) | (((qh[i] >> sh) & 0x03030303u) << 4);
            q[i] = __vsubss4(v, 0x20202020u); /* 0..63 -> -32..31 per byte */
        }
        const int4 *xp = reinterpret_cast<const int4 *>(xq + (size_t)u * 32);
        const int s0 = dot4(q, xp[0], 0), s1 = dot4(q + 4, xp[1], 0);
        const int8_t *sc = b->scales + h * 8 + 2 * k;
        return xd[u] * ll_h2f(b->d) * ((float)sc[0] * (float)s0 + (float)sc[1] * (float)s1);
    }
}

#define MVQ_WARPS 4

/* A warp per ROWS rows (two for single-token steps: the activation loads of
 * a unit serve both rows, and two rows' loads are in flight at once). */
template <int TYPE, int TMAX, int ROWS>
__global__ void __launch_bounds__(32 * MVQ_WARPS)
k_matvec_q8(const uint8_t *__restrict__ W, size_t row_bytes, int K, int N, const int8_t *__restrict__ xq,
            const float *__restrict__ xd, int T, float *__restrict__ y, const float *__restrict__ bias, int accumulate) {
    const int row0 = (blockIdx.x * MVQ_WARPS + (threadIdx.x >> 5)) * ROWS, lane = threadIdx.x & 31;
    if (row0 >= N) return;
    const int nr = N - row0 < ROWS ? N - row0 : ROWS;
    const int nu = K / 32;
    float acc[ROWS][TMAX];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int t = 0; t < TMAX; t++) acc[r][t] = 0.f;
#pragma unroll 2
    for (int u = lane; u < nu; u += 32) {
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            if (r >= nr) break;
            const uint8_t *w = W + (size_t)(row0 + r) * row_bytes;
#pragma unroll
            for (int t = 0; t < TMAX; t++) {
                if (t >= T) break;
                acc[r][t] += unit_dot<TYPE>(w, u, xq + (size_t)t * K, xd + (size_t)t * (K / 32));
            }
        }
    }
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
        if (r >= nr) break;
        const int row = row0 + r;
#pragma unroll
        for (int t = 0; t < TMAX; t++) {
            if (t >= T) break;
            const float s = ll_warp_sum(acc[r][t]);
            if (lane == 0) {
                const float v = s + (bias ? bias[row] : 0.f);
                float *o = y + (size_t)t * N + row;
                *o = accumulate ? *o + v : v;
            }
        }
    }
}

/* Several products of one input in one launch (q/k/v, gate/up): blocks are
 * dealt out over the weights' rows in order; each warp takes two rows of one
 * weight and dispatches on that weight's type. Saves launches, and lets the
 * small k/v products run beside q instead of alone on a mostly idle GPU. */
template <int TMAX>
__global__ void __launch_bounds__(32 * MVQ_WARPS)
k_matvec_q8_multi(ll_cuda_mv_group g, int K, const int8_t *__restrict__ xq, const float *__restrict__ xd, int T) {
    int row0 = (blockIdx.x * MVQ_WARPS + (threadIdx.x >> 5)) * 2;
    const int lane = threadIdx.x & 31;
    int i = 0;
    while (i < g.n && row0 >= g.w[i].ne1) {
        row0 -= g.w[i].ne1;
        i++;
    }
    if (i >= g.n) return;
    const ll_dweight &W = g.w[i];
    const int N = W.ne1, nr = N - row0 < 2 ? N - row0 : 2, nu = K / 32;
    float acc[2][TMAX];
#pragma unroll
    for (int r = 0; r < 2; r++)
#pragma unroll
        for (int t = 0; t < TMAX; t++) acc[r][t] = 0.f;
    for (int u = lane; u < nu; u += 32) {
#pragma unroll
        for (int r = 0; r < 2; r++) {
            if (r >= nr) break;
            const uint8_t *w = W.d + (size_t)(row0 + r) * W.row_bytes;
#pragma unroll
            for (int t = 0; t < TMAX; t++) {
                if (t >= T) break;
                const int8_t *xt = xq + (size_t)t * K;
                const float *dt = xd + (size_t)t * (K / 32);
                float v;
                switch (W.type) {
                case LL_TYPE_Q4_K: v = unit_dot<LL_TYPE_Q4_K>(w, u, xt, dt); break;
                case LL_TYPE_Q6_K: v = unit_dot<LL_TYPE_Q6_K>(w, u, xt, dt); break;
                default: v = unit_dot<LL_TYPE_Q8_0>(w, u, xt, dt); break;
                }
                acc[r][t] += v;
            }
        }
    }
    const float *bias = g.bias[i];
    float *y = g.y[i];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (r >= nr) break;
        const int row = row0 + r;
#pragma unroll
        for (int t = 0; t < TMAX; t++) {
            if (t >= T) break;
            const float s = ll_warp_sum(acc[r][t]);
            if (lane == 0) y[(size_t)t * N + row] = s + (bias ? bias[row] : 0.f);
        }
    }
}

void ll_cuda_matvec_q8_group(const ll_cuda_mv_group *g, const void *q8, int T, cudaStream_t st) {
    const int K = g->w[0].ne0;
    const int8_t *xq = (const int8_t *)q8;
    const float *xd = (const float *)((const uint8_t *)q8 + LL_CUDA_Q8_XQ_BYTES(T, K));
    /* even row counts: no warp's pair of rows straddles two weights */
    int pairs = 0;
    for (int i = 0; i < g->n; i++) pairs += g->w[i].ne1 / 2;
    const unsigned grid = (unsigned)((pairs + MVQ_WARPS - 1) / MVQ_WARPS);
    if (T == 1)
        k_matvec_q8_multi<1><<<grid, 32 * MVQ_WARPS, 0, st>>>(*g, K, xq, xd, T);
    else
        k_matvec_q8_multi<LL_CUDA_MATVEC_MAX><<<grid, 32 * MVQ_WARPS, 0, st>>>(*g, K, xq, xd, T);
}

bool ll_cuda_matvec_q8_ok(const ll_dweight *w) {
    switch (w->type) {
    case LL_TYPE_Q8_0: return w->ne0 % 32 == 0;
    case LL_TYPE_Q4_K: case LL_TYPE_Q6_K: return w->ne0 % 256 == 0;
    default: return false;
    }
}

void ll_cuda_quant_q8(const float *x, int T, int K, void *q8, cudaStream_t st) {
    const int nb = T * K / 32;
    float *xd = (float *)((uint8_t *)q8 + LL_CUDA_Q8_XQ_BYTES(T, K));
    k_quant_q8<<<(unsigned)((nb + 3) / 4), 128, 0, st>>>(x, (int8_t *)q8, xd, nb);
}

void ll_cuda_rmsnorm_quant_q8(const float *x, const float *g, int T, int D, float eps, void *q8, cudaStream_t st) {
    float *xd = (float *)((uint8_t *)q8 + LL_CUDA_Q8_XQ_BYTES(T, D));
    k_rmsnorm_quant_q8<<<T, 1024, 0, st>>>(x, g, D, eps, (int8_t *)q8, xd);
}

void ll_cuda_swiglu_quant_q8(const float *g, const float *u, int T, int F, void *q8, cudaStream_t st) {
    const int nb = T * F / 32;
    float *xd = (float *)((uint8_t *)q8 + LL_CUDA_Q8_XQ_BYTES(T, F));
    k_swiglu_quant_q8<<<(unsigned)((nb + 3) / 4), 128, 0, st>>>(g, u, (int8_t *)q8, xd, nb);
}

void ll_cuda_matvec_q8(const ll_dweight *w, const void *q8, int T, float *y, const float *bias, bool accumulate,
                       cudaStream_t st) {
    const int K = w->ne0;
    const int8_t *xq = (const int8_t *)q8;
    const float *xd = (const float *)((const uint8_t *)q8 + LL_CUDA_Q8_XQ_BYTES(T, K));
    const unsigned g1 = (unsigned)((w->ne1 + 2 * MVQ_WARPS - 1) / (2 * MVQ_WARPS));
    const unsigned g8 = (unsigned)((w->ne1 + MVQ_WARPS - 1) / MVQ_WARPS);
/* Q6_K's unpacking holds more registers: two rows per warp measured slower there */
#define LAUNCH(TY)                                                                                             \
    if (T == 1 && TY != LL_TYPE_Q6_K)                                                                          \
        k_matvec_q8<TY, 1, 2><<<g1, 32 * MVQ_WARPS, 0, st>>>(w->d, w->row_bytes, K, w->ne1, xq, xd, T, y, bias, \
                                                            accumulate);                                       \
    else if (T == 1)                                                                                           \
        k_matvec_q8<TY, 1, 1><<<g8, 32 * MVQ_WARPS, 0, st>>>(w->d, w->row_bytes, K, w->ne1, xq, xd, T, y, bias, \
                                                            accumulate);                                       \
    else                                                                                                       \
        k_matvec_q8<TY, LL_CUDA_MATVEC_MAX, 1><<<g8, 32 * MVQ_WARPS, 0, st>>>(w->d, w->row_bytes, K, w->ne1, xq, \
                                                                             xd, T, y, bias, accumulate);
    switch (w->type) {
    case LL_TYPE_Q8_0: LAUNCH(LL_TYPE_Q8_0) break;
    case LL_TYPE_Q4_K: LAUNCH(LL_TYPE_Q4_K) break;
    case LL_TYPE_Q6_K: LAUNCH(LL_TYPE_Q6_K) break;
    default: break;
    }
#undef LAUNCH
}
