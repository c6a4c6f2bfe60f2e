/* The float64 CPU backend's ops: the finite-difference oracle (kernels/cpu/cpu_ops_impl.h). */
#define T double
#define S f64
#define GEMM cblas_dgemm
#define MATH(name) name##_d
#define EXP exp
#include "kernels/cpu/cpu_ops_impl.h"
