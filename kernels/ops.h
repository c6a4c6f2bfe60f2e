/* The op interface (DESIGN §5): every computation of the two-way step and of the inference path is a
 * call through a backend's op table; the orchestration (model/) holds no numeric loop of its own and
 * never touches activation memory directly.  Each backend (kernels/cpu: float32 and float64 instances
 * of one source; kernels/cuda) implements every op; the CPU instance is the oracle of the others.
 *
 * Memory.  Buffers passed to ops are backend memory from ops->alloc (host memory for the CPU backend,
 * device memory for CUDA), except the small parameter arrays marked "host" (gates of one layer, RoPE
 * inverse frequencies), which an op copies before it returns.  Activation buffers hold elements of
 * be->act_size bytes (the backend's compute type: float, double, ...), weight buffers elements of
 * be->weight_size bytes; index buffers are int32, scalar results double.  Offsets into buffers are
 * taken with act_at().
 *
 * Layouts: row-major; a row is one token position.  Linear weights are [out, in] as in PyTorch.
 *
 * Errors.  Ops return nothing: a backend records its first failure (the call, file:line and reason)
 * in be->status, later ops may then do nothing, and the caller turns it into its error with
 * backend_check() (kernels/backend.h) at the points where it needs results. */
#ifndef DUO_KERNELS_OPS_H
#define DUO_KERNELS_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/safetensors.h"
#include "kernels/attn_mask.h"

typedef struct duo_backend duo_backend;

typedef struct {
    int num_heads, num_kv_heads, head_dim; /* query heads h use KV head h / (num_heads / num_kv_heads) */
    duo_attn_mask mask;                    /* which key positions a query position sees */
} duo_attn_shape;

/* The operands of one attention call.  Queries: nq rows at positions qpos[0..nq) (ascending); head h of
 * row r starts at column h*head_dim of Q (row stride q_stride elements), and so for O, dO, dQ.  Keys:
 * nk rows of K and V (row stride kv_stride), KV head g at column g*head_dim, row r holding position
 * kpos[r] (ascending; kpos NULL: row r is position r).  Every key a query may see (by the mask) must be
 * among the rows; rows it may not see are never read into its result, so a gapped set (the training
 * cone, a sink + recent + chunk cache) serves as well as a dense one.  lse: [nq][num_heads] log-sum-exp
 * of each row's scaled scores (written by the forward when non-NULL, read by the backward). */
typedef struct {
    size_t nq, nk;
    const int32_t *qpos, *kpos;
    const void *Q, *K, *V;
    void *O, *lse;
    size_t q_stride, kv_stride, o_stride;
    /* backward only: dO in, dQ out (overwritten); dK, dV accumulated into (zero them first) */
    const void *dO;
    void *dQ, *dK, *dV;
} duo_attn_args;

typedef struct duo_ops {
    /* ---- memory ---------------------------------------------------------------------------- */
    void *(*alloc)(duo_backend *be, size_t bytes); /* NULL (and be->status set) when out of memory */
    void (*free)(duo_backend *be, void *p);
    void (*upload)(duo_backend *be, void *dst, const void *host_src, size_t bytes);
    void (*download)(duo_backend *be, void *host_dst, const void *src, size_t bytes); /* waits */
    void (*sync)(duo_backend *be);
    /* W[count] (weight elements) = elements [first, first+count) of a checkpoint tensor, converted from
     * its storage dtype. */
    void (*load_tensor)(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *W);

    /* ---- dense ----------------------------------------------------------------------------- */
    /* Y[m,nout] = X[m,k] W[nout,k]^T + beta*Y (beta 0 or 1) */
    void (*linear)(duo_backend *be, const void *X, size_t m, int k, const void *W, int nout, void *Y, double beta);
    /* dX[m,k] = dY[m,nout] W[nout,k] + beta*dX */
    void (*linear_bwd)(duo_backend *be, const void *dY, size_t m, int nout, const void *W, int k, void *dX,
                       double beta);
    /* HF LlamaRMSNorm per row of d: Y = w * (X * rsqrt(mean(X^2) + eps)); Y may be X. */
    void (*rmsnorm)(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps, void *Y);
    /* dX (accumulate 0: =, 1: +=) input gradient of rmsnorm given dY; dX may be dY (accumulate 0). */
    void (*rmsnorm_bwd)(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps, const void *dY,
                        void *dX, int accumulate);
    /* cos_t, sin_t [n][hd/2] for positions 0..n-1 from inv_freq (host, hd/2 doubles), as HF computes them. */
    void (*rope_tables)(duo_backend *be, const double *inv_freq, int hd, size_t n, void *cos_t, void *sin_t);
    /* HF rotate_half RoPE in place on X[m][nheads*hd] at positions pos[m]; inverse 1: the transpose. */
    void (*rope)(duo_backend *be, void *X, size_t m, int nheads, int hd, const int32_t *pos, const void *cos_t,
                 const void *sin_t, int inverse);
    /* X[r] += bias for every row r < m (rows of d elements; bias: weight elements). */
    void (*add_bias_rows)(duo_backend *be, void *X, size_t m, int d, const void *bias);
    /* A = silu(G) * U elementwise (A may be G); backward: dG, dU from dA. */
    void (*swiglu)(duo_backend *be, const void *G, const void *U, size_t count, void *A);
    void (*swiglu_bwd)(duo_backend *be, const void *G, const void *U, const void *dA, size_t count, void *dG,
                       void *dU);

    /* ---- rows ------------------------------------------------------------------------------ */
    /* X[n][d] = rows ids[n] of an embedding table [vocab][d] (a checkpoint tensor; ids already checked). */
    void (*embed)(duo_backend *be, const duo_tensor *table, const int32_t *ids, size_t n, void *X);
    /* Y[r] = X[rows[r]] for r < m, rows of d elements. */
    void (*gather_rows)(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y);
    /* Y[rows[r]] += X[r] for r < m (rows distinct). */
    void (*scatter_add_rows)(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y);
    void (*copy)(duo_backend *be, void *dst, const void *src, size_t count); /* activation elements */
    /* dst[r][0..width) = src[r][0..width) for r < m, rows dst_stride / src_stride elements apart; the two
     * ranges must not overlap. */
    void (*copy_rows)(duo_backend *be, void *dst, size_t dst_stride, const void *src, size_t src_stride, size_t m,
                      int width);
    /* Y[r] head j = X[r] head perm[j] for rows of nheads blocks of hd elements (perm: host, nheads). */
    void (*permute_heads)(duo_backend *be, const void *X, size_t m, int nheads, int hd, const int *perm, void *Y);
    void (*zero)(duo_backend *be, void *dst, size_t count);
    /* out[r] = the column of the largest X[r][c] (the first of equal ones), for greedy decoding. */
    void (*argmax_rows)(duo_backend *be, const void *X, size_t m, int ncols, int32_t *out);

    /* ---- attention ------------------------------------------------------------------------- */
    /* Masked attention with scale 1/sqrt(head_dim) (the operands above). */
    void (*attn_fwd)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a);
    void (*attn_bwd)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a);
    /* For query row r and query head h: amax[r * num_heads + h] = the key row (0..nk-1, an index into
     * K's rows) of the largest scaled score among the keys the mask lets row r see (the first of equal
     * ones; the softmax is monotonic, so this is the argmax of the attention weights), -1 if it sees
     * none.  Operands as attn_fwd (Q, K, qpos, kpos, strides); V, O, lse, dO unused.
     * amax: backend memory, int32 [nq][num_heads]. */
    void (*attn_argmax)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a, int32_t *amax);

    /* ---- DuoAttention ---------------------------------------------------------------------- */
    /* ATT = (1 - a) * SA + a * FA per query head (rows of num_heads*head_dim, m rows), with
     * a = clamp(gates[h / group], 0, 1); gates: host, num_kv_heads values of one layer. */
    void (*gate_blend)(duo_backend *be, const void *SA, const void *FA, size_t m, int num_heads, int num_kv_heads,
                       int head_dim, const double *gates, void *ATT);
    /* Backward of gate_blend given dATT: grad[g] += sum over g's heads of dATT * (FA - SA) where the raw
     * gate is inside [0,1] (the clamp passes the gradient there, and only there); then dATT *= (1 - a),
     * in place, the gradient reaching SA.  grad: backend memory, num_kv_heads doubles. */
    void (*gate_blend_bwd)(duo_backend *be, void *dATT, const void *FA, const void *SA, size_t m, int num_heads,
                           int num_kv_heads, int head_dim, const double *gates, double *grad);
    /* *out = sum over rows r < m of mean over d of (A[r] - B[r])^2, accumulated in double. */
    void (*sqdiff_loss)(duo_backend *be, const void *A, const void *B, size_t m, int d, double *out);
    /* dB = coef * (A - B) elementwise: d loss / d B of coef/-2 * sum (A - B)^2. */
    void (*sqdiff_grad)(duo_backend *be, const void *A, const void *B, size_t count, double coef, void *dB);
} duo_ops;

/* A backend instance: its op table, element sizes and the first failure it recorded. */
struct duo_backend {
    const duo_ops *ops;
    const char *name;   /* "cpu" (float32), "cpu-f64", "cuda" */
    size_t act_size;    /* bytes of one activation element */
    size_t weight_size; /* bytes of one weight element */
    int weights_resident; /* 1: keep every layer's weights (a GPU); 0: convert one layer at a time */
    int failed;         /* 1 once a call failed; status says which */
    duo_error status;
    void *impl;         /* the backend's own state */
};

/* base + elems activation elements. */
static inline void *act_at(const duo_backend *be, const void *base, size_t elems) {
    return (char *)(uintptr_t)base + elems * be->act_size;
}

#endif
