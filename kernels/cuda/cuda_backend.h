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
struct duo_ops;
struct duo_prims;

/* Device memory the CUDA backend holds besides the composites' workspace and what ops allocate: the
 * staging buffer of load_tensor (a checkpoint's raw bytes on their way to a tensor) and cuBLAS's own
 * workspace (cublasSetWorkspace, so its kernels never allocate behind the stream).  A memory plan made
 * without a device (model/step_plan) can count DUO_CUDA_FIXED_DEVICE_BYTES. */
#define DUO_CUDA_STAGE_BYTES ((size_t)64 << 20)
#define DUO_CUDA_BLAS_WORKSPACE_BYTES ((size_t)32 << 20)
#define DUO_CUDA_FIXED_DEVICE_BYTES (DUO_CUDA_STAGE_BYTES + DUO_CUDA_BLAS_WORKSPACE_BYTES)

/* 1 if device 0 answers (the CUDA backend's op table is the composite one on the CUDA primitives), so
 * `auto` may pick it; else 0 with err set to the driver's reason. */
int cuda_backend_ready(duo_error *err);
/* The CUDA backend on device 0 at a precision (duo_precision of kernels/backend.h: -1 default = bf16,
 * 0 fp32, 1 bf16): a stream, a cuBLAS handle and workspace, the primitives, the composite op table;
 * it runs the self-test (every primitive against the CPU's) before it returns.  NULL with err set (the
 * driver's reason when no device answers; the primitive and its error when the self-test fails). */
struct duo_backend *cuda_backend_create(int precision, duo_error *err);
void cuda_backend_free(struct duo_backend *be);

/* The tables the CUDA backend uses, for a check without a device that no entry is NULL. */
const struct duo_prims *cuda_prims_table(void);
const struct duo_ops *cuda_ops_table(void);

/* The shapes of one self-test run (kernels/cuda/selftest.cu): m rows of d elements, nheads heads of hd
 * (ngroups KV groups), nk gapped key rows of the score tiles (m query rows). */
typedef struct {
    int m, d, nheads, hd, ngroups, nk;
} duo_selftest_shape;
/* Every primitive of be once at these shapes against the CPU's primitives, outputs between guard
 * bytes; 0, or -1 with err naming the first primitive beyond its tolerance and its error. */
int cuda_selftest_run(struct duo_backend *be, const duo_selftest_shape *sh, duo_error *err);

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
