/* The CPU backend (C11 + OpenMP + OpenBLAS): host memory, float32 or float64 compute.  It runs the whole
 * pipeline on small models and is the oracle every other backend's ops are tested against. */
#ifndef DUO_KERNELS_CPU_CPU_BACKEND_H
#define DUO_KERNELS_CPU_CPU_BACKEND_H

#include "kernels/ops.h"

/* f64 0: float32 activations and weights ("cpu"); 1: float64 ("cpu-f64"). */
duo_backend *backend_cpu_create(int f64, duo_error *err);

/* The memory ops every CPU instance shares (kernels/cpu/cpu_memory.c). */
void *cpu_alloc(duo_backend *be, size_t bytes);
void cpu_free(duo_backend *be, void *p);
void cpu_upload(duo_backend *be, void *dst, const void *src, size_t bytes);
void cpu_download(duo_backend *be, void *dst, const void *src, size_t bytes);
void cpu_sync(duo_backend *be);

extern const duo_ops cpu_ops_f32, cpu_ops_f64;

#endif
