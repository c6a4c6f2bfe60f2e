/* What the composites share (the kernels/composite sources): their per-backend state, the workspace, host
 * copies of small backend arrays, and the row-major GEMM helper that builds a column-major descriptor. */
#ifndef DUO_KERNELS_COMPOSITE_COMPOSITE_IMPL_H
#define DUO_KERNELS_COMPOSITE_COMPOSITE_IMPL_H

#include "kernels/backend.h"
#include "kernels/composite/composite.h"

typedef struct {
    void *ws; /* backend memory, ws_bytes */
    size_t ws_bytes;
    int32_t *hq, *hk; /* host copies of an attention call's qpos / kpos */
    size_t hq_cap, hk_cap;
    int tile_rows; /* composite_set_tile_rows; 0: the default */
} composite_state;

/* The workspace with at least `bytes` (within be->composite_workspace_bytes); NULL and recorded when it
 * cannot be had.  One composite uses it at a time and partitions it itself. */
void *composite_ws(duo_backend *be, size_t bytes, const char *call);
/* The state (made on first use); NULL and recorded when out of host memory. */
composite_state *composite_get(duo_backend *be, const char *call);
/* Host copy of n int32 backend values into the state's buffer *slot (capacity *cap); NULL and recorded
 * on failure. */
int32_t *composite_host_ints(duo_backend *be, const int32_t *src, size_t n, int32_t **slot, size_t *cap,
                             const char *call);

/* Row-major C[M][N] (ldc) = alpha opA(A)[M][K] opB(B)[K][N] + beta C over `batch` strided instances
 * (opX(X) = X, or X^T stored [K][M] / [N][K] when tX): the column-major descriptor C^T = opB^T opA^T. */
static inline void composite_gemm_rm(duo_backend *be, int ta, int tb, int M, int N, int K, double alpha,
                                     const void *A, duo_elem at, long long lda, long long sa, const void *B,
                                     duo_elem bt, long long ldb, long long sb, double beta, void *C, duo_elem ct,
                                     long long ldc, long long sc, int batch) {
    duo_gemm g;
    g.trans_a = tb;
    g.trans_b = ta;
    g.m = N;
    g.n = M;
    g.k = K;
    g.a_type = bt;
    g.b_type = at;
    g.c_type = ct;
    g.A = B;
    g.lda = ldb;
    g.stride_a = sb;
    g.B = A;
    g.ldb = lda;
    g.stride_b = sa;
    g.C = C;
    g.ldc = ldc;
    g.stride_c = sc;
    g.batch = batch;
    g.alpha = alpha;
    g.beta = beta;
    be->prims->gemm(be, &g);
}

/* Byte offset helper for backend pointers. */
static inline void *comp_at(const void *base, size_t bytes) { return (char *)(uintptr_t)base + bytes; }

void composite_attn_fwd(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a);
void composite_attn_bwd(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a);
void composite_attn_argmax(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a, int32_t *amax);

#endif
