/* The CPU's one-row linear layer (decode: Y[1][nout] = W[nout][k] x): every weight read once, no packing
 * copy (a BLAS GEMM with m = 1 packs W first, and OpenBLAS's sgemv wakes its own thread pool).  Four
 * output rows share each load of x; the lanes are GCC vector-extension vectors of 64 bytes, compiled once
 * per ISA (AVX-512, AVX2, the x86-64 baseline) and picked when the library loads.  Rounding: float
 * products summed in float, per lane and then across lanes (not BLAS's order; tests compare with a
 * tolerance against a double loop and against the GEMM).
 *
 * A template (kernels/cpu/dense_impl.h): T (compute type), FN, GV_WT (weight element type) and
 * GV_WIDEN(dst_vec, src_ptr) / GV_WLOAD(elem) (weights -> T); GV_NAME(name) suffixes the instance. */

#ifndef DUO_CPU_GEMV_COMMON
#define DUO_CPU_GEMV_COMMON
/* Weights (nout * k elements) from which the one-row product splits its output rows over the OpenMP
 * team: below it the matrix is in cache and one thread is faster than waking the team. */
#define DUO_CPU_GEMV_PAR_MIN ((size_t)1 << 20)
#define GV_BYTES 64
#endif

typedef T GV_NAME(gv_vec) __attribute__((vector_size(GV_BYTES)));
#define GV_LANES ((int)(GV_BYTES / sizeof(T)))

/* y[j] = s_j (beta 0: y not read) or beta * y[j] + s_j, s_j = W[j] . x, for rows j0 <= j < j1. */
DUO_CPU_CLONES static void GV_NAME(gemv_rows)(const T *x, int k, const GV_WT *W, int j0, int j1, T *y, T beta) {
    int j = j0;
    for (; j < j1; j += 4) {
        int nr = j1 - j < 4 ? j1 - j : 4; /* rows of this group; a short group repeats its last row */
        const GV_WT *w[4];
        for (int r = 0; r < 4; r++) w[r] = W + (size_t)(j + (r < nr ? r : nr - 1)) * k;
        GV_NAME(gv_vec) a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, xv, v;
        int i = 0;
        for (; i + GV_LANES <= k; i += GV_LANES) {
            memcpy(&xv, x + i, sizeof xv);
            GV_WIDEN(v, w[0] + i);
            a0 += v * xv;
            GV_WIDEN(v, w[1] + i);
            a1 += v * xv;
            GV_WIDEN(v, w[2] + i);
            a2 += v * xv;
            GV_WIDEN(v, w[3] + i);
            a3 += v * xv;
        }
        T s[4] = {0, 0, 0, 0};
        for (int l = 0; l < GV_LANES; l++) {
            s[0] += a0[l];
            s[1] += a1[l];
            s[2] += a2[l];
            s[3] += a3[l];
        }
        for (; i < k; i++)
            for (int r = 0; r < 4; r++) s[r] += (T)GV_WLOAD(w[r][i]) * x[i];
        for (int r = 0; r < nr; r++) y[j + r] = beta == 0 ? s[r] : beta * y[j + r] + s[r];
    }
}

/* Y[nout] = X[k] W[nout][k]^T + beta * Y: groups of four rows split over the team for big weights. */
static void GV_NAME(gemv)(const T *X, int k, const GV_WT *W, int nout, T *Y, T beta) {
    int groups = (nout + 3) / 4;
#pragma omp parallel if ((size_t)nout * (size_t)k >= DUO_CPU_GEMV_PAR_MIN)
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int g0 = (int)((long long)groups * id / nt), g1 = (int)((long long)groups * (id + 1) / nt);
        int j0 = 4 * g0, j1 = 4 * g1 < nout ? 4 * g1 : nout;
        if (j0 < j1) GV_NAME(gemv_rows)(X, k, W, j0, j1, Y, beta);
    }
}

#undef GV_LANES
