/* The CPU backend's ops called the way the kernel tests have always called them (one function per op and
 * element type, K/V rows indexed by position), each a thin call through the op table (kernels/ops.h) of
 * a float32 or float64 CPU backend, so the tests check exactly what the step runs. */
#ifndef DUO_TESTS_CPU_OPS_DIRECT_H
#define DUO_TESTS_CPU_OPS_DIRECT_H

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"

static duo_backend *test_cpu_backend(int f64) {
    static duo_backend *be[2];
    if (!be[f64]) be[f64] = backend_cpu_create(f64, NULL);
    return be[f64];
}

/* Dense keys: row p of K/V is position p, up to the last query's position. */
static duo_attn_args test_attn_args(const duo_attn_shape *sh, size_t nq, const int *qpos, const void *Q, const void *K,
                                    const void *V, void *O, void *lse) {
    duo_attn_args a = {.nq = nq, .nk = nq ? (size_t)qpos[nq - 1] + 1 : 0, .qpos = qpos, .kpos = NULL, .Q = Q, .K = K,
                       .V = V, .O = O, .lse = lse, .q_stride = (size_t)sh->num_heads * sh->head_dim,
                       .kv_stride = (size_t)sh->num_kv_heads * sh->head_dim,
                       .o_stride = (size_t)sh->num_heads * sh->head_dim};
    return a;
}

#define TEST_OPS(T, S, F64)                                                                                         \
    static inline void attn_fwd_##S(const duo_attn_shape *sh, size_t nq, const int *qpos, const T *Q, const T *K,  \
                                    const T *V, T *O, T *lse) {                                                     \
        duo_attn_args a = test_attn_args(sh, nq, qpos, Q, K, V, O, lse);                                            \
        test_cpu_backend(F64)->ops->attn_fwd(test_cpu_backend(F64), sh, &a);                                        \
    }                                                                                                               \
    static inline void attn_bwd_##S(const duo_attn_shape *sh, size_t nq, const int *qpos, const T *Q, const T *K,  \
                                    const T *V, const T *O, const T *lse, const T *dO, T *dQ, T *dK, T *dV) {       \
        duo_attn_args a = test_attn_args(sh, nq, qpos, Q, K, V, (void *)O, (void *)lse);                            \
        a.dO = dO;                                                                                                  \
        a.dQ = dQ;                                                                                                  \
        a.dK = dK;                                                                                                  \
        a.dV = dV;                                                                                                  \
        test_cpu_backend(F64)->ops->attn_bwd(test_cpu_backend(F64), sh, &a);                                        \
    }                                                                                                               \
    static inline void rmsnorm_##S(const T *X, size_t m, int d, const T *w, double eps, T *Y) {                     \
        test_cpu_backend(F64)->ops->rmsnorm(test_cpu_backend(F64), X, m, d, w, eps, Y);                             \
    }                                                                                                               \
    static inline void rmsnorm_bwd_##S(const T *X, size_t m, int d, const T *w, double eps, const T *dY, T *dX,     \
                                       int acc) {                                                                   \
        test_cpu_backend(F64)->ops->rmsnorm_bwd(test_cpu_backend(F64), X, m, d, w, eps, dY, dX, acc);               \
    }                                                                                                               \
    static inline void swiglu_##S(const T *G, const T *U, size_t count, T *A) {                                     \
        test_cpu_backend(F64)->ops->swiglu(test_cpu_backend(F64), G, U, count, A);                                  \
    }                                                                                                               \
    static inline void swiglu_bwd_##S(const T *G, const T *U, const T *dA, size_t count, T *dG, T *dU) {            \
        test_cpu_backend(F64)->ops->swiglu_bwd(test_cpu_backend(F64), G, U, dA, count, dG, dU);                     \
    }                                                                                                               \
    static inline void rope_tables_##S(const double *inv, int hd, size_t n, T *cos_t, T *sin_t) {                   \
        test_cpu_backend(F64)->ops->rope_tables(test_cpu_backend(F64), inv, hd, n, cos_t, sin_t);                   \
    }                                                                                                               \
    static inline void rope_##S(T *X, size_t m, int nheads, int hd, const int *pos, const T *cos_t, const T *sin_t, \
                                int inverse) {                                                                      \
        test_cpu_backend(F64)->ops->rope(test_cpu_backend(F64), X, m, nheads, hd, pos, cos_t, sin_t, inverse);      \
    }

TEST_OPS(float, f32, 0)
TEST_OPS(double, f64, 1)

#endif
