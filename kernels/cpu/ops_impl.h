/* The one source of the CPU primitives declared in kernels/cpu/ops.h.  Included by ops_f32.c and
 * ops_f64.c with T (the element type), S (the name suffix) and GEMM (cblas_sgemm / cblas_dgemm). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/ops.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, S)

void FN(linear)(const T *X, size_t m, int k, const T *W, int nout, T *Y, T beta) {
    if (m == 0) return;
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, nout, k, 1, X, k, W, k, beta, Y, nout);
}

void FN(linear_bwd)(const T *dY, size_t m, int nout, const T *W, int k, T *dX, T beta) {
    if (m == 0) return;
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, k, nout, 1, dY, nout, W, k, beta, dX, k);
}

/* 1 / sqrt(mean(x^2) + eps), the sum kept in double. */
static inline double FN(rms_inv)(const T *x, int d, double eps) {
    double ss = 0;
    for (int i = 0; i < d; i++) ss += (double)x[i] * x[i];
    return 1.0 / sqrt(ss / d + eps);
}

void FN(rmsnorm)(const T *X, size_t m, int d, const T *w, double eps, T *Y) {
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < m; r++) {
        const T *x = X + r * d;
        T *y = Y + r * d;
        T inv = (T)FN(rms_inv)(x, d, eps);
        for (int i = 0; i < d; i++) y[i] = w[i] * (x[i] * inv);
    }
}

/* y = w x r, r = (mean(x^2)+eps)^-1/2:  dx = r (w dy) - x r^3 sum(w dy x) / d. */
void FN(rmsnorm_bwd)(const T *X, size_t m, int d, const T *w, double eps, const T *dY, T *dX,
                     int accumulate) {
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < m; r++) {
        const T *x = X + r * d, *dy = dY + r * d;
        T *dx = dX + r * d;
        double inv = FN(rms_inv)(x, d, eps);
        double dot = 0;
        for (int i = 0; i < d; i++) dot += (double)w[i] * dy[i] * x[i];
        T a = (T)inv, b = (T)(inv * inv * inv * dot / d);
        for (int i = 0; i < d; i++) {
            T g = a * (w[i] * dy[i]) - x[i] * b;
            dx[i] = accumulate ? dx[i] + g : g;
        }
    }
}

void FN(rope)(T *X, size_t m, int nheads, int hd, const int *pos, const T *cos_t, const T *sin_t,
              int inverse) {
    int half = hd / 2;
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < m; r++) {
        const T *c = cos_t + (size_t)pos[r] * half, *s = sin_t + (size_t)pos[r] * half;
        for (int h = 0; h < nheads; h++) {
            T *x = X + r * (size_t)nheads * hd + (size_t)h * hd;
            for (int i = 0; i < half; i++) {
                T a = x[i], b = x[i + half], si = inverse ? -s[i] : s[i];
                x[i] = a * c[i] - b * si;        /* x*cos + rotate_half(x)*sin, first half */
                x[i + half] = b * c[i] + a * si; /* second half */
            }
        }
    }
}

void FN(rope_tables)(const double *inv_freq, int hd, size_t n, T *cos_t, T *sin_t) {
    int half = hd / 2;
    for (size_t p = 0; p < n; p++)
        for (int i = 0; i < half; i++) {
            /* HF forms the angle in the compute dtype (position * inv_freq), then takes cos/sin. */
            T ang = (T)p * (T)inv_freq[i];
            cos_t[p * half + i] = (T)cos((double)ang);
            sin_t[p * half + i] = (T)sin((double)ang);
        }
}

void FN(swiglu)(const T *G, const T *U, size_t count, T *A) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++) {
        T g = G[i];
        A[i] = g / (1 + exp(-g)) * U[i];
    }
}

void FN(swiglu_bwd)(const T *G, const T *U, const T *dA, size_t count, T *dG, T *dU) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++) {
        T g = G[i], sg = 1 / (1 + exp(-g));
        dU[i] = dA[i] * g * sg;
        dG[i] = dA[i] * U[i] * sg * (1 + g * (1 - sg));
    }
}

/* ---- attention ----------------------------------------------------------------------------- */

#define ATTN_CHUNK 64

/* The key columns a chunk of queries (positions pmin..pmax) needs: [0, a_len) and [b_lo, b_lo+b_len). */
typedef struct { int a_len, b_lo, b_len; } FN(key_span);

static FN(key_span) FN(chunk_keys)(const duo_attn_mask *mk, long pmin, long pmax) {
    FN(key_span) ks;
    long a = attn_mask_sink_end(mk);
    if (a > pmax + 1) a = pmax + 1;
    long b = attn_mask_recent_lo(mk, pmin);
    if (b < a) b = a;
    ks.a_len = (int)a;
    ks.b_lo = (int)b;
    ks.b_len = (int)(pmax + 1 - b);
    if (ks.b_len < 0) ks.b_len = 0;
    return ks;
}

/* The columns query position i sees, as two column ranges [0, *a_end) and [*b_start, *b_end): the mask
 * has the shape "j <= i and (j < sink_end or j >= recent_lo(i))" (kernels/cpu/attn_mask.h), and range A
 * holds the keys below min(sink_end, pmax+1), range B the keys from max(sink end, recent_lo(pmin)). */
static inline void FN(row_cols)(const duo_attn_mask *mk, const FN(key_span) *ks, long i, int *a_end, int *b_start,
                                int *b_end) {
    long a = ks->a_len < i + 1 ? ks->a_len : i + 1;
    long lo = attn_mask_recent_lo(mk, i);
    if (lo < ks->b_lo) lo = ks->b_lo;
    long kend = (long)ks->b_lo + ks->b_len;
    long hi = i + 1 < kend ? i + 1 : kend;
    if (lo > kend) lo = kend; /* empty range B */
    *a_end = (int)a;
    *b_start = (int)(ks->a_len + (lo - ks->b_lo));
    *b_end = hi > lo ? (int)(ks->a_len + (hi - ks->b_lo)) : *b_start;
}

/* S[rows][cols] = Q_chunk K_cols^T for one head (unscaled). */
static void FN(chunk_scores)(const T *Q, int qstride, int rows, const T *K, int kstride,
                             const FN(key_span) *ks, int hd, T *Sbuf, int cols) {
    if (ks->a_len)
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, ks->a_len, hd, 1, Q, qstride, K, kstride, 0,
             Sbuf, cols);
    if (ks->b_len)
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, ks->b_len, hd, 1, Q, qstride,
             K + (size_t)ks->b_lo * kstride, kstride, 0, Sbuf + ks->a_len, cols);
}

/* Out[rows][hd] = P[rows][cols] V_cols (beta 0). */
static void FN(chunk_pv)(const T *P, int rows, int cols, const FN(key_span) *ks, const T *V, int vstride,
                         int hd, T *Out, int ostride) {
    if (ks->a_len)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, ks->a_len, 1, P, cols, V, vstride, 0, Out,
             ostride);
    if (ks->b_len)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, ks->b_len, 1, P + ks->a_len, cols,
             V + (size_t)ks->b_lo * vstride, vstride, ks->a_len ? 1 : 0, Out, ostride);
}

/* Scaled, masked scores -> probabilities in place; returns each row's log-sum-exp in lse_rows. */
static void FN(chunk_softmax)(const duo_attn_mask *mk, const int *qpos, int rows, const FN(key_span) *ks,
                              T scale, T *Sbuf, int cols, T *lse_rows) {
    for (int r = 0; r < rows; r++) {
        T *s = Sbuf + (size_t)r * cols;
        int ae, bs, be;
        FN(row_cols)(mk, ks, qpos[r], &ae, &bs, &be);
        T mx = -INFINITY;
        for (int c = 0; c < ae; c++) { s[c] *= scale; if (s[c] > mx) mx = s[c]; }
        for (int c = bs; c < be; c++) { s[c] *= scale; if (s[c] > mx) mx = s[c]; }
        T sum = 0;
        for (int c = 0; c < ae; c++) { s[c] = EXP(s[c] - mx); sum += s[c]; }
        for (int c = bs; c < be; c++) { s[c] = EXP(s[c] - mx); sum += s[c]; }
        for (int c = ae; c < bs; c++) s[c] = 0;
        for (int c = be; c < cols; c++) s[c] = 0;
        T inv = 1 / sum;
        for (int c = 0; c < ae; c++) s[c] *= inv;
        for (int c = bs; c < be; c++) s[c] *= inv;
        lse_rows[r] = mx + (T)log(sum);
    }
}


void FN(attn_fwd)(const duo_attn_shape *sh, size_t nq, const int *qpos, const T *Q, const T *K,
                  const T *V, T *O, T *lse) {
    int H = sh->num_heads, KVH = sh->num_kv_heads, hd = sh->head_dim, group = H / KVH;
    int qs = H * hd, ks_ = KVH * hd;
    T scale = (T)(1.0 / sqrt((double)hd));
    long nchunks = (long)((nq + ATTN_CHUNK - 1) / ATTN_CHUNK);
    long ntasks = nchunks * H;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1); /* parallelism comes from the tasks below */
#pragma omp parallel
    {
        T *S = NULL;
        size_t cap = 0;
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < ntasks; t++) {
            int h = (int)(t % H);
            size_t r0 = (size_t)(t / H) * ATTN_CHUNK, r1 = r0 + ATTN_CHUNK < nq ? r0 + ATTN_CHUNK : nq;
            int rows = (int)(r1 - r0);
            FN(key_span) span = FN(chunk_keys)(&sh->mask, qpos[r0], qpos[r1 - 1]);
            int cols = span.a_len + span.b_len;
            if ((size_t)rows * cols > cap) {
                cap = (size_t)rows * cols;
                free(S);
                S = malloc(cap * sizeof *S);
            }
            int g = h / group;
            T lse_rows[ATTN_CHUNK];
            FN(chunk_scores)(Q + r0 * qs + (size_t)h * hd, qs, rows, K + (size_t)g * hd, ks_, &span, hd, S, cols);
            FN(chunk_softmax)(&sh->mask, qpos + r0, rows, &span, scale, S, cols, lse_rows);
            FN(chunk_pv)(S, rows, cols, &span, V + (size_t)g * hd, ks_, hd, O + r0 * qs + (size_t)h * hd, qs);
            if (lse)
                for (int r = 0; r < rows; r++) lse[(r0 + r) * H + h] = lse_rows[r];
        }
        free(S);
    }
    openblas_set_num_threads(blas_threads);
}

/* dV += P^T dO; dP = dO V^T; dS = P (dP - rowsum(dO*O)); dQ = scale dS K; dK += scale dS^T Q.
 * One task per KV head, so the dK/dV rows it accumulates into are its own. */
void FN(attn_bwd)(const duo_attn_shape *sh, size_t nq, const int *qpos, const T *Q, const T *K,
                  const T *V, const T *O, const T *lse, const T *dO, T *dQ, T *dK, T *dV) {
    int H = sh->num_heads, KVH = sh->num_kv_heads, hd = sh->head_dim, group = H / KVH;
    int qs = H * hd, ks_ = KVH * hd;
    T scale = (T)(1.0 / sqrt((double)hd));
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel
    {
        T *P = NULL, *dP = NULL;
        size_t cap = 0;
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < KVH; g++) {
            for (int h = g * group; h < (g + 1) * group; h++) {
                for (size_t r0 = 0; r0 < nq; r0 += ATTN_CHUNK) {
                    size_t r1 = r0 + ATTN_CHUNK < nq ? r0 + ATTN_CHUNK : nq;
                    int rows = (int)(r1 - r0);
                    FN(key_span) span = FN(chunk_keys)(&sh->mask, qpos[r0], qpos[r1 - 1]);
                    int cols = span.a_len + span.b_len;
                    if ((size_t)rows * cols > cap) {
                        cap = (size_t)rows * cols;
                        free(P);
                        free(dP);
                        P = malloc(cap * sizeof *P);
                        dP = malloc(cap * sizeof *dP);
                    }
                    const T *Qc = Q + r0 * qs + (size_t)h * hd, *Oc = O + r0 * qs + (size_t)h * hd;
                    const T *dOc = dO + r0 * qs + (size_t)h * hd;
                    const T *Kg = K + (size_t)g * hd, *Vg = V + (size_t)g * hd;
                    T *dKg = dK + (size_t)g * hd, *dVg = dV + (size_t)g * hd;
                    /* P from the saved log-sum-exp */
                    FN(chunk_scores)(Qc, qs, rows, Kg, ks_, &span, hd, P, cols);
                    for (int r = 0; r < rows; r++) {
                        T l = lse[(r0 + r) * H + h];
                        T *p = P + (size_t)r * cols;
                        int ae, bs, be;
                        FN(row_cols)(&sh->mask, &span, qpos[r0 + r], &ae, &bs, &be);
                        for (int c = 0; c < ae; c++) p[c] = EXP(p[c] * scale - l);
                        for (int c = ae; c < bs; c++) p[c] = 0;
                        for (int c = bs; c < be; c++) p[c] = EXP(p[c] * scale - l);
                        for (int c = be; c < cols; c++) p[c] = 0;
                    }
                    /* dP = dO V^T over the same columns */
                    FN(chunk_scores)(dOc, qs, rows, Vg, ks_, &span, hd, dP, cols);
                    /* dV += P^T dO */
                    if (span.a_len)
                        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, span.a_len, hd, rows, 1, P, cols, dOc, qs, 1, dVg, ks_);
                    if (span.b_len)
                        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, span.b_len, hd, rows, 1, P + span.a_len, cols, dOc,
                             qs, 1, dVg + (size_t)span.b_lo * ks_, ks_);
                    /* dS (into P), pre-scaled */
                    for (int r = 0; r < rows; r++) {
                        T di = 0;
                        for (int e = 0; e < hd; e++) di += dOc[(size_t)r * qs + e] * Oc[(size_t)r * qs + e];
                        T *p = P + (size_t)r * cols, *dp = dP + (size_t)r * cols;
                        for (int c = 0; c < cols; c++) p[c] = p[c] * (dp[c] - di) * scale;
                    }
                    /* dQ = dS K */
                    T *dQc = dQ + r0 * qs + (size_t)h * hd;
                    FN(chunk_pv)(P, rows, cols, &span, Kg, ks_, hd, dQc, qs);
                    /* dK += dS^T Q */
                    if (span.a_len)
                        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, span.a_len, hd, rows, 1, P, cols, Qc, qs, 1, dKg, ks_);
                    if (span.b_len)
                        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, span.b_len, hd, rows, 1, P + span.a_len, cols, Qc,
                             qs, 1, dKg + (size_t)span.b_lo * ks_, ks_);
                }
            }
        }
        free(P);
        free(dP);
    }
    openblas_set_num_threads(blas_threads);
}
