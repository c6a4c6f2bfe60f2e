/* The float32 CPU backend's ops: what the trainer runs (kernels/cpu/cpu_ops_impl.h); its primitives
 * (kernels/cpu/prims_impl.h) with float32 weights and with bf16 weights; and the op table with bf16
 * weight storage (kernels/cpu/dense_bf16_impl.h). */
#define T float
#define S f32
#define GEMM cblas_sgemm
#define MATH(name) name##_f
#define SWIGLU_EXP duo_vexp_d /* kernels/cpu/vexp_d.h */
#define ATTN_FUSED 1 /* the float attention's fused tile kernel (kernels/cpu/attn_fused.h) */
#include "kernels/cpu/cpu_ops_impl.h"
#undef ATTN_FUSED

int duo_cpu_attn_isa_cap = 2;

#define PFN(name) CAT(name, CAT(p, PS))
#define PS f32
#define WT float
#define WLOAD(x) (x)
#include "kernels/cpu/prims_impl.h"
#undef PS
#undef WT
#undef WLOAD

#define PS f32_bf16
#define WT uint16_t
#define WLOAD(x) duo_bf16_to_f32(x)
#include "kernels/cpu/prims_impl.h"

#include "kernels/cpu/dense_bf16_impl.h"
