// Times the CUDA backend's kernels one by one on the shapes of one 7B layer
// (DeepSeek-R1-Distill-Qwen-7B: D 3584, F 18944, 28 heads, 4 KV heads, hd 128),
// for generation steps (T = 1 and 4): microseconds per call and the weight
// bytes per second they reach. Each timing replays a CUDA graph of 16
// launches over distinct copies of the weight (together well past the 50 MB
// L2, so every launch reads DRAM, as in a real step) and divides.
// Built and run on the device machine by bench/cuda_kernels.sh, which also
// builds the previous commit's 8-bit kernels as OLD_MV for an A/B.
#include "cuda/kernels.h"
#include "cuda_timing.h"
#include "cuda/packed.h"
#include <vector>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>

static void fill(void *d, size_t n) {
    unsigned char *h = (unsigned char *)malloc(n);
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        h[i] = (unsigned char)(s >> 16);
    }
    // keep F16 scales finite-ish: clear the top exponent bits of every 2nd byte
    for (size_t i = 1; i < n; i += 2) h[i] &= 0x3b;
    cudaMemcpy(d, h, n, cudaMemcpyHostToDevice);
    free(h);
}

#ifdef OLD_MV
// the previous commit's kernels, built with renamed symbols (float scales, file layout)
void old_quant_q8(const float *x, int T, int K, void *q8, cudaStream_t st);
void old_matvec_q8(const ll_dweight *w, const void *q8, int T, float *y, const float *bias, bool accumulate,
                   cudaStream_t st);
#endif

struct shape { const char *name; int type; int N, K; size_t blk_bytes; int blk; };

int main(int argc, char **argv) {
    // -q: the 8-bit kernels only (no float path, previous kernels or small ops)
    const bool quick = argc > 1 && strcmp(argv[1], "-q") == 0;
    const shape shapes[] = {
        {"q/o  Q4_K 3584x3584", LL_TYPE_Q4_K, 3584, 3584, 144, 256},
        {"k/v  Q4_K  512x3584", LL_TYPE_Q4_K, 512, 3584, 144, 256},
        {"gate Q4_K 18944x3584", LL_TYPE_Q4_K, 18944, 3584, 144, 256},
        {"down Q4_K 3584x18944", LL_TYPE_Q4_K, 3584, 18944, 144, 256},
        {"down Q6_K 3584x18944", LL_TYPE_Q6_K, 3584, 18944, 210, 256},
        {"out  Q6_K 152064x3584", LL_TYPE_Q6_K, 152064, 3584, 210, 256},
        {"q/o  Q8_0 3584x3584", LL_TYPE_Q8_0, 3584, 3584, 34, 32},
        {"gate Q8_0 18944x3584", LL_TYPE_Q8_0, 18944, 3584, 34, 32},
        {"down Q8_0 3584x18944", LL_TYPE_Q8_0, 3584, 18944, 34, 32},
        {"out  Q8_0 152064x3584", LL_TYPE_Q8_0, 152064, 3584, 34, 32},
        {"gate F16 18944x3584", LL_TYPE_F16, 18944, 3584, 2, 1},
    };
    float *x, *y;
    cudaMalloc(&x, 8 * 18944 * sizeof(float));
    cudaMalloc(&y, 8 * 152064 * sizeof(float));
    fill(x, 8 * 18944 * sizeof(float));
    void *q8;
    cudaMalloc(&q8, LL_CUDA_Q8_BYTES(8, 18944));
    cudaStream_t st;
    cudaStreamCreate(&st);
    printf("%-24s %4s %10s %10s  kernel\n", "matvec", "T", "us", "GB/s");
    void *q8old;
    cudaMalloc(&q8old, LL_CUDA_Q8_BYTES(8, 18944));
    uint8_t *raw;
    cudaMalloc(&raw, (size_t)152064 * 14 * 210);
    for (const shape &s : shapes) {
        const size_t row_bytes = (size_t)s.K / s.blk * s.blk_bytes, bytes = row_bytes * s.N;
        // copies: at least GRAPH_N launches' worth past 200 MB, cycled
        const int nc = (int)(bytes * GRAPH_N > ((size_t)200 << 20) ? GRAPH_N : (((size_t)200 << 20) / bytes + 1));
        std::vector<uint8_t *> w(nc), wp(nc);
        fill(raw, bytes);
        const bool packs = ll_cuda_packs(s.type, s.K);
        for (int i = 0; i < nc; i++) {
            cudaMalloc(&w[i], bytes);
            cudaMemcpy(w[i], raw, bytes, cudaMemcpyDeviceToDevice);
            wp[i] = w[i];
            if (packs) {
                cudaMalloc(&wp[i], bytes);
                ll_cuda_pack_rows(s.type, w[i], 0, s.N, s.N, s.K, wp[i], st);
            }
        }
        ll_cuda_quant_q8(x, 4, s.K, q8, st);
        const int ptype = packs ? s.type | LL_CUDA_PACKED : s.type;
        for (int T : {1, 4}) {
            float us;
            if (!quick) {
                us = graph_us(st, [&](int i) {
                    ll_dweight dw = {w[i % nc], s.type, s.K, s.N, row_bytes};
                    ll_cuda_matvec(&dw, x, T, y, NULL, false, st);
                });
                printf("%-24s %4d %10.1f %10.0f  float\n", s.name, T, us, bytes / us / 1e3);
            }
            ll_dweight pw = {wp[0], ptype, s.K, s.N, row_bytes};
            if (ll_cuda_matvec_q8_ok(&pw)) {
                us = graph_us(st, [&](int i) {
                    ll_dweight dw = {wp[i % nc], ptype, s.K, s.N, row_bytes};
                    ll_cuda_matvec_q8(&dw, q8, T, y, NULL, false, st);
                });
                printf("%-24s %4d %10.1f %10.0f  q8\n", s.name, T, us, bytes / us / 1e3);
            }
#ifdef OLD_MV
            if (s.type != LL_TYPE_F16 && !quick) {
                old_quant_q8(x, 4, s.K, q8old, st);
                us = graph_us(st, [&](int i) {
                    ll_dweight dw = {w[i % nc], s.type, s.K, s.N, row_bytes};
                    old_matvec_q8(&dw, q8old, T, y, NULL, false, st);
                });
                printf("%-24s %4d %10.1f %10.0f  q8 (previous kernels)\n", s.name, T, us, bytes / us / 1e3);
            }
#endif
        }
        for (int i = 0; i < nc; i++) {
            if (wp[i] != w[i]) cudaFree(wp[i]);
            cudaFree(w[i]);
        }
    }
    // grouped products of one input (q/k/v, gate/up), as a generation step runs them
    struct group { const char *name; int n; int type[3]; int N[3]; int K; };
    const group groups[] = {
        {"q/k/v Q4_K,Q4_K,Q6_K", 3, {LL_TYPE_Q4_K, LL_TYPE_Q4_K, LL_TYPE_Q6_K}, {3584, 512, 512}, 3584},
        {"gate+up Q4_K 2x18944", 2, {LL_TYPE_Q4_K, LL_TYPE_Q4_K}, {18944, 18944}, 3584},
        {"q/k/v Q8_0", 3, {LL_TYPE_Q8_0, LL_TYPE_Q8_0, LL_TYPE_Q8_0}, {3584, 512, 512}, 3584},
        {"gate+up Q8_0 2x18944", 2, {LL_TYPE_Q8_0, LL_TYPE_Q8_0}, {18944, 18944}, 3584},
    };
    for (const group &gr : groups) {
        size_t bytes = 0, rb[3];
        for (int i = 0; i < gr.n; i++) {
            const bool q80 = gr.type[i] == LL_TYPE_Q8_0;
            rb[i] = (size_t)gr.K / (q80 ? 32 : 256) * (q80 ? 34 : gr.type[i] == LL_TYPE_Q6_K ? 210 : 144);
            bytes += rb[i] * gr.N[i];
        }
        const int nc = (int)(bytes * GRAPH_N > ((size_t)200 << 20) ? GRAPH_N : (((size_t)200 << 20) / bytes + 1));
        std::vector<uint8_t *> w((size_t)nc * gr.n);
        for (int c = 0; c < nc; c++)
            for (int i = 0; i < gr.n; i++) {
                const size_t b = rb[i] * gr.N[i];
                fill(raw, b);
                cudaMalloc(&w[c * gr.n + i], b);
                if (ll_cuda_packs(gr.type[i], gr.K))
                    ll_cuda_pack_rows(gr.type[i], raw, 0, gr.N[i], gr.N[i], gr.K, w[c * gr.n + i], st);
                else
                    cudaMemcpy(w[c * gr.n + i], raw, b, cudaMemcpyDeviceToDevice);
            }
        cudaStreamSynchronize(st);
        ll_cuda_quant_q8(x, 4, gr.K, q8, st);
        for (int T : {1, 4}) {
            const float us = graph_us(st, [&](int c) {
                ll_cuda_mv_group g;
                g.n = gr.n;
                size_t off = 0;
                for (int i = 0; i < gr.n; i++) {
                    const int t = ll_cuda_packs(gr.type[i], gr.K) ? gr.type[i] | LL_CUDA_PACKED : gr.type[i];
                    g.w[i] = {w[(c % nc) * gr.n + i], t, gr.K, gr.N[i], rb[i]};
                    g.y[i] = y + off;
                    g.bias[i] = NULL;
                    off += (size_t)T * gr.N[i];
                }
                ll_cuda_matvec_q8_group(&g, q8, T, st);
            });
            printf("%-24s %4d %10.1f %10.0f  q8 group\n", gr.name, T, us, bytes / us / 1e3);
        }
        for (uint8_t *p : w) cudaFree(p);
    }
    if (quick) return cudaDeviceSynchronize() == cudaSuccess ? 0 : 1;
    // the small kernels of a layer, T = 1
    const int D = 3584, F = 18944, H = 28, Hkv = 4, hd = 128, n_ctx = 4096;
    float *g, *q, *k, *v, *o, *part;
    __half *kc, *vc;
    int32_t *meta;
    unsigned long long *seqs;
    cudaMalloc(&g, F * sizeof(float));
    cudaMalloc(&q, H * hd * sizeof(float));
    cudaMalloc(&k, Hkv * hd * sizeof(float));
    cudaMalloc(&v, Hkv * hd * sizeof(float));
    cudaMalloc(&o, H * hd * sizeof(float));
    cudaMalloc(&part, 8 * H * LL_CUDA_ATTN_SPLITS * (hd + 2) * sizeof(float));
    cudaMalloc(&kc, (size_t)n_ctx * Hkv * hd * 2);
    cudaMalloc(&vc, (size_t)n_ctx * Hkv * hd * 2);
    cudaMalloc(&meta, (n_ctx + 8) * sizeof(int32_t));
    cudaMalloc(&seqs, n_ctx * sizeof(unsigned long long));
    cudaMemset(kc, 0, (size_t)n_ctx * Hkv * hd * 2);
    cudaMemset(vc, 0, (size_t)n_ctx * Hkv * hd * 2);
    int32_t *hm = (int32_t *)malloc((n_ctx + 8) * sizeof(int32_t));
    unsigned long long *hs = (unsigned long long *)malloc(n_ctx * sizeof(unsigned long long));
    for (int i = 0; i < n_ctx; i++) { hm[i] = i; hs[i] = 1; }
    fill(g, F * sizeof(float));
    printf("\n%-40s %10s\n", "op (T = 1)", "us");
    printf("%-40s %10.1f\n", "rmsnorm D", stream_us(st, [&](int) { ll_cuda_rmsnorm(x, g, y, 1, D, 1e-6f, st); }, 200));
    printf("%-40s %10.1f\n", "rope q", stream_us(st, [&](int) { ll_cuda_rope(q, 1, H, hd, hd, true, 10000.f, NULL, meta, st); }, 200));
    printf("%-40s %10.1f\n", "swiglu F", stream_us(st, [&](int) { ll_cuda_swiglu(g, x, F, st); }, 200));
    ll_cuda_quant_q8(x, 1, 18944, q8, st);
    printf("%-40s %10.1f\n", "quantize activations (18944)", stream_us(st, [&](int) { ll_cuda_quant_q8(x, 1, 18944, q8, st); }, 200));
    printf("%-40s %10.1f\n", "rope q, k + kv store (fused)", stream_us(st, [&](int) { ll_cuda_rope_kv(q, k, v, kc, vc, meta, meta, 1, H, Hkv, hd, true, 10000.f, NULL, st); }, 200));
    printf("%-40s %10.1f\n", "kv_store", stream_us(st, [&](int) { ll_cuda_kv_store(k, v, kc, vc, meta, 1, Hkv * hd, st); }, 200));
    for (int cells : {128, 640, 4096}) {
        hm[n_ctx] = cells;  // n_cells
        hm[n_ctx + 1] = cells - 1;  // token position
        hm[n_ctx + 2] = 0;  // token sequence
        cudaMemcpy(meta, hm, (n_ctx + 8) * sizeof(int32_t), cudaMemcpyHostToDevice);
        cudaMemcpy(seqs, hs, n_ctx * sizeof(unsigned long long), cudaMemcpyHostToDevice);
        ll_cuda_attn a = {q, o, kc, vc, 1, H, Hkv, hd, meta + n_ctx + 1, meta + n_ctx + 2, meta, seqs, meta + n_ctx, part, NULL};
        char name[64];
        snprintf(name, sizeof name, "attention, %d cells (split)", cells);
        printf("%-40s %10.1f\n", name, stream_us(st, [&](int) { ll_cuda_attention(&a, st); }, 100));
        a.part = NULL;
        snprintf(name, sizeof name, "attention, %d cells (one block per head)", cells);
        printf("%-40s %10.1f\n", name, stream_us(st, [&](int) { ll_cuda_attention(&a, st); }, 100));
    }
    cudaError_t err = cudaDeviceSynchronize();
    printf("\n%s\n", err == cudaSuccess ? "ok" : cudaGetErrorString(err));
    return 0;
}
