// The device's free memory (cudaMemGetInfo), for train's check of the step's memory plan
// (model/step_plan.h, cli/train_memory.c) before it loads the weights.
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"

extern "C" int cuda_device_memory_info(size_t *free_bytes, size_t *total_bytes, duo_error *err) {
    size_t f = 0, t = 0;
    cudaError_t e = cudaMemGetInfo(&f, &t);
    if (e != cudaSuccess)
        return duo_fail(err, "cudaMemGetInfo failed: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    *free_bytes = f;
    *total_bytes = t;
    return 0;
}
