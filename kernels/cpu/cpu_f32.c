/* The float32 CPU backend's ops: what the trainer runs (kernels/cpu/cpu_ops_impl.h). */
#define T float
#define S f32
#define GEMM cblas_sgemm
#define MATH(name) name##_f
#define EXP expf
#include "kernels/cpu/cpu_ops_impl.h"
