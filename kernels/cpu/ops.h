/* CPU compute primitives (DESIGN §5), in float32 (suffix _f32, what the trainer runs) and float64
 * (suffix _f64, used by the finite-difference gradient tests).  Both come from one source,
 * kernels/cpu/ops_impl.h, so the double path checks exactly the math the float path runs.
 * A CUDA backend mirrors this interface.
 *
 * Layouts: row-major; a "row" is one token position.  Linear weights are [out, in] as in PyTorch.
 * Attention: Q and O hold nq rows of num_heads*head_dim (rows at positions qpos[0..nq), ascending);
 * K and V are indexed by position: row p holds position p (num_kv_heads*head_dim), and only the rows
 * a mask makes visible to some query in qpos are read. */
#ifndef DUO_KERNELS_CPU_OPS_H
#define DUO_KERNELS_CPU_OPS_H

#include <stddef.h>

#include "kernels/cpu/attn_mask.h"

typedef struct {
    int num_heads, num_kv_heads, head_dim;
    duo_attn_mask mask;
} duo_attn_shape;

#define DUO_OPS_DECLARE(T, S)                                                                      \
    /* Y[m,nout] = X[m,k] W[nout,k]^T + beta*Y */                                                  \
    void linear_##S(const T *X, size_t m, int k, const T *W, int nout, T *Y, T beta);              \
    /* dX[m,k] = dY[m,nout] W[nout,k] + beta*dX */                                                 \
    void linear_bwd_##S(const T *dY, size_t m, int nout, const T *W, int k, T *dX, T beta);        \
    /* HF LlamaRMSNorm: Y = w * X * rsqrt(mean(X^2) + eps), per row of d. */                       \
    void rmsnorm_##S(const T *X, size_t m, int d, const T *w, double eps, T *Y);                   \
    /* dX (+)= d/dX of rmsnorm given dY (input gradient only); accumulate 1 adds into dX. */        \
    void rmsnorm_bwd_##S(const T *X, size_t m, int d, const T *w, double eps, const T *dY, T *dX,  \
                         int accumulate);                                                          \
    /* HF rotate_half RoPE in place on m rows of nheads*hd at positions pos[]; cos/sin tables are   \
     * [position][hd/2].  inverse 1 applies the transpose (the backward pass). */                  \
    void rope_##S(T *X, size_t m, int nheads, int hd, const int *pos, const T *cos_t,              \
                  const T *sin_t, int inverse);                                                    \
    /* A = silu(G) * U elementwise; backward gives dG, dU from dA. */                              \
    void swiglu_##S(const T *G, const T *U, size_t count, T *A);                                   \
    void swiglu_bwd_##S(const T *G, const T *U, const T *dA, size_t count, T *dG, T *dU);          \
    /* Causal masked attention, scale 1/sqrt(hd).  lse (nq x num_heads, may be NULL) receives each  \
     * row's log-sum-exp of scaled scores for the backward pass. */                                \
    void attn_fwd_##S(const duo_attn_shape *sh, size_t nq, const int *qpos, const T *Q,            \
                      const T *K, const T *V, T *O, T *lse);                                       \
    /* Backward of attn_fwd given dO: dQ (nq rows) is overwritten; dK, dV (position rows) are      \
     * accumulated into (zero them first). */                                                      \
    void attn_bwd_##S(const duo_attn_shape *sh, size_t nq, const int *qpos, const T *Q,            \
                      const T *K, const T *V, const T *O, const T *lse, const T *dO, T *dQ,        \
                      T *dK, T *dV);

DUO_OPS_DECLARE(float, f32)
DUO_OPS_DECLARE(double, f64)

/* Rotary tables for positions 0..n-1: cos_t, sin_t are [n][hd/2].  inv_freq[hd/2] from rope_inv_freq. */
void rope_tables_f32(const double *inv_freq, int hd, size_t n, float *cos_t, float *sin_t);
void rope_tables_f64(const double *inv_freq, int hd, size_t n, double *cos_t, double *sin_t);

#endif
