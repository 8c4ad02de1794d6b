/* The CUDA backend's kernels: simple, coalesced, FP32 arithmetic. */
#include "cuda/kernels.h"
#include "cuda/dequant.h"
#include "cuda/q8act.h"
#include "cuda/launch.h"
#include "cuda/mma.h"

#include <math.h>

/* ---- matrix-vector: a block of MV_THREADS threads per ROWS output rows;
 * the threads stride over the row's groups of 8 weights (consecutive threads,
 * consecutive groups: coalesced), then the partial sums meet in shared
 * memory. Spreading one row over a whole block (not one warp) keeps enough
 * loads in flight when rows are long and few, as in the down projection
 * (3584 rows of 18944 at 7B), which a warp per row left latency-bound.
 * A thread loads its 8 activations of each of the T rows once and reuses
 * them for the ROWS weight rows. ---- */

#define MV_THREADS 128

template <int TYPE, int TMAX, int ROWS>
__global__ void __launch_bounds__(MV_THREADS)
k_matvec(const uint8_t *__restrict__ W, size_t row_bytes, int K, int N, const float *__restrict__ x, int T,
         float *__restrict__ y, const float *__restrict__ bias, int accumulate) {
    const int row0 = blockIdx.x * ROWS, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int nr = N - row0 < ROWS ? N - row0 : ROWS;
    float acc[ROWS][TMAX];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int t = 0; t < TMAX; t++) acc[r][t] = 0.f;
    const int ng = K / 8;
    for (int g = tid; g < ng; g += MV_THREADS) {
        float xv[TMAX][8];
#pragma unroll
        for (int t = 0; t < TMAX; t++) {
            if (t >= T) break;
            const float4 *xp = reinterpret_cast<const float4 *>(x + (size_t)t * K) + 2 * g;
            const float4 a = xp[0], b = xp[1];
            xv[t][0] = a.x; xv[t][1] = a.y; xv[t][2] = a.z; xv[t][3] = a.w;
            xv[t][4] = b.x; xv[t][5] = b.y; xv[t][6] = b.z; xv[t][7] = b.w;
        }
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            if (r >= nr) break;
            float wv[8];
            ll_deq8_at<TYPE>(W, row_bytes, N, K, row0 + r, g, wv);
#pragma unroll
            for (int t = 0; t < TMAX; t++) {
                if (t >= T) break;
                float s = acc[r][t];
#pragma unroll
                for (int i = 0; i < 8; i++) s = fmaf(wv[i], xv[t][i], s);
                acc[r][t] = s;
            }
        }
    }
    __shared__ float part[MV_THREADS / 32][ROWS][TMAX];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int t = 0; t < TMAX; t++) {
            const float v = ll_warp_sum(acc[r][t]);
            if (lane == 0) part[warp][r][t] = v;
        }
    __syncthreads();
    if (tid < ROWS * TMAX) {
        const int r = tid / TMAX, t = tid % TMAX;
        if (r < nr && t < T) {
            float v = 0.f;
#pragma unroll
            for (int w = 0; w < MV_THREADS / 32; w++) v += part[w][r][t];
            const int row = row0 + r;
            v += bias ? bias[row] : 0.f;
            float *o = y + (size_t)t * N + row;
            *o = accumulate ? *o + v : v;
        }
    }
}

void ll_cuda_matvec(const ll_dweight *w, const float *x, int T, float *y, const float *bias, bool accumulate,
                    cudaStream_t st) {
    const unsigned g1 = (unsigned)((w->ne1 + 3) / 4), g2 = (unsigned)((w->ne1 + 1) / 2);
#define LAUNCH(TY)                                                                                             \
    if (T == 1)                                                                                                \
        k_matvec<TY, 1, 4><<<g1, MV_THREADS, 0, st>>>(w->d, w->row_bytes, w->ne0, w->ne1, x, T, y, bias,       \
                                                      accumulate);                                             \
    else                                                                                                       \
        k_matvec<TY, LL_CUDA_MATVEC_MAX, 2><<<g2, MV_THREADS, 0, st>>>(w->d, w->row_bytes, w->ne0, w->ne1, x, T, \
                                                                       y, bias, accumulate);
    LL_CUDA_TYPE_SWITCH(w->type, LAUNCH)
#undef LAUNCH
}

/* ---- dequantize a whole matrix to FP16 (for cuBLAS), a thread per group ---- */

template <int TYPE>
__global__ void k_dequant_f16(const uint8_t *__restrict__ W, size_t row_bytes, int N, int K, int64_t n_groups,
                              __half *__restrict__ out) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_groups) return;
    const int gpr = K / 8;
    const int64_t row = i / gpr;
    const int g = (int)(i % gpr);
    float v[8];
    ll_deq8_at<TYPE>(W, row_bytes, N, K, row, g, v);
    __align__(16) __half2 h[4];
#pragma unroll
    for (int k = 0; k < 4; k++) h[k] = __floats2half2_rn(v[2 * k], v[2 * k + 1]);
    reinterpret_cast<uint4 *>(out)[i] = *reinterpret_cast<const uint4 *>(h);
}

void ll_cuda_dequant_f16(const ll_dweight *w, __half *out, cudaStream_t st) {
    const int64_t n = (int64_t)w->ne1 * (w->ne0 / 8);
    const unsigned grid = (unsigned)((n + 255) / 256);
#define LAUNCH(TY) k_dequant_f16<TY><<<grid, 256, 0, st>>>(w->d, w->row_bytes, w->ne1, w->ne0, n, out);
    LL_CUDA_TYPE_SWITCH(w->type, LAUNCH)
#undef LAUNCH
}

__global__ void k_f32_to_f16(const float *__restrict__ x, __half *__restrict__ y, int64_t n) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = __float2half_rn(x[i]);
}

void ll_cuda_f32_to_f16(const float *x, __half *y, int64_t n, cudaStream_t st) {
    k_f32_to_f16<<<(unsigned)((n + 255) / 256), 256, 0, st>>>(x, y, n);
}

__global__ void k_add_bias(float *y, const float *b, int T, int N) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (int64_t)T * N) y[i] += b[i % N];
}

void ll_cuda_add_bias(float *y, const float *bias, int T, int N, cudaStream_t st) {
    const int64_t n = (int64_t)T * N;
    k_add_bias<<<(unsigned)((n + 255) / 256), 256, 0, st>>>(y, bias, T, N);
}

/* ---- elementwise and row ops ---- */

static __device__ __forceinline__ void put(float *y, float v) { *y = v; }
static __device__ __forceinline__ void put(__half *y, float v) { *y = __float2half_rn(v); }

template <typename OUT>
__global__ void k_rmsnorm(const float *__restrict__ x, const float *__restrict__ g, OUT *__restrict__ y, int D,
                          float eps) {
    const float *xr = x + (size_t)blockIdx.x * D;
    OUT *yr = y + (size_t)blockIdx.x * D;
    const float scale = ll_block_rms_scale(xr, D, eps);
    for (int i = threadIdx.x; i < D; i += blockDim.x) put(yr + i, xr[i] * scale * g[i]);
}

void ll_cuda_rmsnorm(const float *x, const float *g, float *y, int T, int D, float eps, cudaStream_t st) {
    /* a generation step has a row or a few: wide blocks shorten each */
    k_rmsnorm<<<T, T <= LL_CUDA_MATVEC_MAX ? 1024 : 256, 0, st>>>(x, g, y, D, eps);
}

void ll_cuda_rmsnorm_f16(const float *x, const float *g, __half *y, int T, int D, float eps, cudaStream_t st) {
    k_rmsnorm<<<T, T <= LL_CUDA_MATVEC_MAX ? 1024 : 256, 0, st>>>(x, g, y, D, eps);
}

/* cos and sin of the angle of pair k (of rope_dim dims) at position p, in
 * double as the CPU reference computes them: positions reach 1e5 and float
 * angles would drift by 1e-2 rad there. */
static __device__ __forceinline__ void rope_angle(int32_t p, int k, int rope_dim, float base, const float *ff,
                                                  float &cs, float &sn) {
    double inv = pow((double)base, -2.0 * k / rope_dim);
    if (ff) inv /= ff[k];
    double s, c;
    sincos((double)p * inv, &s, &c);
    cs = (float)c;
    sn = (float)s;
}

__global__ void k_rope(float *x, int T, int nh, int hd, int rope_dim, int neox, float base, const float *ff,
                       const int32_t *pos) {
    const int half = rope_dim / 2;
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)T * nh * half) return;
    const int k = (int)(i % half);
    const int64_t th = i / half; /* t * nh + h */
    const int t = (int)(th / nh);
    float cs, sn;
    rope_angle(pos[t], k, rope_dim, base, ff, cs, sn);
    float *v = x + th * hd;
    const int i0 = neox ? k : 2 * k, i1 = neox ? k + half : 2 * k + 1;
    const float a = v[i0], b = v[i1];
    v[i0] = a * cs - b * sn;
    v[i1] = a * sn + b * cs;
}

void ll_cuda_rope(float *x, int T, int n_heads, int hd, int rope_dim, bool neox, float base,
                  const float *freq_factors, const int32_t *pos, cudaStream_t st) {
    const int64_t n = (int64_t)T * n_heads * (rope_dim / 2);
    k_rope<<<(unsigned)((n + 255) / 256), 256, 0, st>>>(x, T, n_heads, hd, rope_dim, neox, base, freq_factors, pos);
}

/* rope of q and k and the cache store of k and v, one thread per rotated
 * pair (q heads, then k heads) or per v value. */
__global__ void k_rope_kv(float *q, const float *k, const float *v, __half *kc, __half *vc, const int32_t *cell,
                          const int32_t *pos, int T, int H, int Hkv, int hd, int neox, float base, const float *ff) {
    /* cells, positions and the angles come from the step's metadata (copied
     * before the step), not from the kernel before: they precede the wait */
    ll_pdl_trigger();
    const int half = hd / 2, kv_dim = Hkv * hd;
    const int64_t nq = (int64_t)T * H * half, nk = (int64_t)T * Hkv * half, nv = (int64_t)T * kv_dim;
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nq + nk) {
        i -= nq + nk;
        if (i >= nv) {
            ll_pdl_wait();
            return;
        }
        const int t = (int)(i / kv_dim), j = (int)(i % kv_dim);
        const size_t dst = (size_t)cell[t] * kv_dim + j;
        ll_pdl_wait();
        vc[dst] = __float2half_rn(v[i]);
        return;
    }
    const bool is_q = i < nq;
    if (!is_q) i -= nq;
    const int nh = is_q ? H : Hkv;
    const int kk = (int)(i % half);
    const int64_t th = i / half; /* t * nh + h */
    const int t = (int)(th / nh);
    float cs, sn;
    rope_angle(pos[t], kk, hd, base, ff, cs, sn);
    const size_t kdst = is_q ? 0 : (size_t)cell[t] * kv_dim + (th % nh) * hd;
    ll_pdl_wait();
    const int i0 = neox ? kk : 2 * kk, i1 = neox ? kk + half : 2 * kk + 1;
    const float *src = (is_q ? q : k) + th * hd;
    const float a = src[i0], b = src[i1];
    const float r0 = a * cs - b * sn, r1 = a * sn + b * cs;
    if (is_q) {
        q[th * hd + i0] = r0;
        q[th * hd + i1] = r1;
    } else {
        __half *dst = kc + kdst;
        dst[i0] = __float2half_rn(r0);
        dst[i1] = __float2half_rn(r1);
    }
}

void ll_cuda_rope_kv(float *q, const float *k, const float *v, __half *kc, __half *vc, const int32_t *cell,
                     const int32_t *pos, int T, int H, int Hkv, int hd, bool neox, float base,
                     const float *freq_factors, cudaStream_t st) {
    const int64_t n = (int64_t)T * (H + Hkv) * (hd / 2) + (int64_t)T * Hkv * hd;
    ll_launch_pdl(k_rope_kv, (unsigned)((n + 255) / 256), 256, 0, st, q, k, v, kc, vc, cell, pos, T, H, Hkv, hd,
                  (int)neox, base, freq_factors);
}

/* y = silu(g) * u (y may be g) */
template <typename OUT> __global__ void k_swiglu(const float *g, const float *u, OUT *y, int64_t n) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) put(y + i, ll_swiglu(g[i], u[i]));
}

void ll_cuda_swiglu(float *g, const float *u, int64_t n, cudaStream_t st) {
    k_swiglu<<<(unsigned)((n + 255) / 256), 256, 0, st>>>(g, u, g, n);
}

void ll_cuda_swiglu_f16(const float *g, const float *u, __half *y, int64_t n, cudaStream_t st) {
    k_swiglu<<<(unsigned)((n + 255) / 256), 256, 0, st>>>(g, u, y, n);
}

__global__ void k_kv_store(const float *k, const float *v, __half *kc, __half *vc, const int32_t *cell, int T,
                           int kv_dim) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)T * kv_dim) return;
    const int t = (int)(i / kv_dim), j = (int)(i % kv_dim);
    const size_t dst = (size_t)cell[t] * kv_dim + j;
    kc[dst] = __float2half_rn(k[i]);
    vc[dst] = __float2half_rn(v[i]);
}

void ll_cuda_kv_store(const float *k, const float *v, __half *kc, __half *vc, const int32_t *cell, int T,
                      int kv_dim, cudaStream_t st) {
    const int64_t n = (int64_t)T * kv_dim;
    k_kv_store<<<(unsigned)((n + 255) / 256), 256, 0, st>>>(k, v, kc, vc, cell, T, kv_dim);
}

/* ---- attention: a block per (token, head, split of the cells); each warp
 * walks every NW-th cell of the block's split keeping an online softmax
 * (running max m, sum l and weighted V sum), then the warps' partial states
 * are merged. With one split the block writes the output; with several
 * (generation: few tokens, so few blocks) each writes its state (M, L and
 * the unnormalized sum) and k_attn_combine merges them: the cells of a long
 * context are then spread over the whole GPU. The splits are fixed at
 * launch and sized from the cells in use (device memory), so a captured
 * graph stays valid. Lane owns dims lane + 32*i. ---- */

/* DIMS = dims per lane (hd <= 32 * DIMS), fixed at compile time so the
 * per-cell loops carry no dead iterations for the usual hd of 64 or 128. */
template <int NW, int ATT_DIMS>
__global__ void __launch_bounds__(32 * NW) k_attention(ll_cuda_attn a) {
    const int t = blockIdx.x, h = blockIdx.y, warp = threadIdx.y, lane = threadIdx.x;
    const int hd = a.hd, G = a.H / a.Hkv, kh = h / G, kv_dim = a.Hkv * hd;
    extern __shared__ float sm[];
    float *qs = sm;                             /* (hd) */
    float *wm = qs + hd, *wl = wm + NW;  /* (NW) each */
    float *wacc = wl + NW;               /* (NW, hd) */
    const float scale = rsqrtf((float)hd);
    const float *q = a.q + ((size_t)t * a.H + h) * hd;
    for (int d = warp * 32 + lane; d < hd; d += 32 * NW) qs[d] = q[d];
    __syncthreads();
    const unsigned long long bit = 1ull << a.tok_seq[t];
    const int32_t p = a.tok_pos[t];
    float m = -INFINITY, l = 0.f, acc[ATT_DIMS];
#pragma unroll
    for (int i = 0; i < ATT_DIMS; i++) acc[i] = 0.f;
    /* splits of at least 64 cells: a short context leaves the last splits
     * empty, and they only record that (L = 0) */
    const int n_cells = *a.n_cells, S = gridDim.z;
    int chunk = (n_cells + S - 1) / S;
    if (S > 1 && chunk < 64) chunk = 64;
    const int c0 = blockIdx.z * chunk, c1 = c0 + chunk < n_cells ? c0 + chunk : n_cells;
    if (S > 1 && c0 >= n_cells) {
        if (warp == 0 && lane == 0) a.part[(((size_t)t * a.H + h) * S + blockIdx.z) * (hd + 2) + 1] = 0.f;
        return;
    }
    for (int c = c0 + warp; c < c1; c += NW) {
        const int32_t cp = a.cell_pos[c];
        if (!(a.cell_seqs[c] & bit) || cp < 0 || cp > p) continue;
        const __half *kr = a.kc + (size_t)c * kv_dim + (size_t)kh * hd;
        const __half *vr = a.vc + (size_t)c * kv_dim + (size_t)kh * hd;
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < ATT_DIMS; i++) {
            const int d = lane + 32 * i;
            if (d < hd) s += qs[d] * __half2float(kr[d]);
        }
        s = ll_warp_sum(s) * scale;
        const float mn = fmaxf(m, s);
        const float corr = expf(m - mn), pw = expf(s - mn);
        l = l * corr + pw;
#pragma unroll
        for (int i = 0; i < ATT_DIMS; i++) {
            const int d = lane + 32 * i;
            if (d < hd) acc[i] = acc[i] * corr + pw * __half2float(vr[d]);
        }
        m = mn;
    }
    if (lane == 0) {
        wm[warp] = m;
        wl[warp] = l;
    }
#pragma unroll
    for (int i = 0; i < ATT_DIMS; i++) {
        const int d = lane + 32 * i;
        if (d < hd) wacc[warp * hd + d] = acc[i];
    }
    __syncthreads();
    float M = -INFINITY;
    for (int w = 0; w < NW; w++) M = fmaxf(M, wm[w]);
    float L = 0.f;
    for (int w = 0; w < NW; w++)
        if (wl[w] > 0.f) L += wl[w] * expf(wm[w] - M);
    if (S == 1) {
        float *out = a.out + ((size_t)t * a.H + h) * hd;
        for (int d = warp * 32 + lane; d < hd; d += 32 * NW) {
            float o = 0.f;
            for (int w = 0; w < NW; w++)
                if (wl[w] > 0.f) o += wacc[w * hd + d] * expf(wm[w] - M);
            out[d] = L > 0.f ? o / L : 0.f;
        }
        return;
    }
    float *st = a.part + (((size_t)t * a.H + h) * S + blockIdx.z) * (hd + 2);
    if (warp == 0 && lane == 0) {
        st[0] = M;
        st[1] = L;
    }
    for (int d = warp * 32 + lane; d < hd; d += 32 * NW) {
        float o = 0.f;
        for (int w = 0; w < NW; w++)
            if (wl[w] > 0.f) o += wacc[w * hd + d] * expf(wm[w] - M);
        st[2 + d] = o;
    }
}

/* Merges the S split states of each (token, head); with q8_out set it also
 * writes the output quantized for the o projection (blocks of 32 lie inside
 * a head: hd % 32 == 0, one thread per dim). */
__global__ void k_attn_combine(ll_cuda_attn a, int S) {
    const int t = blockIdx.x, h = blockIdx.y, hd = a.hd;
    const float *st = a.part + ((size_t)t * a.H + h) * S * (hd + 2);
    float M = -INFINITY;
    for (int s = 0; s < S; s++)
        if (st[s * (hd + 2) + 1] > 0.f) M = fmaxf(M, st[s * (hd + 2)]);
    float L = 0.f;
    for (int s = 0; s < S; s++) {
        const float l = st[s * (hd + 2) + 1];
        if (l > 0.f) L += l * expf(st[s * (hd + 2)] - M);
    }
    float *out = a.out + ((size_t)t * a.H + h) * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float o = 0.f;
        for (int s = 0; s < S; s++) {
            const float *x = st + s * (hd + 2);
            if (x[1] > 0.f) o += x[2 + d] * expf(x[0] - M);
        }
        o = L > 0.f ? o / L : 0.f;
        out[d] = o;
        if (a.q8_out) {
            const int qd = a.H * hd;
            ll_q8_put(o, d & 31, (int8_t *)a.q8_out, ll_q8_meta(a.q8_out, a.T, qd), ((size_t)t * qd + h * hd + d) / 32);
        }
    }
}

/* Generation has few (token, head) blocks: more warps per block and
 * LL_CUDA_ATTN_SPLITS splits of the cells, so the whole GPU works on a long context. */
template <int NW>
static void attention_nw(const ll_cuda_attn *a, int S, cudaStream_t st) {
    const dim3 grid((unsigned)a->T, (unsigned)a->H, (unsigned)S), block(32, NW);
    const size_t smem = sizeof(float) * ((size_t)a->hd * (1 + NW) + 2 * NW);
    if (a->hd <= 64)
        k_attention<NW, 2><<<grid, block, smem, st>>>(*a);
    else if (a->hd <= 128)
        k_attention<NW, 4><<<grid, block, smem, st>>>(*a);
    else
        k_attention<NW, 16><<<grid, block, smem, st>>>(*a);
}

/* ---- generation attention (T <= LL_CUDA_MATVEC_MAX, hd 64 or 128): a
 * block per (token, KV head, group of up to 8 of its q heads, split of the
 * cells), so the K/V rows are read once for the whole GQA group. Each warp
 * takes 16 cells at a time and scores them against the group's heads with
 * one tensor-core product (m16n8k16: rows = heads, columns = cells), then
 * updates its online softmax once per 16 cells and adds P.V with another
 * (rows = heads, k = cells). FP16 operands would round q and p, so each is
 * split into a high and a low FP16 part: rows 0-7 carry the high parts,
 * rows 8-15 the low ones, and the two rows of a head are summed; K and V are
 * FP16 already, so scores and sums come out as FP32 ones would. The warps'
 * states are merged in shared memory and each block writes one split state
 * per head; k_attn_merge combines the splits. The split count is fixed at
 * launch (graphs), the split size follows the cells in use (device memory):
 * a short context leaves the last splits idle and the merge skips them. ---- */

#define AG_NW 4 /* warps per block */
#define AG_GB 8 /* q heads per block at most: the high/low rows of one product */
/* Splits for T tokens: the state buffer holds LL_CUDA_MATVEC_MAX *
 * LL_CUDA_ATTN_SPLITS of them per head, so fewer tokens may take more. */
#define AG_SPLITS(T) ((LL_CUDA_MATVEC_MAX * LL_CUDA_ATTN_SPLITS / (T)) < 64 ? (LL_CUDA_MATVEC_MAX * LL_CUDA_ATTN_SPLITS / (T)) : 64)

/* Cells per split: a multiple of 16 * AG_NW (a 16-cell tile per warp). */
static __device__ __forceinline__ int ag_chunk(int n_cells, int S) {
    int c = (n_cells + S - 1) / S;
    c = (c + 16 * AG_NW - 1) / (16 * AG_NW) * (16 * AG_NW);
    return c > 0 ? c : 16 * AG_NW;
}

/* Fragment map (lane = 4 * g + r): scores use the dims r * HD/4 + [0, HD/4)
 * of q row g and of K row g of each 8-cell half (the dot product does not
 * care which k slot holds which dim, so each lane loads contiguous dims);
 * P.V's column n of step j is dim n * HD/8 + j, so lane loads the dims
 * g * HD/8 + [0, HD/8) of V for the cells 2r, 2r+1, 2r+8, 2r+9 -- which are
 * also the cells of its scores. */
template <int HD>
__global__ void __launch_bounds__(32 * AG_NW) k_attn_gqa(ll_cuda_attn a, int ngrp) {
    constexpr int KW = HD / 8;  /* K words (FP16 pairs) a lane holds per cell */
    constexpr int VW = HD / 16; /* V words per cell */
    constexpr int NS = HD / 8;  /* column steps of P.V */
    __shared__ float wm[AG_NW][AG_GB], wl[AG_NW][AG_GB], wo[AG_NW][AG_GB][HD];
    ll_pdl_trigger();
    /* the step's metadata (copied before the step) is read before the wait */
    const int t = blockIdx.x, warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, r = lane & 3;
    const int G = a.H / a.Hkv, kh = blockIdx.y / ngrp, grp = blockIdx.y % ngrp;
    const int gb = (G + ngrp - 1) / ngrp, g0 = grp * gb, gn = G - g0 < gb ? G - g0 : gb;
    const int kv_dim = a.Hkv * HD, S = gridDim.z, n_cells = *a.n_cells;
    const int chunk = ag_chunk(n_cells, S), c0 = blockIdx.z * chunk;
    if (c0 >= n_cells) return; /* idle split: the merge does not read it (split 0 never idles, and waits) */
    const int c1 = c0 + chunk < n_cells ? c0 + chunk : n_cells;
    const unsigned long long bit = 1ull << a.tok_seq[t];
    const int32_t p = a.tok_pos[t];
    ll_pdl_wait(); /* q and the step's cache rows come from the kernel before */

    /* q scaled into log2 units, split high/low */
    uint32_t qh[KW], ql[KW];
    if (g < gn) {
        const float sc = rsqrtf((float)HD) * 1.44269504088896341f;
        const float2 *q = reinterpret_cast<const float2 *>(a.q + ((size_t)t * a.H + kh * G + g0 + g) * HD + r * (HD / 4));
#pragma unroll
        for (int w = 0; w < KW; w++) {
            const float2 v = q[w];
            ll_split_h2(v.x * sc, v.y * sc, qh[w], ql[w]);
        }
    } else {
#pragma unroll
        for (int w = 0; w < KW; w++) qh[w] = ql[w] = 0u;
    }
    float m = -INFINITY, l = 0.f, acc[NS][4];
#pragma unroll
    for (int j = 0; j < NS; j++) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;

    for (int base = c0 + warp * 16; base < c1; base += 16 * AG_NW) {
        /* every load of the tile first: one memory round trip per tile */
        uint4 kr[2][KW / 4], vr[4][VW / 4];
        bool ok[4];
#pragma unroll
        for (int n = 0; n < 2; n++) {
            const int c = base + 8 * n + g;
            const uint4 *src = reinterpret_cast<const uint4 *>(a.kc + (size_t)c * kv_dim + kh * HD + r * (HD / 4));
#pragma unroll
            for (int i = 0; i < KW / 4; i++) kr[n][i] = c < c1 ? src[i] : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const int c = base + 2 * r + (k & 1) + 8 * (k >> 1);
            ok[k] = false;
            if (c < c1) {
                const int32_t cp = a.cell_pos[c];
                ok[k] = (a.cell_seqs[c] & bit) && cp >= 0 && cp <= p;
            }
            const uint4 *src = reinterpret_cast<const uint4 *>(a.vc + (size_t)c * kv_dim + kh * HD + g * (HD / 8));
#pragma unroll
            for (int i = 0; i < VW / 4; i++) vr[k][i] = c < c1 ? src[i] : make_uint4(0, 0, 0, 0);
        }
        /* scores: rows g (high q) and g + 8 (low q) of cells n*8 + 2r, +1 */
        float s2[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
        for (int n = 0; n < 2; n++) {
            const uint32_t *kw = reinterpret_cast<const uint32_t *>(kr[n]);
#pragma unroll
            for (int i = 0; i < HD / 16; i++)
                ll_mma16816(s2[n], qh[2 * i], ql[2 * i], qh[2 * i + 1], ql[2 * i + 1], kw[2 * i], kw[2 * i + 1]);
        }
        float s[4], mx = -INFINITY;
#pragma unroll
        for (int k = 0; k < 4; k++) {
            s[k] = ok[k] ? s2[k >> 1][k & 1] + s2[k >> 1][2 + (k & 1)] : -INFINITY;
            mx = fmaxf(mx, s[k]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float mn = fmaxf(m, mx), mu = mn == -INFINITY ? 0.f : mn;
        const float corr = exp2f(m - mu);
        float pw[4];
#pragma unroll
        for (int k = 0; k < 4; k++) pw[k] = exp2f(s[k] - mu);
        l = l * corr + (pw[0] + pw[1]) + (pw[2] + pw[3]);
        m = mn;
        uint32_t ph0, pl0, ph1, pl1;
        ll_split_h2(pw[0], pw[1], ph0, pl0);
        ll_split_h2(pw[2], pw[3], ph1, pl1);
        /* a masked cell's V may be anything (never written): p = 0 must not meet a NaN */
#pragma unroll
        for (int k = 0; k < 4; k++)
            if (!ok[k])
#pragma unroll
                for (int i = 0; i < VW / 4; i++) vr[k][i] = make_uint4(0, 0, 0, 0);
        const uint32_t *v0 = reinterpret_cast<const uint32_t *>(vr[0]), *v1 = reinterpret_cast<const uint32_t *>(vr[1]);
        const uint32_t *v2 = reinterpret_cast<const uint32_t *>(vr[2]), *v3 = reinterpret_cast<const uint32_t *>(vr[3]);
#pragma unroll
        for (int j = 0; j < NS; j++) {
            const unsigned sel = (j & 1) ? 0x7632u : 0x5410u;
            const uint32_t b0 = __byte_perm(v0[j >> 1], v1[j >> 1], sel), b1 = __byte_perm(v2[j >> 1], v3[j >> 1], sel);
#pragma unroll
            for (int e = 0; e < 4; e++) acc[j][e] *= corr;
            ll_mma16816(acc[j], ph0, pl0, ph1, pl1, b0, b1);
        }
    }
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    if (r == 0) {
        wm[warp][g] = m;
        wl[warp][g] = l;
    }
#pragma unroll
    for (int j = 0; j < NS; j++) {
        wo[warp][g][(2 * r) * (HD / 8) + j] = acc[j][0] + acc[j][2];
        wo[warp][g][(2 * r + 1) * (HD / 8) + j] = acc[j][1] + acc[j][3];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < gn * HD; i += 32 * AG_NW) {
        const int row = i / HD, d = i % HD;
        float M = -INFINITY;
#pragma unroll
        for (int w = 0; w < AG_NW; w++)
            if (wl[w][row] > 0.f) M = fmaxf(M, wm[w][row]);
        float L = 0.f, o = 0.f;
#pragma unroll
        for (int w = 0; w < AG_NW; w++)
            if (wl[w][row] > 0.f) {
                const float f = exp2f(wm[w][row] - M);
                L += wl[w][row] * f;
                o += wo[w][row][d] * f;
            }
        float *st = a.part + (((size_t)t * a.H + kh * G + g0 + row) * S + blockIdx.z) * (HD + 2);
        if (d == 0) {
            st[0] = L > 0.f ? M * 0.69314718055994531f : 0.f; /* natural log units */
            st[1] = L;
        }
        st[2 + d] = o;
    }
}

/* Merges the active split states of each (token, head) of k_attn_gqa: one
 * thread per dim (hd % 32 == 0), as the 8-bit output needs. */
__global__ void k_attn_merge(ll_cuda_attn a, int S) {
    __shared__ float w[LL_CUDA_MATVEC_MAX * LL_CUDA_ATTN_SPLITS];
    __shared__ float Lsum;
    ll_pdl_trigger();
    const int t = blockIdx.x, h = blockIdx.y, hd = a.hd, d = threadIdx.x;
    const int n_cells = *a.n_cells, chunk = ag_chunk(n_cells, S), na = (n_cells + chunk - 1) / chunk;
    ll_pdl_wait(); /* (n_cells is the step's metadata) */
    const float *st = a.part + ((size_t)t * a.H + h) * S * (hd + 2);
    if (threadIdx.x < 32) {
        float M = -INFINITY;
        for (int s = threadIdx.x; s < na; s += 32)
            if (st[s * (hd + 2) + 1] > 0.f) M = fmaxf(M, st[s * (hd + 2)]);
        M = ll_warp_max(M);
        float L = 0.f;
        for (int s = threadIdx.x; s < na; s += 32) {
            const float ls = st[s * (hd + 2) + 1], f = ls > 0.f ? expf(st[s * (hd + 2)] - M) : 0.f;
            w[s] = f;
            L += ls * f;
        }
        L = ll_warp_sum(L);
        if (threadIdx.x == 0) Lsum = L;
    }
    __syncthreads();
    float o = 0.f;
#pragma unroll 8
    for (int s = 0; s < na; s++) o += w[s] * st[s * (hd + 2) + 2 + d];
    const float L = Lsum;
    o = L > 0.f ? o / L : 0.f;
    a.out[((size_t)t * a.H + h) * hd + d] = o;
    if (a.q8_out) {
        const int qd = a.H * hd;
        ll_q8_put(o, d & 31, (int8_t *)a.q8_out, ll_q8_meta(a.q8_out, a.T, qd), ((size_t)t * qd + h * hd + d) / 32);
    }
}

static void attention_gqa(const ll_cuda_attn *a, cudaStream_t st) {
    const int G = a->H / a->Hkv, ngrp = (G + AG_GB - 1) / AG_GB, S = AG_SPLITS(a->T);
    const dim3 grid((unsigned)a->T, (unsigned)(a->Hkv * ngrp), (unsigned)S);
    if (a->hd == 64)
        ll_launch_pdl(k_attn_gqa<64>, grid, 32 * AG_NW, 0, st, *a, ngrp);
    else
        ll_launch_pdl(k_attn_gqa<128>, grid, 32 * AG_NW, 0, st, *a, ngrp);
    ll_launch_pdl(k_attn_merge, dim3((unsigned)a->T, (unsigned)a->H), (unsigned)a->hd, 0, st, *a, S);
}

void ll_cuda_attention(const ll_cuda_attn *a, cudaStream_t st) {
    if (a->T <= LL_CUDA_MATVEC_MAX && a->part && (a->hd == 64 || a->hd == 128)) {
        attention_gqa(a, st);
    } else if (a->T <= LL_CUDA_MATVEC_MAX && a->part) {
        attention_nw<16>(a, LL_CUDA_ATTN_SPLITS, st);
        /* one thread per dim when quantizing (whole warps per block of 32) */
        const unsigned nt = a->q8_out ? (unsigned)a->hd : 128;
        k_attn_combine<<<dim3((unsigned)a->T, (unsigned)a->H), nt, 0, st>>>(*a, LL_CUDA_ATTN_SPLITS);
    } else if (a->T <= LL_CUDA_MATVEC_MAX || !ll_cuda_attention_prompt(a, st)) {
        attention_nw<4>(a, 1, st);
    }
}
