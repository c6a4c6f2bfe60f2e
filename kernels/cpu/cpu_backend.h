/* The CPU backend (C11 + OpenMP + OpenBLAS): host memory, float32 or float64 compute.  It runs the whole
 * pipeline on small models and is the oracle every other backend's ops are tested against. */
#ifndef DUO_KERNELS_CPU_CPU_BACKEND_H
#define DUO_KERNELS_CPU_CPU_BACKEND_H

#include "kernels/ops.h"
#include "kernels/prims.h"

#ifdef __cplusplus
extern "C" {
#endif

/* f64 0: float32 activations and weights ("cpu"); 1: float64 ("cpu-f64"). */
duo_backend *backend_cpu_create(int f64, duo_error *err);
/* "cpu" with bf16 weight storage (--dtype bf16): float32 activations and arithmetic, weights held as bf16
 * and widened exactly where they are read (kernels/cpu/dense_bf16_impl.h). */
duo_backend *backend_cpu_bf16_create(duo_error *err);

/* The composite op table (kernels/composite/) on the CPU's primitives, for tests and debugging: f64 1:
 * float64 ("cpu-composite-f64"); bf16 1: float32 activations with bf16 weights and bf16 GEMM operands,
 * the GPU's bf16 semantics ("cpu-composite-bf16"); both 0: float32 ("cpu-composite"). */
duo_backend *backend_cpu_composite_create(int f64, int bf16, duo_error *err);

/* The memory ops every CPU instance shares (kernels/cpu/cpu_memory.c). */
void *cpu_alloc(duo_backend *be, size_t bytes);
void cpu_free(duo_backend *be, void *p);
void cpu_upload(duo_backend *be, void *dst, const void *src, size_t bytes);
void cpu_download(duo_backend *be, void *dst, const void *src, size_t bytes);
void cpu_sync(duo_backend *be);
void cpu_memset0(duo_backend *be, void *dst, size_t bytes);

/* The type-generic primitives (kernels/cpu/cpu_prims_common.c): conversion, checkpoint loads, the GEMM
 * descriptor by cblas in CblasColMajor (bf16 operands widened into float scratch, then sgemm). */
void cpu_convert(duo_backend *be, const void *src, duo_elem src_type, void *dst, duo_elem dst_type, size_t count);
void cpu_load_tensor_as(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *dst,
                        duo_elem dst_type);
void cpu_gemm(duo_backend *be, const duo_gemm *g);

extern const duo_ops cpu_ops_f32, cpu_ops_f64, cpu_ops_f32_bf16;
/* The widest instruction set the float attention's fused kernel may use (kernels/cpu/attn_fused.h):
 * 2 AVX-512 (the default: whatever the processor runs), 1 AVX2 + FMA, 0 none (the BLAS path).  Tests
 * lower it to check the narrower kernels on a machine that has the wider. */
extern int duo_cpu_attn_isa_cap;
/* The CPU's primitives: float32, float64, and float32 with bf16 weight elements (rmsnorm / bias weights
 * read as bf16). */
extern const duo_prims cpu_prims_f32, cpu_prims_f64, cpu_prims_f32_bf16;

#ifdef __cplusplus
}
#endif

#endif
