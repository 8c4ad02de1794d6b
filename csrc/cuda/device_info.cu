/* Device discovery; safe on machines without a driver or a GPU. */
#include "cuda/cuda_common.h"

#include <stdio.h>
#include <string.h>

extern "C" int ll_cuda_device_info(ll_cuda_device *out, int max, char *why, size_t why_len) {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess || n <= 0) {
        if (why && why_len) snprintf(why, why_len, "%s", err != cudaSuccess ? cudaGetErrorString(err) : "no devices");
        cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
        return 0;
    }
    for (int i = 0; out && i < n && i < max; i++) {
        cudaDeviceProp p;
        memset(&out[i], 0, sizeof out[i]);
        if (cudaGetDeviceProperties(&p, i) == cudaSuccess) {
            snprintf(out[i].name, sizeof out[i].name, "%s", p.name);
            out[i].mem_total = p.totalGlobalMem;
        }
        size_t fr = 0, tot = 0;
        int cur = 0;
        cudaGetDevice(&cur);
        if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&fr, &tot) == cudaSuccess) {
            out[i].mem_free = fr;
            out[i].mem_total = tot;
        }
        cudaSetDevice(cur);
        cudaGetLastError();
    }
    return n;
}
