/* Matrix-vector products of generation steps for the formats of the usual
 * files (Q4_K, and Q6_K and Q8_0 in the packed layouts of packed.h) on 8-bit
 * activations with integer dot products (dp4a): the activations are
 * quantized once per product to blocks of 32 int8 values with a scale and
 * the scaled sum of the block (q8act.h). The unit of work is an item of 64
 * weights: 36 bytes of a Q4_K row and 48 + 4 of a Q6_K row (two activation
 * blocks), 64 + 8 of a Q8_0 row (four 16-byte pieces 128 bytes apart in four
 * blocks: see q80_piece), each read with 16-byte loads. */
#include "cuda/kernels.h"
#include "cuda/launch.h"
#include "cuda/packed.h"
#include "cuda/q8act.h"

/* ---- activations: x (T, K) -> int8 values and block pairs (q8act.h) ---- */

__global__ void k_quant_q8(const float *__restrict__ x, int8_t *__restrict__ q, float2 *__restrict__ m,
                           int n_blocks) {
    ll_pdl_trigger(); /* the product after it can start loading its weights */
    ll_pdl_wait();
    const int b = blockIdx.x * (blockDim.x / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (b >= n_blocks) return;
    ll_q8_put(x[(size_t)b * 32 + lane], lane, q, m, (size_t)b);
}

/* rmsnorm(x) * g quantized (the normed row is not kept): a warp per block
 * of 32 values, RQ_WARPS of them per thread block, blockIdx.y the row. Each
 * thread block sums the squares of the whole row itself (a few KB from L2),
 * so the row is spread over many thread blocks with no second pass: one
 * block per row took 6.7 us at D = 3584, a latency chain on the critical
 * path of every layer, twice. */
#define RQ_WARPS 8
__global__ void __launch_bounds__(32 * RQ_WARPS)
k_rmsnorm_quant_q8(const float *__restrict__ x, const float *__restrict__ g, int D, float eps,
                   int8_t *__restrict__ q, float2 *__restrict__ m) {
    const int lane = threadIdx.x & 31, b = blockIdx.x * RQ_WARPS + (threadIdx.x >> 5), i = b * 32 + lane;
    const bool mine = b < D / 32;
    const float gv = mine ? g[i] : 0.f; /* a weight: read before the wait */
    ll_pdl_trigger(); /* the product after it can start loading its weights */
    ll_pdl_wait();
    const float *xr = x + (size_t)blockIdx.y * D;
    const float xv = mine ? xr[i] : 0.f;
    float ss = 0.f;
    if (D % 4 == 0) {
        const float4 *x4 = reinterpret_cast<const float4 *>(xr);
#pragma unroll 4
        for (int k = threadIdx.x; k < D / 4; k += blockDim.x) {
            const float4 v = x4[k];
            ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
        }
    } else {
        for (int k = threadIdx.x; k < D; k += blockDim.x) ss += xr[k] * xr[k];
    }
    const float scale = rsqrtf(ll_block_sum(ss) / D + eps);
    if (mine) ll_q8_put(xv * scale * gv, lane, q, m, (size_t)blockIdx.y * (D / 32) + b);
}

/* silu(g) * u quantized, for a down projection (the product is not kept). */
__global__ void k_swiglu_quant_q8(const float *__restrict__ g, const float *__restrict__ u, int8_t *__restrict__ q,
                                  float2 *__restrict__ m, int n_blocks) {
    ll_pdl_trigger();
    ll_pdl_wait();
    const int b = blockIdx.x * (blockDim.x / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (b >= n_blocks) return;
    const size_t i = (size_t)b * 32 + lane;
    ll_q8_put(ll_swiglu(g[i], u[i]), lane, q, m, (size_t)b);
}

/* ---- the items ---- */

static __device__ __forceinline__ int dot4(const uint32_t *w, const int4 &x0, int acc) {
    acc = __dp4a((int)w[0], x0.x, acc);
    acc = __dp4a((int)w[1], x0.y, acc);
    acc = __dp4a((int)w[2], x0.z, acc);
    return __dp4a((int)w[3], x0.w, acc);
}

static __device__ __forceinline__ int dot8(const uint32_t *w, const int4 &x0, const int4 &x1, int acc) {
    return dot4(w + 4, x1, dot4(w, x0, acc));
}

/* A row of one weight: where its item j lies (per type). */
struct wrow {
    const uint8_t *a, *b, *c, *d;
    int k; /* weights per row */
};

template <int TYPE> static __device__ __forceinline__ wrow row_of(const ll_dweight &W, int row) {
    const size_t N = (size_t)W.ne1, K = (size_t)W.ne0, r = (size_t)row;
    wrow p;
    p.k = W.ne0;
    if constexpr (TYPE == LL_TYPE_Q4_K) {
        p.a = W.d + r * W.row_bytes;
        p.b = p.c = p.d = p.a;
    } else if constexpr (TYPE == LL_CUDA_Q8_0P) {
        const ll_packed_sections s = ll_packed(TYPE, N, K);
        p.a = W.d + r * K;
        p.b = W.d + s.s1 + r * (K / 16);
        p.c = p.d = p.a;
    } else {
        const ll_packed_sections s = ll_packed(TYPE, N, K);
        p.a = W.d + r * (K / 2);
        p.b = W.d + s.s1 + r * (K / 4);
        p.c = W.d + s.s2 + r * (K / 16);
        p.d = W.d + s.s3 + r * (K / 128);
    }
    return p;
}

/* An item's weights in registers, decoded as far as the activations allow. */
template <int TYPE> struct item;

template <> struct item<LL_TYPE_Q4_K> {
    uint32_t q[8];
    float dsc0, dsc1, m0, m1; /* d * scale and dmin * min of the item's two sub-blocks */
    __device__ __forceinline__ void load(const wrow &p, int j) {
        const uint8_t *sb = p.a + (size_t)(j >> 2) * sizeof(ll_block_q4_K);
        const int c = j & 3;
        const uint4 hdr = *reinterpret_cast<const uint4 *>(sb); /* d, dmin, 12 bytes of scales */
        const uint4 q0 = *reinterpret_cast<const uint4 *>(sb + 16 + 32 * c);
        const uint4 q1 = *reinterpret_cast<const uint4 *>(sb + 32 + 32 * c);
        q[0] = q0.x; q[1] = q0.y; q[2] = q0.z; q[3] = q0.w;
        q[4] = q1.x; q[5] = q1.y; q[6] = q1.z; q[7] = q1.w;
        /* the 6-bit scales and mins of sub-blocks 2c and 2c+1, two bytes at a time */
        const int sh = 16 * (c & 1);
        const uint32_t A = hdr.y >> sh, B = hdr.z >> sh, C = hdr.w >> sh;
        uint32_t sc, mn;
        if (c < 2) {
            sc = A & 0x3F3Fu;
            mn = B & 0x3F3Fu;
        } else {
            sc = (C & 0x0F0Fu) | ((A >> 2) & 0x3030u);
            mn = ((C >> 4) & 0x0F0Fu) | ((B >> 2) & 0x3030u);
        }
        const float2 dm = __half22float2(*reinterpret_cast<const __half2 *>(&hdr.x));
        dsc0 = dm.x * (float)(sc & 0xFF);
        dsc1 = dm.x * (float)(sc >> 8);
        m0 = dm.y * (float)(mn & 0xFF);
        m1 = dm.y * (float)(mn >> 8);
    }
    __device__ __forceinline__ float dot(const int4 *x, const float4 &m) const {
        uint32_t lo[8], hi[8];
#pragma unroll
        for (int i = 0; i < 8; i++) {
            lo[i] = q[i] & 0x0F0F0F0Fu;
            hi[i] = (q[i] >> 4) & 0x0F0F0F0Fu;
        }
        const int da = dot8(lo, x[0], x[1], 0), db = dot8(hi, x[2], x[3], 0);
        return m.x * dsc0 * (float)da - m0 * m.y + m.z * dsc1 * (float)db - m1 * m.w;
    }
};

/* Item j of a Q8_0 row of K weights: its chunk c = j / 8 holds the
 * W = min(512, K - 512c) weights from 512c, and the item the four 16-weight
 * pieces at 16 (j % 8) + (W / 4) i of them. So the eight lanes of a row
 * read 128 contiguous bytes per load (whole sectors). Contiguous 64-byte
 * items, read 16 bytes 64 apart per load, gave 329 t/s instead of 371 for
 * 7B Q8_0 generation (same machine). A piece lies in one block of 32
 * (offsets are multiples of 16). */
static __device__ __forceinline__ int q80_piece(int j, int i, int K) {
    const int c = j >> 3, w = min(512, K - 512 * c);
    return 512 * c + 16 * (j & 7) + (w >> 2) * i;
}

template <> struct item<LL_CUDA_Q8_0P> {
    uint32_t q[16];
    float d[4]; /* the pieces' block scales */
    __device__ __forceinline__ void load(const wrow &p, int j) {
        const __half *ds = reinterpret_cast<const __half *>(p.b);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int o = q80_piece(j, i, p.k);
            const uint4 v = *reinterpret_cast<const uint4 *>(p.a + o);
            q[4 * i] = v.x; q[4 * i + 1] = v.y; q[4 * i + 2] = v.z; q[4 * i + 3] = v.w;
            d[i] = __half2float(ds[o >> 5]);
        }
    }
    /* x[i]: the activations of piece i; m: their blocks' scales */
    __device__ __forceinline__ float dot(const int4 *x, const float4 &m) const {
        return m.x * d[0] * (float)dot4(q, x[0], 0) + m.y * d[1] * (float)dot4(q + 4, x[1], 0) +
               m.z * d[2] * (float)dot4(q + 8, x[2], 0) + m.w * d[3] * (float)dot4(q + 12, x[3], 0);
    }
};

template <> struct item<LL_CUDA_Q6_KP> {
    uint32_t lo[8], hi[4];
    float sc[4]; /* d * scale of each 16 weights */
    __device__ __forceinline__ void load(const wrow &p, int j) {
        const uint4 l0 = reinterpret_cast<const uint4 *>(p.a)[2 * j], l1 = reinterpret_cast<const uint4 *>(p.a)[2 * j + 1];
        const uint4 h = reinterpret_cast<const uint4 *>(p.b)[j];
        const uint32_t s = reinterpret_cast<const uint32_t *>(p.c)[j];
        const float d = __half2float(reinterpret_cast<const __half *>(p.d)[j >> 2]);
        lo[0] = l0.x; lo[1] = l0.y; lo[2] = l0.z; lo[3] = l0.w;
        lo[4] = l1.x; lo[5] = l1.y; lo[6] = l1.z; lo[7] = l1.w;
        hi[0] = h.x; hi[1] = h.y; hi[2] = h.z; hi[3] = h.w;
#pragma unroll
        for (int i = 0; i < 4; i++) sc[i] = d * (float)(int8_t)(s >> (8 * i));
    }
    __device__ __forceinline__ float dot(const int4 *x, const float4 &m) const {
        int s[4];
#pragma unroll
        for (int b = 0; b < 2; b++) {
            uint32_t w[8];
#pragma unroll
            for (int i = 0; i < 8; i++) {
                /* 6-bit two's complement, sign-extended to the byte */
                const uint32_t u = ((lo[i] >> (4 * b)) & 0x0F0F0F0Fu) |
                                   (((hi[i & 3] >> (2 * ((i >> 2) + 2 * b))) & 0x03030303u) << 4);
                w[i] = u | ((u & 0x20202020u) * 6u);
            }
            s[2 * b] = dot4(w, x[2 * b], 0);
            s[2 * b + 1] = dot4(w + 4, x[2 * b + 1], 0);
        }
        return m.x * (sc[0] * (float)s[0] + sc[1] * (float)s[1]) + m.z * (sc[2] * (float)s[2] + sc[3] * (float)s[3]);
    }
};

/* ---- the kernels ---- */

/* Eight lanes share a row, a lane works on R rows (rows_per_lane) and a warp
 * on 4R, so one activation load serves R rows and the lanes that read the
 * same activations (same item, other rows) share one L1 wavefront; a block
 * of four warps splits the rows' items between KS of them (KS = 4, or 1
 * for the output's many rows: see k_splits), and the split sums meet in
 * shared memory. The activations (four 16-byte loads
 * per item and token, from L1) cost more L1 cycles than the weights: sharing
 * them is what brings the products near the memory bandwidth (figures in
 * bench/RESULTS.md). */
#define MVQ_WARPS 4
#define MVQ_LPR 8
#define MVQ_RPW (32 / MVQ_LPR)

/* Items a lane loads before it computes: two for the 36- and 52-byte items
 * (more held more registers and measured slower), one for Q8_0's 68. */
template <int TYPE> struct items_ahead { static constexpr int n = 2; };
template <> struct items_ahead<LL_CUDA_Q8_0P> { static constexpr int n = 1; };

/* Rows per lane R: a lane's activation loads serve R rows (r, r + 4, ...).
 * Two, except one for Q8_0 single-token products below the output's size
 * (its 68-byte items already keep enough loads in flight; measured). A
 * warp has 4R rows; MVQ_RMAX bounds R for the row-count rules. */
#define MVQ_RMAX 2

/* acc[k][t] += row_k . x_t over items j0, j0 + step, ... for the lane's
 * rows row + 4k (each clamped to the last row: the shuffles need every lane). */
template <int TYPE, int TMAX, int MVQ_R>
static __device__ __forceinline__ void rows_dot(const ll_dweight &W, int row, int j_first, int step,
                                                const int8_t *__restrict__ xq, const float4 *__restrict__ xm, int T,
                                                float (*acc)[TMAX]) {
    constexpr int U = items_ahead<TYPE>::n;
    wrow p[MVQ_R];
#pragma unroll
    for (int k = 0; k < MVQ_R; k++) {
        const int r = row + MVQ_RPW * k;
        p[k] = row_of<TYPE>(W, r < W.ne1 ? r : W.ne1 - 1);
    }
    const int K = W.ne0, nj = K / 64;
    for (int j0 = j_first; j0 < nj; j0 += step * U) {
        item<TYPE> it[U][MVQ_R];
#pragma unroll
        for (int u = 0; u < U; u++)
#pragma unroll
            for (int k = 0; k < MVQ_R; k++)
                if (j0 + step * u < nj) it[u][k].load(p[k], j0 + step * u);
        /* the first weights are on their way: now wait for the activations */
        if (j0 == j_first) ll_pdl_wait();
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int j = j0 + step * u;
            if (j >= nj) break;
#pragma unroll
            for (int t = 0; t < TMAX; t++) {
                if (t >= T) break;
                int4 x[4];
                float4 m;
                if constexpr (TYPE == LL_CUDA_Q8_0P) { /* the item's pieces */
                    const int8_t *xr = xq + (size_t)t * K;
                    const float2 *mb = reinterpret_cast<const float2 *>(xm) + (size_t)t * (K / 32);
                    float d[4];
#pragma unroll
                    for (int i = 0; i < 4; i++) {
                        const int o = q80_piece(j, i, K);
                        x[i] = *reinterpret_cast<const int4 *>(xr + o);
                        d[i] = mb[o >> 5].x;
                    }
                    m = make_float4(d[0], d[1], d[2], d[3]);
                } else {
                    const int4 *xp = reinterpret_cast<const int4 *>(xq + (size_t)t * K + (size_t)j * 64);
                    x[0] = xp[0]; x[1] = xp[1]; x[2] = xp[2]; x[3] = xp[3];
                    m = xm[(size_t)t * (K / 64) + j];
                }
#pragma unroll
                for (int k = 0; k < MVQ_R; k++) acc[k][t] += it[u][k].dot(x, m);
            }
        }
    }
}

/* Sums each row's lanes and the block's KS splits, and stores (bias added,
 * or accumulated into y). */
template <int TMAX, int KS, int MVQ_R>
static __device__ __forceinline__ void rows_store(float (*acc)[TMAX], int row, int N, int T, float *__restrict__ y,
                                                  const float *__restrict__ bias, int accumulate) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, sub = lane % MVQ_LPR;
#pragma unroll
    for (int k = 0; k < MVQ_R; k++)
#pragma unroll
        for (int t = 0; t < TMAX; t++) {
            float v = acc[k][t];
            v += __shfl_xor_sync(0xffffffffu, v, 4);
            v += __shfl_xor_sync(0xffffffffu, v, 2);
            v += __shfl_xor_sync(0xffffffffu, v, 1);
            acc[k][t] = v;
        }
    if constexpr (KS > 1) {
        __shared__ float part[MVQ_WARPS][MVQ_R][MVQ_RPW][TMAX];
        if (sub == 0)
#pragma unroll
            for (int k = 0; k < MVQ_R; k++)
#pragma unroll
                for (int t = 0; t < TMAX; t++) part[warp][k][lane / MVQ_LPR][t] = acc[k][t];
        __syncthreads();
        if (warp % KS) return;
#pragma unroll
        for (int k = 0; k < MVQ_R; k++)
#pragma unroll
            for (int t = 0; t < TMAX; t++)
#pragma unroll
                for (int s = 1; s < KS; s++) acc[k][t] += part[warp + s][k][lane / MVQ_LPR][t];
    }
    if (sub != 0) return;
#pragma unroll
    for (int k = 0; k < MVQ_R; k++) {
        const int r = row + MVQ_RPW * k;
        if (r >= N) break;
#pragma unroll
        for (int t = 0; t < TMAX; t++) {
            if (t >= T) break;
            const float v = acc[k][t] + (bias ? bias[r] : 0.f);
            float *o = y + (size_t)t * N + r;
            *o = accumulate ? *o + v : v;
        }
    }
}

/* This thread's first row (rows of a warp's group are consecutive) and first item. */
template <int KS, int MVQ_R> static __device__ __forceinline__ int block_row() {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    return (blockIdx.x * (MVQ_WARPS / KS) + warp / KS) * (MVQ_RPW * MVQ_R) + lane / MVQ_LPR;
}
template <int KS> static __device__ __forceinline__ int first_item() {
    return (threadIdx.x >> 5) % KS * MVQ_LPR + (threadIdx.x & 31) % MVQ_LPR;
}

template <int TYPE, int TMAX, int KS, int MVQ_R>
__global__ void __launch_bounds__(32 * MVQ_WARPS)
k_matvec_q8(ll_dweight W, const int8_t *__restrict__ xq, const float4 *__restrict__ xm, int T, float *__restrict__ y,
            const float *__restrict__ bias, int accumulate) {
    const int row = block_row<KS, MVQ_R>();
    float acc[MVQ_R][TMAX];
#pragma unroll
    for (int k = 0; k < MVQ_R; k++)
#pragma unroll
        for (int t = 0; t < TMAX; t++) acc[k][t] = 0.f;
    ll_pdl_trigger();
    rows_dot<TYPE, TMAX, MVQ_R>(W, row, first_item<KS>(), MVQ_LPR * KS, xq, xm, T, acc);
    ll_pdl_wait(); /* (lanes without items did not wait in rows_dot) */
    rows_store<TMAX, KS, MVQ_R>(acc, row, W.ne1, T, y, bias, accumulate);
}

/* Several products of one input in one launch (q/k/v, gate/up): blocks are
 * dealt out over the weights' rows in order (row counts are multiples of a
 * block's rows, so a block's rows lie in one weight), and a block
 * dispatches on its weight's type. Saves launches, and lets the small k/v
 * products run beside q instead of alone on a mostly idle GPU. */
template <int TMAX, int KS, int MVQ_R, int TYPE>
__global__ void __launch_bounds__(32 * MVQ_WARPS)
k_matvec_q8_multi(ll_cuda_mv_group g, const int8_t *__restrict__ xq, const float4 *__restrict__ xm, int T) {
    int row = block_row<KS, MVQ_R>();
    int i = 0;
    while (i < g.n && row >= g.w[i].ne1) {
        row -= g.w[i].ne1;
        i++;
    }
    if (i >= g.n) return; /* whole blocks only: the rows after the last weight's */
    ll_pdl_trigger();
    const ll_dweight &W = g.w[i];
    float acc[MVQ_R][TMAX];
#pragma unroll
    for (int k = 0; k < MVQ_R; k++)
#pragma unroll
        for (int t = 0; t < TMAX; t++) acc[k][t] = 0.f;
    const int j0 = first_item<KS>(), step = MVQ_LPR * KS;
    if constexpr (TYPE != 0) { /* one type: only its registers (more blocks fit) */
        rows_dot<TYPE, TMAX, MVQ_R>(W, row, j0, step, xq, xm, T, acc);
    } else {
        switch (W.type) {
        case LL_TYPE_Q4_K: rows_dot<LL_TYPE_Q4_K, TMAX, MVQ_R>(W, row, j0, step, xq, xm, T, acc); break;
        case LL_CUDA_Q6_KP: rows_dot<LL_CUDA_Q6_KP, TMAX, MVQ_R>(W, row, j0, step, xq, xm, T, acc); break;
        default: rows_dot<LL_CUDA_Q8_0P, TMAX, MVQ_R>(W, row, j0, step, xq, xm, T, acc); break;
        }
    }
    ll_pdl_wait();
    rows_store<TMAX, KS, MVQ_R>(acc, row, W.ne1, T, g.y[i], g.bias[i], 0);
}

/* Warps per row group: four, so a product is cut into enough blocks that
 * the last wave of blocks is a small part of it; one only for products of
 * the output's size (many waves either way), and for the K-quants' several-
 * token products of 16384 rows or more. With one warp, gate/up (2 x 18944 rows at
 * 7B) came to 2.2 waves of blocks, and the third, a quarter full, left the
 * memory bus idle: four gave 7B generation 377 -> 392 t/s (Q8_0), 476 -> 480
 * (Q4_K_M), 14B Q4_K_M 229 -> 243; four Q8_0 tokens 969 -> 1107 t/s, but
 * four Q4_K_M tokens 898 -> 873 (bench/RESULTS.md). */
static int k_splits(int N, int T, bool q8_0) {
    return N >= ((T == 1 || q8_0) ? 65536 : 16384) ? 1 : 4;
}

static int rows_per_lane(bool q8_0, int N, int T) {
    return q8_0 && T == 1 && N < 65536 ? 1 : 2;
}

/* ---- launchers ---- */

static const float4 *meta_of(const void *q8, int T, int K) {
    return reinterpret_cast<const float4 *>(static_cast<const uint8_t *>(q8) + LL_CUDA_Q8_XQ_BYTES(T, K));
}

bool ll_cuda_matvec_q8_ok(const ll_dweight *w) {
    switch (w->type) {
    case LL_TYPE_Q4_K: case LL_CUDA_Q6_KP: return w->ne0 % 256 == 0;
    case LL_CUDA_Q8_0P: return w->ne0 % 64 == 0;
    default: return false;
    }
}

/* Calls LAUNCH(tokens, KS, R) with the compile-time values of the
 * instantiated kernels: one or LL_CUDA_MATVEC_MAX tokens, KS 1 or 4, R 1
 * (single-token steps) or 2. */
#define MVQ_DISPATCH(T, ks, r)                                         \
    if ((T) == 1 && (ks) == 1) {                                       \
        if ((r) == 1) LAUNCH(1, 1, 1); else LAUNCH(1, 1, 2);           \
    } else if ((T) == 1) {                                             \
        if ((r) == 1) LAUNCH(1, 4, 1); else LAUNCH(1, 4, 2);           \
    } else if ((ks) == 1) {                                            \
        LAUNCH(LL_CUDA_MATVEC_MAX, 1, 2);                              \
    } else {                                                           \
        LAUNCH(LL_CUDA_MATVEC_MAX, 4, 2);                              \
    }

bool ll_cuda_matvec_q8_group_ok(const ll_dweight *w) {
    return ll_cuda_matvec_q8_ok(w) && w->ne1 % (MVQ_RPW * MVQ_RMAX * MVQ_WARPS) == 0;
}

void ll_cuda_matvec_q8_group(const ll_cuda_mv_group *g, const void *q8, int T, cudaStream_t st) {
    const int K = g->w[0].ne0;
    int rows = 0;
    for (int i = 0; i < g->n; i++) rows += g->w[i].ne1;
    const int8_t *xq = (const int8_t *)q8;
    const float4 *xm = meta_of(q8, T, K);
    int type = g->w[0].type; /* 0: mixed */
    for (int i = 1; i < g->n; i++)
        if (g->w[i].type != type) type = 0;
    const int ks = k_splits(rows, T, type == LL_CUDA_Q8_0P), r = rows_per_lane(type == LL_CUDA_Q8_0P, rows, T);
    const int rpb = MVQ_RPW * r * MVQ_WARPS / ks;
    const unsigned grid = (unsigned)((rows + rpb - 1) / rpb);
#define LAUNCH(TM, KS, R) ll_launch_pdl(k_matvec_q8_multi<TM, KS, R, TY>, grid, 32 * MVQ_WARPS, 0, st, *g, xq, xm, T)
    switch (type) {
    case LL_TYPE_Q4_K: { constexpr int TY = LL_TYPE_Q4_K; MVQ_DISPATCH(T, ks, r) } break;
    case LL_CUDA_Q6_KP: { constexpr int TY = LL_CUDA_Q6_KP; MVQ_DISPATCH(T, ks, r) } break;
    case LL_CUDA_Q8_0P: { constexpr int TY = LL_CUDA_Q8_0P; MVQ_DISPATCH(T, ks, r) } break;
    default: { constexpr int TY = 0; MVQ_DISPATCH(T, ks, r) } break;
    }
#undef LAUNCH
}

void ll_cuda_quant_q8(const float *x, int T, int K, void *q8, cudaStream_t st) {
    const int nb = T * K / 32;
    ll_launch_pdl(k_quant_q8, (nb + 3) / 4, 128, 0, st, x, (int8_t *)q8, ll_q8_meta(q8, T, K), nb);
}

void ll_cuda_rmsnorm_quant_q8(const float *x, const float *g, int T, int D, float eps, void *q8, cudaStream_t st) {
    const dim3 grid((unsigned)((D / 32 + RQ_WARPS - 1) / RQ_WARPS), (unsigned)T);
    ll_launch_pdl(k_rmsnorm_quant_q8, grid, 32 * RQ_WARPS, 0, st, x, g, D, eps, (int8_t *)q8, ll_q8_meta(q8, T, D));
}

void ll_cuda_swiglu_quant_q8(const float *g, const float *u, int T, int F, void *q8, cudaStream_t st) {
    const int nb = T * F / 32;
    ll_launch_pdl(k_swiglu_quant_q8, (nb + 3) / 4, 128, 0, st, g, u, (int8_t *)q8, ll_q8_meta(q8, T, F), nb);
}

template <int TYPE>
static void launch_one(const ll_dweight *w, const int8_t *xq, const float4 *xm, int T, float *y, const float *bias,
                       int acc, cudaStream_t st) {
    const int ks = k_splits(w->ne1, T, TYPE == LL_CUDA_Q8_0P), r = rows_per_lane(TYPE == LL_CUDA_Q8_0P, w->ne1, T);
    const int rpb = MVQ_RPW * r * MVQ_WARPS / ks;
    const unsigned grid = (unsigned)((w->ne1 + rpb - 1) / rpb);
#define LAUNCH(TM, KS, R) \
    ll_launch_pdl(k_matvec_q8<TYPE, TM, KS, R>, grid, 32 * MVQ_WARPS, 0, st, *w, xq, xm, T, y, bias, acc)
    MVQ_DISPATCH(T, ks, r)
#undef LAUNCH
}

void ll_cuda_matvec_q8(const ll_dweight *w, const void *q8, int T, float *y, const float *bias, bool accumulate,
                       cudaStream_t st) {
    const int8_t *xq = (const int8_t *)q8;
    const float4 *xm = meta_of(q8, T, w->ne0);
    switch (w->type) {
    case LL_TYPE_Q4_K: launch_one<LL_TYPE_Q4_K>(w, xq, xm, T, y, bias, accumulate, st); break;
    case LL_CUDA_Q6_KP: launch_one<LL_CUDA_Q6_KP>(w, xq, xm, T, y, bias, accumulate, st); break;
    case LL_CUDA_Q8_0P: launch_one<LL_CUDA_Q8_0P>(w, xq, xm, T, y, bias, accumulate, st); break;
    default: break;
    }
}
