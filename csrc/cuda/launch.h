/* Programmatic dependent launch (sm_90): a kernel launched by ll_launch_pdl
 * may start while the kernel before it on the stream is still finishing, so
 * the gap between the many short kernels of a generation step (and each
 * one's ramp-up) overlaps the previous kernel's tail. Such a kernel must call
 * ll_pdl_wait() before it reads anything an earlier kernel writes, and
 * before its own first global write; it may read the weights before that.
 * ll_pdl_trigger() lets the next kernel be scheduled early. Both are no-ops
 * where the kernel was launched normally. Captured graphs keep the edges. */
#ifndef LL_CUDA_LAUNCH_H
#define LL_CUDA_LAUNCH_H

#include <cuda_runtime.h>
#include <stdlib.h>

static __device__ __forceinline__ void ll_pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

static __device__ __forceinline__ void ll_pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;");
#endif
}

/* Whether to set the launch attribute: the device takes it (compute
 * capability 9.0 and later) and LUALLM_CUDA_PDL=0 (for measuring what it
 * saves) is not set. */
static inline bool ll_pdl_ok() {
    const char *v = getenv("LUALLM_CUDA_PDL");
    if (v && v[0] == '0' && !v[1]) return false;
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
        return false;
    return major >= 9;
}

template <typename... KArgs, typename... Args>
static inline void ll_launch_pdl(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t st,
                                 Args... args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = st;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at;
    cfg.numAttrs = ll_pdl_ok() ? 1 : 0;
    cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...);
}

#endif
