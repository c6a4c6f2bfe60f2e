// Storage-dtype widening on the GPU: bf16/f16 weights as memory-mapped from safetensors -> fp32.
#include <stdio.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"

__global__ static void half_to_f32_kernel(const uint16_t *src, size_t n, int is_f16, float *dst) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    for (; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint16_t bits = src[i];
        if (is_f16) {
            __half_raw r;
            r.x = bits;
            dst[i] = __half2float(__half(r));
        } else {
            dst[i] = __uint_as_float((unsigned)bits << 16);  // bf16 is the top half of an fp32
        }
    }
}

extern "C" int cuda_half_to_f32(const uint16_t *d_src, size_t n, int is_f16, float *d_dst, duo_error *err) {
    if (n == 0) return 0;
    int threads = 256;
    size_t blocks = (n + threads - 1) / threads;
    if (blocks > 65535) blocks = 65535;
    half_to_f32_kernel<<<(unsigned)blocks, threads>>>(d_src, n, is_f16, d_dst);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return duo_fail(err, "cuda_half_to_f32: kernel launch: %s", cudaGetErrorString(e));
    return 0;
}

extern "C" int cuda_device_describe(char *buf, size_t cap, duo_error *err) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0)
        return duo_fail(err, "no CUDA device: %s", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    cudaDeviceProp p;
    e = cudaGetDeviceProperties(&p, 0);
    if (e != cudaSuccess) return duo_fail(err, "cudaGetDeviceProperties: %s", cudaGetErrorString(e));
    snprintf(buf, cap, "%s, sm_%d%d, %.1f GiB", p.name, p.major, p.minor, p.totalGlobalMem / 1073741824.0);
    return 0;
}
