/* Prompt attention (more than LL_CUDA_MATVEC_MAX tokens, head dim 64 or
 * 128) on tensor cores, flash-attention style.
 *
 * A block takes AP_ROWS tokens and one q head; each of its warps owns 16
 * tokens. The block walks the cells in tiles of AP_CELLS, staged in shared
 * memory as the cache holds them (FP16 K and V rows). Each warp scores its
 * tokens against the tile with mma (rows = tokens, columns = cells), updates
 * its online softmax per row, and adds P.V with a second mma (k = cells).
 * q and p are split into high and low FP16 parts (mma.h), so the result
 * matches FP32 arithmetic on the FP16 cache.
 *
 * Tiles that no token of the block can see are skipped (a causal prompt
 * reads half of them), and a warp skips tiles none of its tokens sees. The
 * kernel before this one, a block per (token, head), read every K/V row
 * from L2 once per token and head: 4 GB a layer for a 7B 512-token prompt. */
#include "cuda/kernels.h"
#include "cuda/mma.h"

#define AP_WARPS 4
#define AP_ROWS (16 * AP_WARPS)
#define AP_CELLS 64

template <int HD>
__global__ void __launch_bounds__(32 * AP_WARPS) k_attn_prompt(ll_cuda_attn a) {
    constexpr int KS = HD / 16;       /* k steps of the scores */
    constexpr int NT = AP_CELLS / 8;  /* column tiles of the scores */
    constexpr int NO = HD / 8;        /* column tiles of the output */
    constexpr int LD = HD + 8;        /* row stride in halves: fragment loads hit 32 banks */
    __shared__ __align__(16) __half ks[AP_CELLS][LD];
    __shared__ __align__(16) __half vs[AP_CELLS][LD];
    __shared__ int32_t cpos[AP_CELLS];
    __shared__ unsigned long long cseq[AP_CELLS]; /* 0 for a free cell (and past the cells in use) */
    __shared__ int32_t wpos_s[AP_WARPS];
    __shared__ unsigned long long wseq_s[AP_WARPS];

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, r = lane & 3;
    const int h = blockIdx.y, kh = h / (a.H / a.Hkv), kv_dim = a.Hkv * HD;
    const int ta = blockIdx.x * AP_ROWS + warp * 16 + g, tb = ta + 8; /* this lane's rows */
    const int32_t pa = ta < a.T ? a.tok_pos[ta] : -1, pb = tb < a.T ? a.tok_pos[tb] : -1;
    const unsigned long long sa = ta < a.T ? 1ull << a.tok_seq[ta] : 0ull;
    const unsigned long long sb = tb < a.T ? 1ull << a.tok_seq[tb] : 0ull;
    /* what the warp's and the block's tokens can see at most */
    const int32_t wpos = __reduce_max_sync(0xffffffffu, max(pa, pb));
    const unsigned long long sab = sa | sb;
    const unsigned long long wseq = __reduce_or_sync(0xffffffffu, (unsigned)sab) |
                                    (unsigned long long)__reduce_or_sync(0xffffffffu, (unsigned)(sab >> 32)) << 32;
    if (lane == 0) {
        wpos_s[warp] = wpos;
        wseq_s[warp] = wseq;
    }

    /* q in log2 units, high and low parts, as A fragments */
    uint32_t qh[KS][4], ql[KS][4];
    {
        const float sc = rsqrtf((float)HD) * 1.44269504088896341f;
        const float *qa = a.q + ((size_t)ta * a.H + h) * HD, *qb = a.q + ((size_t)tb * a.H + h) * HD;
#pragma unroll
        for (int i = 0; i < KS; i++)
#pragma unroll
            for (int f = 0; f < 4; f++) {
                const bool rowb = f & 1;
                const int d = 16 * i + 8 * (f >> 1) + 2 * r;
                float2 v = make_float2(0.f, 0.f);
                if ((rowb ? tb : ta) < a.T) v = *reinterpret_cast<const float2 *>((rowb ? qb : qa) + d);
                ll_split_h2(v.x * sc, v.y * sc, qh[i][f], ql[i][f]);
            }
    }
    __syncthreads();
    int32_t bpos = -1;
    unsigned long long bseq = 0;
#pragma unroll
    for (int w = 0; w < AP_WARPS; w++) {
        bpos = max(bpos, wpos_s[w]);
        bseq |= wseq_s[w];
    }

    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, o[NO][4];
#pragma unroll
    for (int n = 0; n < NO; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;

    const int n_cells = *a.n_cells;
    for (int c0 = 0; c0 < n_cells; c0 += AP_CELLS) {
        bool seen = false;
        if (threadIdx.x < AP_CELLS) {
            const int c = c0 + threadIdx.x;
            int32_t cp = -1;
            unsigned long long cs = 0;
            if (c < n_cells) {
                cp = a.cell_pos[c];
                cs = cp >= 0 ? a.cell_seqs[c] : 0ull;
            }
            cpos[threadIdx.x] = cp;
            cseq[threadIdx.x] = cs;
            seen = (cs & bseq) && cp <= bpos;
        }
        if (!__syncthreads_or(seen)) continue;
        /* the tile's K and V rows; a free cell's are zeros (its V may hold
         * anything, and p = 0 must not meet a NaN) */
        for (int i = threadIdx.x; i < AP_CELLS * HD / 8; i += 32 * AP_WARPS) {
            const int cc = i / (HD / 8), d8 = i % (HD / 8);
            uint4 kv = make_uint4(0, 0, 0, 0), vv = kv;
            if (cseq[cc]) {
                const size_t off = (size_t)(c0 + cc) * kv_dim + (size_t)kh * HD;
                kv = reinterpret_cast<const uint4 *>(a.kc + off)[d8];
                vv = reinterpret_cast<const uint4 *>(a.vc + off)[d8];
            }
            *reinterpret_cast<uint4 *>(&ks[cc][8 * d8]) = kv;
            *reinterpret_cast<uint4 *>(&vs[cc][8 * d8]) = vv;
        }
        __syncthreads();
        const bool mine = ((cseq[lane] & wseq) && cpos[lane] <= wpos) ||
                          ((cseq[lane + 32] & wseq) && cpos[lane + 32] <= wpos);
        if (__any_sync(0xffffffffu, mine)) {
            float s[NT][4];
#pragma unroll
            for (int n = 0; n < NT; n++) {
                s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
                for (int i = 0; i < KS; i++) {
                    const uint32_t *kr = reinterpret_cast<const uint32_t *>(&ks[8 * n + g][16 * i + 2 * r]);
                    const uint32_t b0 = kr[0], b1 = kr[4];
                    ll_mma16816(s[n], qh[i][0], qh[i][1], qh[i][2], qh[i][3], b0, b1);
                    ll_mma16816(s[n], ql[i][0], ql[i][1], ql[i][2], ql[i][3], b0, b1);
                }
            }
            float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
            for (int n = 0; n < NT; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int cc = 8 * n + 2 * r + e;
                    const int32_t cp = cpos[cc];
                    const unsigned long long cs = cseq[cc];
                    if (!((cs & sa) && cp <= pa)) s[n][e] = -INFINITY;
                    if (!((cs & sb) && cp <= pb)) s[n][2 + e] = -INFINITY;
                    mx[0] = fmaxf(mx[0], s[n][e]);
                    mx[1] = fmaxf(mx[1], s[n][2 + e]);
                }
            float mu[2], ls[2] = {0.f, 0.f};
#pragma unroll
            for (int j = 0; j < 2; j++) {
                mx[j] = fmaxf(mx[j], __shfl_xor_sync(0xffffffffu, mx[j], 1));
                mx[j] = fmaxf(mx[j], __shfl_xor_sync(0xffffffffu, mx[j], 2));
                const float mn = fmaxf(m[j], mx[j]);
                mu[j] = mn == -INFINITY ? 0.f : mn; /* a row that sees nothing yet keeps p = 0 */
                const float corr = exp2f(m[j] - mu[j]);
                l[j] *= corr;
                m[j] = mn;
#pragma unroll
                for (int n = 0; n < NO; n++) {
                    o[n][2 * j] *= corr;
                    o[n][2 * j + 1] *= corr;
                }
            }
#pragma unroll
            for (int n = 0; n < NT; n++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    s[n][e] = exp2f(s[n][e] - mu[e >> 1]);
                    ls[e >> 1] += s[n][e];
                }
            l[0] += ls[0];
            l[1] += ls[1];
#pragma unroll
            for (int j = 0; j < AP_CELLS / 16; j++) {
                uint32_t ph[4], pl[4];
                ll_split_h2(s[2 * j][0], s[2 * j][1], ph[0], pl[0]);
                ll_split_h2(s[2 * j][2], s[2 * j][3], ph[1], pl[1]);
                ll_split_h2(s[2 * j + 1][0], s[2 * j + 1][1], ph[2], pl[2]);
                ll_split_h2(s[2 * j + 1][2], s[2 * j + 1][3], ph[3], pl[3]);
                const int vrow = 16 * j + (lane & 7) + 8 * ((lane >> 3) & 1), vcol = 8 * (lane >> 4);
#pragma unroll
                for (int n = 0; n < NO; n += 2) {
                    uint32_t v[4];
                    ll_ldmatrix_x4_trans(v, &vs[vrow][8 * n + vcol]);
                    ll_mma16816(o[n], ph[0], ph[1], ph[2], ph[3], v[0], v[1]);
                    ll_mma16816(o[n], pl[0], pl[1], pl[2], pl[3], v[0], v[1]);
                    ll_mma16816(o[n + 1], ph[0], ph[1], ph[2], ph[3], v[2], v[3]);
                    ll_mma16816(o[n + 1], pl[0], pl[1], pl[2], pl[3], v[2], v[3]);
                }
            }
        }
        __syncthreads(); /* the next tile overwrites the shared rows */
    }
#pragma unroll
    for (int j = 0; j < 2; j++) {
        l[j] += __shfl_xor_sync(0xffffffffu, l[j], 1);
        l[j] += __shfl_xor_sync(0xffffffffu, l[j], 2);
        l[j] = l[j] > 0.f ? 1.f / l[j] : 0.f;
    }
    float *outa = a.out + ((size_t)ta * a.H + h) * HD, *outb = a.out + ((size_t)tb * a.H + h) * HD;
#pragma unroll
    for (int n = 0; n < NO; n++) {
        if (ta < a.T) *reinterpret_cast<float2 *>(outa + 8 * n + 2 * r) = make_float2(o[n][0] * l[0], o[n][1] * l[0]);
        if (tb < a.T) *reinterpret_cast<float2 *>(outb + 8 * n + 2 * r) = make_float2(o[n][2] * l[1], o[n][3] * l[1]);
    }
}

bool ll_cuda_attention_prompt(const ll_cuda_attn *a, cudaStream_t st) {
    if (a->hd != 64 && a->hd != 128) return false;
    const dim3 grid((unsigned)((a->T + AP_ROWS - 1) / AP_ROWS), (unsigned)a->H);
    if (a->hd == 64)
        k_attn_prompt<64><<<grid, 32 * AP_WARPS, 0, st>>>(*a);
    else
        k_attn_prompt<128><<<grid, 32 * AP_WARPS, 0, st>>>(*a);
    return true;
}
