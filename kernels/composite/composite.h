/* The backend-neutral composite op table (DESIGN §5): every op of kernels/ops.h written once on a
 * backend's primitives (be->prims, kernels/prims.h).  A backend whose primitives are complete uses
 * duo_composite_ops as its op table: the CUDA backend does; the CPU's "cpu-composite" backends do for
 * tests (tests/test_composite.c compares them with the CPU's fused ops).
 *
 * The composites allocate one workspace through prims->alloc (attention score tiles, bf16 copies of
 * GEMM operands, per-row reduction results), at most be->composite_workspace_bytes, kept in
 * be->composite until composite_release(). */
#ifndef DUO_KERNELS_COMPOSITE_COMPOSITE_H
#define DUO_KERNELS_COMPOSITE_COMPOSITE_H

#include "kernels/ops.h"
#include "kernels/prims.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const duo_ops duo_composite_ops;

/* The most query rows of an attention tile on be (0: the default, 256 for streaming masks and 1024 for
 * full attention).  The CPU composite backends use 64, the CPU fused ops' chunk, so that their spans and
 * GEMM shapes are the fused op's.  0, or -1 (recorded) when out of host memory. */
int composite_set_tile_rows(duo_backend *be, int rows);

/* Frees the composites' workspace and host scratch of be (call before the backend's memory goes; safe
 * when none was made). */
void composite_release(duo_backend *be);

#ifdef __cplusplus
}
#endif

#endif
