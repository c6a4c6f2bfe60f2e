/* The device layer (DESIGN §5): the small set of primitives a backend implements so that every op of
 * kernels/ops.h can be built on it.  Ops that are one primitive (RoPE, SwiGLU, a row gather, ...) map to
 * it directly; every op that is more than one primitive (attention forward/backward/argmax over key
 * positions, the gate blend and its gradient, RMSNorm backward, the loss, linear layers in bf16) is
 * written once, backend-neutral, in kernels/composite/, as a sequence of these calls.  The CPU backend
 * implements the primitives too, so the composites run and are tested on the CPU against the CPU's own
 * fused ops; the CUDA backend's op table is the same composite code on CUDA primitives.
 *
 * Conventions (as kernels/ops.h): every pointer is backend memory unless marked "host"; "act" elements
 * are of the backend's compute type (be->act_type: float32, or float64 for the finite-difference
 * instance), "weight" elements of be->weight_type (the compute type, or bf16); index buffers int32;
 * reductions write double.  Row-major unless said otherwise; a row is one token position.  Primitives
 * return nothing and record their first failure in be->status (BACKEND_FAIL), as ops do.
 *
 * Per-element and per-row arithmetic lives in DUO_HOST_DEVICE functions (kernels/math/) that the CPU
 * primitives and the CUDA kernels both call, so a CUDA kernel is an index computation around a function
 * the CPU tests already exercise. */
#ifndef DUO_KERNELS_PRIMS_H
#define DUO_KERNELS_PRIMS_H

#include <stddef.h>
#include <stdint.h>

#include "data/safetensors.h"
#include "kernels/attn_mask.h"

typedef struct duo_backend duo_backend;

/* The composites' scratch budget (be->composite_workspace_bytes) of each backend, so that a memory plan
 * made without a device (model/step_plan) counts what the device will allocate. */
#define DUO_CPU_COMPOSITE_WORKSPACE_BYTES ((size_t)64 << 20)
#define DUO_CUDA_COMPOSITE_WORKSPACE_BYTES ((size_t)2 << 30)

/* Element types a primitive reads or writes. */
typedef enum { DUO_E_F32 = 0, DUO_E_F64 = 1, DUO_E_BF16 = 2 } duo_elem;

static inline size_t duo_elem_size(duo_elem e) { return e == DUO_E_F64 ? 8 : e == DUO_E_BF16 ? 2 : 4; }
static inline const char *duo_elem_name(duo_elem e) {
    return e == DUO_E_F64 ? "float64" : e == DUO_E_BF16 ? "bf16" : "float32";
}

/* One matrix product with column-major BLAS meaning (cblas_?gemm in CblasColMajor; cuBLAS(Lt)):
 *   C_i = alpha * op(A_i) op(B_i) + beta * C_i,  i < batch,  X_i = X + i * stride_x elements,
 * op(X) = X (trans 0) or X^T (trans 1); op(A) is m x k, op(B) k x n, C m x n, leading dimensions in
 * elements.  Operand types: all float64 (compute float64), or A and B float32 or bf16 with C float32
 * (compute float32, accumulate float32; bf16 operands are widened exactly).  beta 0: C is not read.
 * A row-major Y[M][N] = X[M][K] W[N][K]^T is, column-major, Y^T = W X^T: m = N, n = M, k = K, A = W
 * (trans_a 1, lda K), B = X (trans_b 0, ldb K), ldc N; the composites build their descriptors with
 * helpers of that kind (kernels/composite/). */
typedef struct {
    int trans_a, trans_b;
    int m, n, k;
    duo_elem a_type, b_type, c_type;
    const void *A;
    long long lda, stride_a;
    const void *B;
    long long ldb, stride_b;
    void *C;
    long long ldc, stride_c;
    int batch; /* >= 1 */
    double alpha, beta;
} duo_gemm;

/* The columns of an attention score tile.  A tile holds, per head, `rows` queries (positions qpos[r],
 * ascending, backend memory) against `cols` = a_rows + b_rows key rows: columns [0, a_rows) are key rows
 * [0, a_rows) (the sink), columns [a_rows, cols) are key rows [b_row, b_row + b_rows) (the recent
 * windows).  kpos: positions of the nk key rows (backend memory, ascending; NULL: row r is position r).
 * a_pos / b_pos: the positions where the two ranges were cut (kernels/math/attn_rows.h derives a row's
 * visible columns from them, the mask and qpos[r]). */
typedef struct {
    duo_attn_mask mask;
    const int32_t *qpos, *kpos;
    size_t nk;
    long long a_pos, b_pos;
    size_t a_rows, b_row, b_rows;
    int rows, cols;
    int heads;            /* tiles stacked: head t's scores at S + t * rows * ld */
    long long ld;         /* row stride of S in elements (>= cols) */
    double scale;         /* 1/sqrt(head_dim) */
} duo_score_tile;

typedef struct duo_prims {
    /* ---- memory (as ops.h) ------------------------------------------------------------------ */
    void *(*alloc)(duo_backend *be, size_t bytes);
    void (*free)(duo_backend *be, void *p);
    void (*upload)(duo_backend *be, void *dst, const void *host_src, size_t bytes);
    void (*download)(duo_backend *be, void *host_dst, const void *src, size_t bytes); /* waits */
    void (*sync)(duo_backend *be);
    void (*memset0)(duo_backend *be, void *dst, size_t bytes);

    /* ---- conversion -------------------------------------------------------------------------- */
    /* dst[i] = src[i] converted; narrowing to bf16 rounds to nearest even (kernels/math/bf16.h). */
    void (*convert)(duo_backend *be, const void *src, duo_elem src_type, void *dst, duo_elem dst_type, size_t count);
    /* dst[count] (dst_type) = elements [first, first+count) of a checkpoint tensor (host, memory-mapped),
     * widened/narrowed from its storage dtype. */
    void (*load_tensor)(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *dst, duo_elem dst_type);

    /* ---- the one matrix product -------------------------------------------------------------- */
    void (*gemm)(duo_backend *be, const duo_gemm *g);

    /* ---- rows: gather / scatter / copy / permute (act elements) -------------------------------- */
    void (*gather_rows)(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y);
    void (*scatter_add_rows)(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y);
    void (*copy_rows)(duo_backend *be, void *dst, size_t dst_stride, const void *src, size_t src_stride, size_t m,
                      int width);
    void (*permute_heads)(duo_backend *be, const void *X, size_t m, int nheads, int hd, const int *perm /* host */,
                          void *Y);

    /* ---- elementwise maps (act elements; weights of be->weight_type) --------------------------- */
    void (*rope)(duo_backend *be, void *X, size_t m, int nheads, int hd, const int32_t *pos, const void *cos_t,
                 const void *sin_t, int inverse);
    void (*add_bias_rows)(duo_backend *be, void *X, size_t m, int d, const void *bias);
    void (*swiglu)(duo_backend *be, const void *G, const void *U, size_t count, void *A);
    void (*swiglu_bwd)(duo_backend *be, const void *G, const void *U, const void *dA, size_t count, void *dG, void *dU);
    /* dB = coef * (A - B) */
    void (*sqdiff_grad)(duo_backend *be, const void *A, const void *B, size_t count, double coef, void *dB);
    /* per query head h (rows of nheads*hd): OUT = (1 - a) * X + a * Y with a = (act type) c[h]  (c host,
     * nheads doubles, the clamped gates per query head: double so that the float64 instance's
     * finite differences see the gate unrounded; kernels/math duo_blend_*).  OUT may be X. */
    void (*head_blend)(duo_backend *be, const void *X, const void *Y, size_t m, int nheads, int hd, const double *c,
                       void *OUT);
    /* X[r] head h *= (act type) c[h]  (c host, nheads doubles) */
    void (*head_scale)(duo_backend *be, void *X, size_t m, int nheads, int hd, const double *c);
    /* RMSNorm backward given each row's stats (from rmsnorm_bwd_stats): dX (accumulate 0: =, 1: +=). */
    void (*rmsnorm_bwd_apply)(duo_backend *be, const void *X, size_t m, int d, const void *w, const double *stats,
                              const void *dY, void *dX, int accumulate);

    /* ---- row reductions ----------------------------------------------------------------------- */
    /* HF LlamaRMSNorm per row (stats and scale in one pass); Y may be X. */
    void (*rmsnorm)(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps, void *Y);
    /* stats[r][2] = { 1/sqrt(mean(x^2)+eps), sum_i w_i dy_i x_i }, accumulated in double. */
    void (*rmsnorm_bwd_stats)(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps,
                              const void *dY, double *stats);
    /* out[r] = the first column of the largest X[r][c] */
    void (*argmax_rows)(duo_backend *be, const void *X, size_t m, int ncols, int32_t *out);
    /* out[r] = sum_e (A[r][e] - B[r][e])^2 in double, rows of d */
    void (*sqdiff_rows)(duo_backend *be, const void *A, const void *B, size_t m, int d, double *out);
    /* out[r][g] = sum over query heads h of KV group g (group = nheads / ngroups), e < hd, of
     * X[r][h][e] * (Y[r][h][e] - Z[r][h][e]), in double: the gate gradient's per-row terms. */
    void (*head_dot_diff_rows)(duo_backend *be, const void *X, const void *Y, const void *Z, size_t m, int nheads,
                               int ngroups, int hd, double *out);
    /* out[r * out_stride + h] = sum_e A[r*a_stride + h*hd + e] * B[r*b_stride + h*hd + e] for h < nheads
     * (act elements out): attention backward's rowsum(dO * O). */
    void (*head_dot_rows)(duo_backend *be, const void *A, size_t a_stride, const void *B, size_t b_stride, size_t m,
                          int nheads, int hd, void *out, size_t out_stride);

    /* ---- attention score tiles (act elements; tile layout above) ------------------------------- */
    /* Scaled, masked softmax in place: S -> P (invisible columns 0); lse[t * lse_head_stride + r *
     * lse_row_stride] = log-sum-exp of row r of head t's scaled visible scores. */
    void (*tile_softmax)(duo_backend *be, const duo_score_tile *t, void *S, void *lse, long long lse_row_stride,
                         long long lse_head_stride);
    /* P = exp(S * scale - lse) on visible columns, 0 elsewhere (the backward's recomputed P). */
    void (*tile_probs)(duo_backend *be, const duo_score_tile *t, void *S, const void *lse, long long lse_row_stride,
                       long long lse_head_stride);
    /* dS = P * (dP - D[r]) * scale in place of P (D: as lse's layout). */
    void (*tile_dscores)(duo_backend *be, const duo_score_tile *t, void *P, const void *dP, const void *D,
                         long long d_row_stride, long long d_head_stride);
    /* amax[t * amax_head_stride + r * amax_row_stride] = the key row (0..nk-1) of row r's largest visible
     * score (the first of equal ones), -1 if none is visible. */
    void (*tile_argmax)(duo_backend *be, const duo_score_tile *t, const void *S, int32_t *amax,
                        long long amax_row_stride, long long amax_head_stride);
} duo_prims;

#endif
