/* The CPU "composite" backends (kernels/cpu/cpu_backend.h): the composite op table (kernels/composite/)
 * on the CPU's primitives, so that every composite, and every GEMM descriptor it issues, runs and is
 * tested on the CPU against the CPU's fused ops.  For tests and debugging only. */
#include <stdlib.h>

#include "kernels/backend.h"
#include "kernels/composite/composite.h"
#include "kernels/cpu/cpu_backend.h"

duo_backend *backend_cpu_composite_create(int f64, int bf16, duo_error *err) {
    if (f64 && bf16) {
        duo_fail(err, "the composite CPU backend has no float64 instance with bf16 weights");
        return NULL;
    }
    duo_backend *be = calloc(1, sizeof *be);
    if (!be) {
        duo_fail(err, "out of memory creating the composite CPU backend");
        return NULL;
    }
    be->ops = &duo_composite_ops;
    be->name = f64 ? "cpu-composite-f64" : bf16 ? "cpu-composite-bf16" : "cpu-composite";
    be->prims = f64 ? &cpu_prims_f64 : bf16 ? &cpu_prims_f32_bf16 : &cpu_prims_f32;
    be->act_type = f64 ? DUO_E_F64 : DUO_E_F32;
    be->weight_type = f64 ? DUO_E_F64 : bf16 ? DUO_E_BF16 : DUO_E_F32;
    be->act_size = duo_elem_size((duo_elem)be->act_type);
    be->weight_size = duo_elem_size((duo_elem)be->weight_type);
    be->composite_workspace_bytes = DUO_CPU_COMPOSITE_WORKSPACE_BYTES;
    if (composite_set_tile_rows(be, 64)) { /* the fused ops' ATTN_CHUNK: the same spans and GEMM shapes */
        backend_check(be, err);
        free(be);
        return NULL;
    }
    return be;
}
