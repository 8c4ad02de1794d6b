// ll_cuda_attention against a CPU reference with masking (other sequences,
// later positions, free cells whose K/V hold NaN): generation steps (T <= 8)
// and prompts (the tensor-core kernel of attn_prompt.cu), then timings.
// Build on the device (repo root):
//   nvcc -O3 -std=c++17 -Icsrc -arch=sm_90 bench/cuda_attn_bench.cu csrc/cuda/kernels.cu \
//        csrc/cuda/attn_prompt.cu csrc/cuda/matvec_q8.cu csrc/cuda/packed.cu -o /tmp/ab
#include "cuda/kernels.h"
#include "cuda_timing.h"
#include "cuda/q8act.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

// ---- host side
static unsigned rng = 12345;
static float frand() { rng = rng * 1103515245u + 12345u; return (float)((rng >> 8) & 0xffff) / 32768.f - 1.f; }
static uint16_t f2h(float f) { __half h = __float2half_rn(f); uint16_t u; memcpy(&u, &h, 2); return u; }
static float h2f(uint16_t u) { __half h; memcpy(&h, &u, 2); return __half2float(h); }

// device buffers for one case; metadata layout as the backend's: pos, seqs, n_cells, tok pos, tok seq
struct dev {
    float *q, *o, *part;
    __half *kc, *vc;
    int32_t *cpos, *ncell, *tpos, *tseq;
    unsigned long long *cseq;
    void *q8;
};

// Token positions: STEP, the last of the token's sequence (token 0 one
// before); SCATTER, anywhere in its sequence; CAUSAL, one sequence over
// every cell and the tokens are the last T positions (a prompt).
enum { STEP, SCATTER, CAUSAL };

static int check(int hd, int H, int Hkv, int T, int n_cells, bool q8, int mode = STEP) {
    const int n_ctx = n_cells + 37, kvd = Hkv * hd, G = H / Hkv;
    std::vector<float> q((size_t)T * H * hd);
    std::vector<uint16_t> kc((size_t)n_ctx * kvd), vc((size_t)n_ctx * kvd);
    std::vector<int32_t> cpos(n_ctx), tpos(T), tseq(T);
    std::vector<unsigned long long> cseq(n_ctx, 0);
    for (auto &x : q) x = 3.f * frand();
    int next[2] = {0, 0};
    for (int c = 0; c < n_ctx; c++) {
        const float u = frand();
        bool used = c < n_cells;
        if (used && c > 0 && u > 0.9f && mode != CAUSAL) used = false;  // a free cell
        if (!used) {
            cpos[c] = -1;
            cseq[c] = u > 0.95f ? 1 : 0;  // stale mask: cp < 0 must exclude it anyway
            for (int d = 0; d < kvd; d++) kc[(size_t)c * kvd + d] = vc[(size_t)c * kvd + d] = 0x7e00;  // NaN
            continue;
        }
        int sq = u < 0.2f && mode != CAUSAL ? 1 : 0;
        cseq[c] = (u > 0.8f && u <= 0.9f && mode != CAUSAL) ? 3ull : (1ull << sq);  // some shared by both
        cpos[c] = next[sq]++;
        if (cseq[c] == 3) next[1 - sq] = next[sq] > next[1 - sq] ? next[sq] : next[1 - sq];
        for (int d = 0; d < kvd; d++) {
            kc[(size_t)c * kvd + d] = f2h(2.f * frand());
            vc[(size_t)c * kvd + d] = f2h(frand());
        }
    }
    for (int t = 0; t < T; t++) {
        tseq[t] = mode == CAUSAL ? 0 : t % 2;
        const int mx = next[tseq[t]] - 1;
        if (mode == CAUSAL)
            tpos[t] = n_cells - T + t < 0 ? 0 : n_cells - T + t;
        else if (mode == SCATTER)
            tpos[t] = mx <= 0 ? 0 : (int)((frand() + 1.f) * 0.5f * mx);
        else
            tpos[t] = t == 0 && mx > 0 ? mx - 1 : (mx < 0 ? 0 : mx);  // token 0 misses its sequence's last cell
    }
    // reference
    std::vector<double> ref((size_t)T * H * hd, 0.0);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < H; h++) {
            const int kh = h / G;
            std::vector<double> s(n_cells, -INFINITY);
            double M = -INFINITY;
            for (int c = 0; c < n_cells; c++) {
                if (!(cseq[c] >> tseq[t] & 1) || cpos[c] < 0 || cpos[c] > tpos[t]) continue;
                double d = 0;
                for (int i = 0; i < hd; i++) d += (double)q[((size_t)t * H + h) * hd + i] * h2f(kc[(size_t)c * kvd + kh * hd + i]);
                s[c] = d / sqrt((double)hd);
                if (s[c] > M) M = s[c];
            }
            double L = 0;
            for (int c = 0; c < n_cells; c++) {
                if (s[c] == -INFINITY) continue;
                const double p = exp(s[c] - M);
                L += p;
                for (int i = 0; i < hd; i++) ref[((size_t)t * H + h) * hd + i] += p * h2f(vc[(size_t)c * kvd + kh * hd + i]);
            }
            if (L > 0)
                for (int i = 0; i < hd; i++) ref[((size_t)t * H + h) * hd + i] /= L;
        }
    dev b;
    cudaMalloc(&b.q, q.size() * 4);
    cudaMalloc(&b.o, q.size() * 4);
    cudaMalloc(&b.part, ll_cuda_att_part_bytes(H, hd));
    cudaMemset(b.part, 0xff, ll_cuda_att_part_bytes(H, hd));  // NaN garbage
    cudaMalloc(&b.kc, kc.size() * 2);
    cudaMalloc(&b.vc, vc.size() * 2);
    cudaMalloc(&b.cpos, n_ctx * 4);
    cudaMalloc(&b.cseq, n_ctx * 8);
    cudaMalloc(&b.ncell, 4);
    cudaMalloc(&b.tpos, T * 4);
    cudaMalloc(&b.tseq, T * 4);
    const size_t q8b = LL_CUDA_Q8_BYTES(T, H * hd);
    cudaMalloc(&b.q8, q8b);
    cudaMemcpy(b.q, q.data(), q.size() * 4, cudaMemcpyHostToDevice);
    cudaMemset(b.o, 0xff, q.size() * 4);
    cudaMemcpy(b.kc, kc.data(), kc.size() * 2, cudaMemcpyHostToDevice);
    cudaMemcpy(b.vc, vc.data(), vc.size() * 2, cudaMemcpyHostToDevice);
    cudaMemcpy(b.cpos, cpos.data(), n_ctx * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(b.cseq, cseq.data(), n_ctx * 8, cudaMemcpyHostToDevice);
    cudaMemcpy(b.ncell, &n_cells, 4, cudaMemcpyHostToDevice);
    cudaMemcpy(b.tpos, tpos.data(), T * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(b.tseq, tseq.data(), T * 4, cudaMemcpyHostToDevice);
    ll_cuda_attn a = {b.q, b.o, b.kc, b.vc, T, H, Hkv, hd, b.tpos, b.tseq, b.cpos, b.cseq, b.ncell, b.part, q8 ? b.q8 : NULL};
    ll_cuda_attention(&a, 0);
    cudaError_t err = cudaDeviceSynchronize();
    std::vector<float> o(q.size());
    cudaMemcpy(o.data(), b.o, o.size() * 4, cudaMemcpyDeviceToHost);
    double emax = 0, mag = 0;
    for (size_t i = 0; i < o.size(); i++) {
        const double e = fabs(o[i] - ref[i]);
        if (!(e <= emax)) emax = e;  // NaN sticks
        if (fabs(ref[i]) > mag) mag = fabs(ref[i]);
    }
    double qerr = 0;
    if (q8) {
        std::vector<int8_t> xq(q8b);
        cudaMemcpy(xq.data(), b.q8, q8b, cudaMemcpyDeviceToHost);
        const float *meta = (const float *)(xq.data() + LL_CUDA_Q8_XQ_BYTES(T, H * hd));
        for (size_t i = 0; i < o.size(); i++) {
            const double e = fabs(xq[i] * meta[2 * (i / 32)] - o[i]);
            if (!(e <= qerr)) qerr = e;
        }
    }
    const bool ok = err == cudaSuccess && emax <= 2e-5 * (mag > 1 ? mag : 1) && qerr <= 0.01;
    printf("check hd %3d H %2d Hkv %2d (G %2d) T %3d cells %4d%s%s: max err %.2e (ref max %.2f)%s %s\n", hd, H, Hkv, G,
           T, n_cells, q8 ? " q8" : "   ", mode == CAUSAL ? " causal" : mode == SCATTER ? " scatter" : "", emax, mag, err == cudaSuccess ? "" : cudaGetErrorString(err), ok ? "ok" : "FAIL");
    cudaFree(b.q); cudaFree(b.o); cudaFree(b.part); cudaFree(b.kc); cudaFree(b.vc); cudaFree(b.cpos);
    cudaFree(b.cseq); cudaFree(b.ncell); cudaFree(b.tpos); cudaFree(b.tseq); cudaFree(b.q8);
    return ok ? 0 : 1;
}

int main() {
    int fails = 0, n = 0;
    for (int hd : {64, 128, 96})
        for (int hk : {0, 1, 2})
            for (int T : {1, 3})
                for (int cells : {1, 5, 128, 640, 4096}) {
                    const int H = hk == 0 ? 28 : hk == 1 ? 4 : 24, Hkv = hk == 2 ? 2 : 4;
                    if (hd == 96 && cells > 640) continue;  // the fallback kernels' path: spot checks only
                    fails += check(hd, H, Hkv, T, cells, hk == 0 && hd != 96), n++;
                }
    fails += check(128, 28, 4, 8, 1000, true), n++;
    for (int hd : {64, 128, 96})  // prompts (96: the fallback kernel)
        for (int T : {9, 64, 100, 512})
            for (int cells : {T, T + 70, 700})
                for (int mode : {SCATTER, CAUSAL}) {
                    if (cells < T) continue;
                    fails += check(hd, hd == 64 ? 6 : 14, 2, T, cells, false, mode), n++;
                }
    printf("checks: %d of %d failed\n", fails, n);

    // timing, 7B layer shape; GRAPH_N copies of the cache (past L2, as in a real step)
    const int H = 28, Hkv = 4, hd = 128, n_ctx = 4096, kvd = Hkv * hd;
    cudaStream_t st;
    cudaStreamCreate(&st);
    float *q, *o, *part;
    __half *kc, *vc;
    int32_t *meta;
    unsigned long long *seqs;
    cudaMalloc(&q, 8 * H * hd * 4);
    cudaMalloc(&o, 8 * H * hd * 4);
    cudaMalloc(&part, ll_cuda_att_part_bytes(H, hd));
    cudaMalloc(&kc, (size_t)GRAPH_N * n_ctx * kvd * 2);
    cudaMalloc(&vc, (size_t)GRAPH_N * n_ctx * kvd * 2);
    cudaMemset(q, 0, 8 * H * hd * 4);
    cudaMemset(kc, 0, (size_t)GRAPH_N * n_ctx * kvd * 2);
    cudaMemset(vc, 0, (size_t)GRAPH_N * n_ctx * kvd * 2);
    cudaMalloc(&meta, (n_ctx + 32) * 4);
    cudaMalloc(&seqs, n_ctx * 8);
    std::vector<int32_t> hm(n_ctx + 32, 0);
    std::vector<unsigned long long> hs(n_ctx, 1);
    for (int i = 0; i < n_ctx; i++) hm[i] = i;
    cudaMemcpy(seqs, hs.data(), n_ctx * 8, cudaMemcpyHostToDevice);
    printf("\n%-28s %9s %9s\n", "attention, 7B layer", "graph us", "stream us");
    for (int T : {1, 4})
        for (int cells : {128, 640, 4096}) {
            hm[n_ctx] = cells;
            for (int t = 0; t < 8; t++) { hm[n_ctx + 8 + t] = cells - 1; hm[n_ctx + 16 + t] = 0; }
            cudaMemcpy(meta, hm.data(), (n_ctx + 32) * 4, cudaMemcpyHostToDevice);
            ll_cuda_attn a = {q, o, kc, vc, T, H, Hkv, hd, meta + n_ctx + 8, meta + n_ctx + 16, meta, seqs, meta + n_ctx, part, NULL};
            auto run = [&](int i) {
                ll_cuda_attn b = a;
                b.kc = kc + (size_t)i * n_ctx * kvd;
                b.vc = vc + (size_t)i * n_ctx * kvd;
                ll_cuda_attention(&b, st);
            };
            const float g = graph_us(st, run), sm = stream_us(st, run);
            char name[64];
            snprintf(name, sizeof name, "T=%d, %d cells", T, cells);
            printf("%-28s %9.2f %9.2f\n", name, g, sm);
        }
    // prompts: causal, the token i at position cells - T + i, one sequence
    float *qp, *op;
    cudaMalloc(&qp, (size_t)512 * H * hd * 4);
    cudaMalloc(&op, (size_t)512 * H * hd * 4);
    cudaMemset(qp, 0, (size_t)512 * H * hd * 4);
    printf("\n%-28s %9s\n", "prompt attention, 7B layer", "stream us");
    for (int T : {128, 512})
        for (int cells : {T, 2048}) {
            std::vector<int32_t> tm(1 + 2 * T);
            tm[0] = cells;
            for (int t = 0; t < T; t++) tm[1 + t] = cells - T + t, tm[1 + T + t] = 0;
            int32_t *dm;
            cudaMalloc(&dm, tm.size() * 4);
            cudaMemcpy(dm, tm.data(), tm.size() * 4, cudaMemcpyHostToDevice);
            ll_cuda_attn a = {qp, op, kc, vc, T, H, Hkv, hd, dm + 1, dm + 1 + T, meta, seqs, dm, NULL, NULL};
            const float sm = stream_us(st, [&](int i) {
                ll_cuda_attn b = a;
                b.kc = kc + (size_t)i * n_ctx * kvd;
                b.vc = vc + (size_t)i * n_ctx * kvd;
                ll_cuda_attention(&b, st);
            });
            char name[64];
            snprintf(name, sizeof name, "T=%d, %d cells", T, cells);
            printf("%-28s %9.2f\n", name, sm);
            cudaFree(dm);
        }
    cudaError_t err = cudaDeviceSynchronize();
    printf("\n%s\n", err == cudaSuccess ? "ok" : cudaGetErrorString(err));
    return fails ? 1 : 0;
}
