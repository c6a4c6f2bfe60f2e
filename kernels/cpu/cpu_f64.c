/* The float64 CPU backend's ops: the finite-difference oracle (kernels/cpu/cpu_ops_impl.h); and its
 * primitives (kernels/cpu/prims_impl.h), under which the composites' float64 instance runs. */
#define T double
#define S f64
#define GEMM cblas_dgemm
#define MATH(name) name##_d
#define SWIGLU_EXP exp /* the oracle keeps libm's */
#include "kernels/cpu/cpu_ops_impl.h"

#define PFN(name) CAT(name, CAT(p, PS))
#define PS f64
#define WT double
#define WLOAD(x) (x)
#include "kernels/cpu/prims_impl.h"
