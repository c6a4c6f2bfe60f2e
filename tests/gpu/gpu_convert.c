/* GPU test: the bf16/f16 -> f32 widening kernel equals the CPU conversion (tensor_to_f32) bit for bit. */
#include <cuda_runtime.h>
#include <stdint.h>

#include "data/safetensors.h"
#include "kernels/cuda/cuda_backend.h"
#include "tests/harness.h"

static void check_dtype(test_ctx *t, duo_dtype dt) {
    enum { N = 70000 };
    static uint16_t host[N];
    static float want[N], got[N];
    for (int i = 0; i < N; i++) host[i] = (uint16_t)(i * 2654435761u >> 7);  /* every bit pattern region */
    duo_tensor tensor = {.name = "t", .dtype = dt, .ndim = 1, .shape = {N}, .data = host, .nbytes = sizeof host};
    tensor_to_f32(&tensor, 0, N, want);
    uint16_t *d_src;
    float *d_dst;
    duo_error err;
    CHECK(cudaMalloc((void **)&d_src, sizeof host) == cudaSuccess);
    CHECK(cudaMalloc((void **)&d_dst, sizeof got) == cudaSuccess);
    CHECK(cudaMemcpy(d_src, host, sizeof host, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK_MSG(cuda_half_to_f32(d_src, N, dt == DUO_F16, d_dst, &err) == 0, "%.500s", err.msg);
    CHECK(cudaMemcpy(got, d_dst, sizeof got, cudaMemcpyDeviceToHost) == cudaSuccess);
    cudaFree(d_src);
    cudaFree(d_dst);
    for (int i = 0; i < N; i++)
        if (memcmp(&got[i], &want[i], 4) && !(isnan(got[i]) && isnan(want[i])))
            FAILF("element %d (bits 0x%04x): gpu %g, cpu %g", i, host[i], got[i], want[i]);
}

TEST(bf16_to_f32_matches_cpu) {
    char name[256];
    duo_error err;
    if (cuda_device_describe(name, sizeof name, &err)) SKIP("%.500s", err.msg);
    check_dtype(t, DUO_BF16);
}

TEST(f16_to_f32_matches_cpu) {
    char name[256];
    duo_error err;
    if (cuda_device_describe(name, sizeof name, &err)) SKIP("%.500s", err.msg);
    check_dtype(t, DUO_F16);
}

TEST_MAIN()
