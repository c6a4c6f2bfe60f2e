/* One CPU instance of the op table (kernels/ops.h) for element type T: the templates of the ops, then
 * the table itself, named cpu_ops_<S>.  Included by kernels/cpu/cpu_f32.c (T float: what the trainer
 * runs) and cpu_f64.c (T double: the finite-difference oracle), so the double instance checks exactly
 * the math the float instance runs. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/cpu_par.h"
#include "kernels/cpu/vexp_d.h"
#include "kernels/gate.h"
#include "kernels/math/attn_rows.h"
#include "kernels/math/bf16.h"
#include "kernels/math/elem.h"
#include "kernels/ops.h"
#include "kernels/prims.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, S)

/* The one-row linear layer on weights of the compute type (kernels/cpu/gemv_impl.h). */
#define GV_NAME(name) FN(name)
#define GV_WT T
#define GV_WIDEN(v, p) memcpy(&(v), (p), sizeof(v))
#define GV_WLOAD(x) (x)
#include "kernels/cpu/gemv_impl.h"
#undef GV_NAME
#undef GV_WT
#undef GV_WIDEN
#undef GV_WLOAD
#include "kernels/cpu/gemm_par_impl.h"
#include "kernels/cpu/dense_impl.h"
#include "kernels/cpu/attention_impl.h"
#include "kernels/cpu/rows_impl.h"
#include "kernels/cpu/duo_impl.h"

/* RMSNorm and the bias add are the primitives' instance of the same weight type (kernels/cpu/prims_impl.h,
 * included after this file with PS = S): one loop serves the fused table and the primitives. */
#define SAME_TYPE_PRIM(name) CAT(name, CAT(p, S))
static void SAME_TYPE_PRIM(rmsnorm)(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps, void *Y);
static void SAME_TYPE_PRIM(add_bias_rows)(duo_backend *be, void *X, size_t m, int d, const void *bias);

const duo_ops CAT(cpu_ops, S) = {
    .alloc = cpu_alloc, .free = cpu_free, .upload = cpu_upload, .download = cpu_download, .sync = cpu_sync,
    .load_tensor = FN(load_tensor),
    .linear = FN(linear), .linear_bwd = FN(linear_bwd), .rmsnorm = SAME_TYPE_PRIM(rmsnorm), .rmsnorm_bwd = FN(rmsnorm_bwd),
    .rope_tables = FN(rope_tables), .rope = FN(rope), .add_bias_rows = SAME_TYPE_PRIM(add_bias_rows), .swiglu = FN(swiglu), .swiglu_bwd = FN(swiglu_bwd),
    .embed = FN(embed), .gather_rows = FN(gather_rows), .scatter_add_rows = FN(scatter_add_rows), .copy = FN(copy), .copy_rows = FN(copy_rows), .permute_heads = FN(permute_heads),
    .zero = FN(zero), .argmax_rows = FN(argmax_rows),
    .attn_fwd = FN(attn_fwd), .attn_bwd = FN(attn_bwd), .attn_argmax = FN(attn_argmax),
    .gate_blend = FN(gate_blend), .gate_blend_bwd = FN(gate_blend_bwd), .sqdiff_loss = FN(sqdiff_loss),
    .sqdiff_grad = FN(sqdiff_grad),
};
