/* The row work of one (query tile x key block) of the CPU attention (kernels/cpu/attention_impl.h): the
 * online-softmax update, the backward's probabilities and score gradients, and the small-M products that
 * replace BLAS where M (the tile's rows) is a handful (decode).  A template (T, FN: kernels/cpu/dense_impl.h).
 *
 * Each loop is written once as an always-inline body and compiled twice, for the build's baseline and
 * for AVX2 (chosen once per call by duo_cpu_has_avx2); neither copy contracts a*b+c (C11 mode:
 * -ffp-contract=off) and every sum has a fixed order (ATTN_LANES partial sums, then lane 0..15 in
 * order), so both copies give the same bits and these loops' results do not depend on the processor
 * (the float instance's fused kernels, kernels/cpu/attn_fused.h, which use fused products, do). */

#ifndef DUO_CPU_ATTN_BLOCK_COMMON
#define DUO_CPU_ATTN_BLOCK_COMMON
#define ATTN_LANES 16
#define ATTN_INLINE static inline __attribute__((always_inline))
#define ATTN_UNPAREN(...) __VA_ARGS__
/* ATTN_DEF2(name, body, (params), (args)): name_base and name_avx2, each the body inlined, and
 * name(int avx2, params) calling the one avx2 selects. */
#define ATTN_DEF2(name, body, params, args)                                                                  \
    static void CAT(name, base) params { body args; }                                                         \
    __attribute__((target("avx2"))) static void CAT(name, avx2) params { body args; }                         \
    static void name(int avx2, ATTN_UNPAREN params) {                                                         \
        if (avx2) CAT(name, avx2) args;                                                                       \
        else CAT(name, base) args;                                                                            \
    }
#endif

/* sum over c < n of s[c] = exp(s[c] - m) (stored back), in the fixed lane order. */
ATTN_INLINE T FN(exp_sum_row)(T *restrict s, int n, T m) {
    T acc[ATTN_LANES] = {0};
    int c = 0;
    for (; c + ATTN_LANES <= n; c += ATTN_LANES) {
#pragma omp simd
        for (int l = 0; l < ATTN_LANES; l++) {
            T p = DUO_VEXP(s[c + l] - m);
            s[c + l] = p;
            acc[l] += p;
        }
    }
    for (int l = 0; c < n; c++, l++) {
        T p = DUO_VEXP(s[c] - m);
        s[c] = p;
        acc[l] += p;
    }
    T sum = 0;
    for (int l = 0; l < ATTN_LANES; l++) sum += acc[l];
    return sum;
}

/* max over c < n of s[c]; -inf when n is 0. */
ATTN_INLINE T FN(max_row)(const T *restrict s, int n) {
    T mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int c = 0; c < n; c++) mx = s[c] > mx ? s[c] : mx;
    return mx;
}

/* The online-softmax step for M rows of a block of scaled scores S[M][ld] (bc columns used): row i sees
 * columns [lo[i % R], hi[i % R]) of it.  The row's running max m[i] and sum l[i] are updated, S becomes
 * exp(x - m) there and 0 elsewhere, and Op[i][hd] (the unnormalized output so far) is
 * rescaled by exp(m_old - m_new). */
ATTN_INLINE void FN(softmax_step_body)(T *restrict S, int ld, int M, int R, int bc, const int *lo, const int *hi,
                                       T *restrict m, T *restrict l, T *restrict Op, int hd) {
    for (int i = 0; i < M; i++) {
        T *s = S + (size_t)i * ld;
        int a = lo[i % R], b = hi[i % R];
        if (b <= a) {
            memset(s, 0, (size_t)bc * sizeof *s);
            continue;
        }
        T bm = FN(max_row)(s + a, b - a);
        T mn = bm > m[i] ? bm : m[i];
        T alpha = DUO_VEXP(m[i] - mn); /* 0 while m[i] is -inf */
        T sum = FN(exp_sum_row)(s + a, b - a, mn);
        memset(s, 0, (size_t)a * sizeof *s);
        memset(s + b, 0, (size_t)(bc - b) * sizeof *s);
        l[i] = l[i] * alpha + sum;
        m[i] = mn;
        if (alpha != 1) {
            T *o = Op + (size_t)i * hd;
#pragma omp simd
            for (int e = 0; e < hd; e++) o[e] *= alpha;
        }
    }
}
ATTN_DEF2(FN(softmax_step), FN(softmax_step_body),
          (T *restrict S, int ld, int M, int R, int bc, const int *lo, const int *hi, T *restrict m,
           T *restrict l, T *restrict Op, int hd),
          (S, ld, M, R, bc, lo, hi, m, l, Op, hd))

/* The backward's block of scaled scores: P = exp(S - lse) where row i sees, 0 elsewhere (in S), then
 * dS = P (dP - D) scale (into dP). */
ATTN_INLINE void FN(probs_dscores_body)(T *restrict S, T *restrict dP, int ld, int M, int R, int bc, const int *lo,
                                        const int *hi, T scale, const T *lse, const T *D) {
    for (int i = 0; i < M; i++) {
        T *s = S + (size_t)i * ld, *dp = dP + (size_t)i * ld;
        int a = lo[i % R], b = hi[i % R];
        if (b < a) b = a;
        T li = lse[i], di = D[i];
#pragma omp simd
        for (int c = a; c < b; c++) {
            T p = DUO_VEXP(s[c] - li);
            s[c] = p;
            dp[c] = p * (dp[c] - di) * scale;
        }
        memset(s, 0, (size_t)a * sizeof *s);
        memset(s + b, 0, (size_t)(bc - b) * sizeof *s);
        memset(dp, 0, (size_t)a * sizeof *dp);
        memset(dp + b, 0, (size_t)(bc - b) * sizeof *dp);
    }
}
ATTN_DEF2(FN(probs_dscores), FN(probs_dscores_body),
          (T *restrict S, T *restrict dP, int ld, int M, int R, int bc, const int *lo, const int *hi,
           T scale, const T *lse, const T *D),
          (S, dP, ld, M, R, bc, lo, hi, scale, lse, D))

/* dot(a, b) over n elements: 8 partial sums (element e into sum e % 8), added as a fixed tree. */
ATTN_INLINE T FN(dot_lanes)(const T *restrict a, const T *restrict b, int n) {
    T acc[8] = {0};
    int e = 0;
    for (; e + 8 <= n; e += 8) {
#pragma omp simd
        for (int l = 0; l < 8; l++) acc[l] += a[e + l] * b[e + l];
    }
    for (int l = 0; e < n; e++, l++) acc[l] += a[e] * b[e];
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

/* S[M][ld] = alpha Qp[M][hd] Kb[bc rows, stride ks]^T without BLAS (small M: each key row read once for all M
 * rows, no packing). */
ATTN_INLINE void FN(small_scores_body)(const T *restrict Qp, int M, int hd, const T *restrict Kb, size_t ks, int bc,
                                       T *restrict S, int ld, T alpha) {
    for (int j = 0; j < bc; j++) {
        const T *k = Kb + (size_t)j * ks;
        for (int i = 0; i < M; i++) S[(size_t)i * ld + j] = alpha * FN(dot_lanes)(Qp + (size_t)i * hd, k, hd);
    }
}
ATTN_DEF2(FN(small_scores), FN(small_scores_body),
          (const T *restrict Qp, int M, int hd, const T *restrict Kb, size_t ks, int bc, T *restrict S,
           int ld, T alpha),
          (Qp, M, hd, Kb, ks, bc, S, ld, alpha))

/* Op[M][hd] += P[M][ld] Vb[bc rows, stride ks] without BLAS (small M), key rows in order. */
ATTN_INLINE void FN(small_pv_body)(const T *restrict P, int ld, int M, int bc, const T *restrict Vb, size_t ks, int hd,
                                   T *restrict Op) {
    for (int j = 0; j < bc; j++) {
        const T *v = Vb + (size_t)j * ks;
        for (int i = 0; i < M; i++) {
            T p = P[(size_t)i * ld + j];
            T *o = Op + (size_t)i * hd;
#pragma omp simd
            for (int e = 0; e < hd; e++) o[e] += p * v[e];
        }
    }
}
ATTN_DEF2(FN(small_pv), FN(small_pv_body),
          (const T *restrict P, int ld, int M, int bc, const T *restrict Vb, size_t ks, int hd,
           T *restrict Op),
          (P, ld, M, bc, Vb, ks, hd, Op))
