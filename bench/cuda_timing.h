// Timing helpers of the CUDA benches (bench/cuda_kernels.cu,
// bench/cuda_attn_bench.cu).
#ifndef LL_BENCH_CUDA_TIMING_H
#define LL_BENCH_CUDA_TIMING_H

#include <cuda_runtime.h>
#include <stdio.h>

// Milliseconds that the work body() enqueues on st takes on the device.
template <typename B> static float device_ms(cudaStream_t st, B body) {
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    cudaEventRecord(a, st);
    body();
    cudaEventRecord(b, st);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return ms;
}

// f(i) enqueues launch i (0..GRAPH_N-1) on st; the GRAPH_N launches are
// captured once and the graph replayed: microseconds per launch, without
// host launch overhead. -1 when capture fails.
#define GRAPH_N 16
template <typename F> static float graph_us(cudaStream_t st, F f, int reps = 20) {
    cudaGraph_t g;
    cudaGraphExec_t ge;
    cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal);
    for (int i = 0; i < GRAPH_N; i++) f(i);
    if (cudaStreamEndCapture(st, &g) != cudaSuccess || cudaGraphInstantiate(&ge, g, 0) != cudaSuccess) {
        printf("graph capture failed: %s\n", cudaGetErrorString(cudaGetLastError()));
        return -1.f;
    }
    cudaGraphLaunch(ge, st); /* warm-up */
    const float ms = device_ms(st, [&] {
        for (int i = 0; i < reps; i++) cudaGraphLaunch(ge, st);
    });
    cudaGraphExecDestroy(ge);
    cudaGraphDestroy(g);
    return ms * 1000.f / reps / GRAPH_N;
}

// The same launched directly, back to back (launch overhead included).
template <typename F> static float stream_us(cudaStream_t st, F f, int reps = 200) {
    for (int i = 0; i < 5; i++) f(i % GRAPH_N);
    const float ms = device_ms(st, [&] {
        for (int i = 0; i < reps; i++) f(i % GRAPH_N);
    });
    return ms * 1000.f / reps;
}

#endif
