// The CUDA backend's lifecycle.  Device discovery is real (the driver's own reason when no GPU
// answers); the CUDA instance of the op table (kernels/ops.h) is not written yet, so creating the
// backend on a machine with a GPU says so instead of returning a half-built table.
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"

static int device_answers(duo_error *err) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) return duo_fail(err, "no CUDA device answers: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    if (count == 0) return duo_fail(err, "no CUDA device answers: the driver reports 0 devices");
    return 0;
}

extern "C" int cuda_backend_ready(duo_error *err) {
    if (device_answers(err)) return 0;
    duo_fail(err, "the CUDA instance of the op table is not built yet");
    return 0;
}

extern "C" struct duo_backend *cuda_backend_create(int precision, duo_error *err) {
    if (device_answers(err)) return NULL;
    duo_fail(err, "a CUDA device answers, but this build's CUDA backend has no training ops yet; use --backend cpu");
    return NULL;
}

extern "C" void cuda_backend_free(struct duo_backend *be) { (void)be; }
