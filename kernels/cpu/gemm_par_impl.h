/* The CPU backend's row-major products C = alpha A op(B) + beta C on OpenMP's threads, each slice by a
 * single-threaded BLAS call.  Every CPU op runs its parallel loops on OpenMP's team; OpenBLAS's own
 * pthread pool, left to thread the linear layers, kept spinning in sched_yield for a while after each
 * product and fought the team for the two cores (a fifth of a prefill's samples were in the scheduler).
 * So OpenBLAS is told one thread here and the team splits the product: along C's rows when there are
 * enough of them (each slice packs all of B once: as OpenBLAS's own split does), else along its columns.
 * A slice's elements are the same dot products in the same order over k as the whole product's, so the
 * split changes no result.  A template (T, FN, GEMM: kernels/cpu/dense_impl.h). */

#ifndef DUO_CPU_GEMM_PAR_COMMON
#define DUO_CPU_GEMM_PAR_COMMON
#define GEMM_PAR_ALIGN 16      /* slice edges on multiples of this many rows or columns */
#define GEMM_PAR_MIN_FLOPS 4e6 /* below this a product runs on the calling thread alone */

/* The edges of slice s of n items split into `parts` near-equal slices on multiples of GEMM_PAR_ALIGN. */
static inline int gemm_par_edge(int n, int parts, int s) {
    if (s >= parts) return n;
    long units = ((long)n + GEMM_PAR_ALIGN - 1) / GEMM_PAR_ALIGN;
    long e = units * s / parts * GEMM_PAR_ALIGN;
    return e < n ? (int)e : n;
}
#endif

/* C[m][n] (ldc) = alpha A[m][k] (lda) op(B) + beta C, op(B) = B[n][k]^T (tb CblasTrans, ldb) or B[k][n]. */
static void FN(gemm_par)(CBLAS_TRANSPOSE tb, int m, int n, int k, T alpha, const T *A, int lda, const T *B, int ldb,
                         T beta, T *C, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (omp_in_parallel()) { /* inside a team's task (the attention's): that thread alone */
        GEMM(CblasRowMajor, CblasNoTrans, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int threads = omp_get_max_threads();
    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1) openblas_set_num_threads(1);
    double flops = 2.0 * m * n * (double)k;
    if (threads <= 1 || flops < GEMM_PAR_MIN_FLOPS) {
        GEMM(CblasRowMajor, CblasNoTrans, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
        int by_rows = m >= n; /* each slice packs its share of the split operand and all of the other */
        int len = by_rows ? m : n, parts = threads;
        long units = ((long)len + GEMM_PAR_ALIGN - 1) / GEMM_PAR_ALIGN;
        if (parts > units) parts = (int)units;
#pragma omp parallel for schedule(static, 1) num_threads(parts)
        for (int s = 0; s < parts; s++) {
            int a = gemm_par_edge(len, parts, s), b = gemm_par_edge(len, parts, s + 1);
            if (b <= a) continue;
            if (by_rows)
                GEMM(CblasRowMajor, CblasNoTrans, tb, b - a, n, k, alpha, A + (size_t)a * lda, lda, B, ldb, beta,
                     C + (size_t)a * ldc, ldc);
            else
                GEMM(CblasRowMajor, CblasNoTrans, tb, m, b - a, k, alpha, A, lda,
                     tb == CblasTrans ? B + (size_t)a * ldb : B + a, ldb, beta, C + a, ldc);
        }
    }
    if (blas_threads != 1) openblas_set_num_threads(blas_threads);
}
