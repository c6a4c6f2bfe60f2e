/* float64 instances of the CPU primitives (kernels/cpu/ops_impl.h): for finite-difference tests. */
#define T double
#define S f64
#define GEMM cblas_dgemm
#define EXP exp
#include "kernels/cpu/ops_impl.h"
