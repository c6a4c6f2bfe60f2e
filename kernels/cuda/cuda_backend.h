/* C entry points of the CUDA backend (built only when nvcc is present; DUO_HAVE_CUDA is then defined).
 * Each returns 0, or -1 with err set to the CUDA error and the call that failed. */
#ifndef DUO_KERNELS_CUDA_BACKEND_H
#define DUO_KERNELS_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct duo_backend;

/* 1 if device 0 answers and this build's CUDA instance of the op table is complete, so `auto` may
 * pick it; else 0 with err saying why (the driver's reason, or the missing ops). */
int cuda_backend_ready(duo_error *err);
/* The CUDA backend on device 0 at a precision (duo_precision of kernels/backend.h: -1 default = bf16,
 * 0 fp32, 1 bf16); NULL with err set (the driver's reason when no device answers). */
struct duo_backend *cuda_backend_create(int precision, duo_error *err);
void cuda_backend_free(struct duo_backend *be);

/* Name and memory of device 0, for `inspect`/`bench`; -1 if no usable GPU. */
int cuda_device_describe(char *buf, size_t cap, duo_error *err);

/* Widens n bf16 (or f16 when is_f16) values on the device to float32 on the device. */
int cuda_half_to_f32(const uint16_t *d_src, size_t n, int is_f16, float *d_dst, duo_error *err);

/* Free and total memory of the current device (cudaMemGetInfo; kernels/cuda/device_memory.cu), for the
 * check of the step's memory plan before training starts. */
int cuda_device_memory_info(size_t *free_bytes, size_t *total_bytes, duo_error *err);

#ifdef __cplusplus
}
#endif

#endif
