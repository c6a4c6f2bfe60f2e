/* float32 instances of the CPU primitives (kernels/cpu/ops_impl.h): what the trainer runs. */
#define T float
#define S f32
#define GEMM cblas_sgemm
#define EXP expf
#include "kernels/cpu/ops_impl.h"
