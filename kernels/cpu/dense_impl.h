/* CPU dense ops (kernels/ops.h): linear (one row: kernels/cpu/gemv_impl.h; more: BLAS slices on OpenMP's
 * threads, kernels/cpu/gemm_par_impl.h) and its input gradient (the same), RMSNorm backward, RoPE, SwiGLU
 * (RMSNorm and the bias add are the primitives' loops, kernels/cpu/prims_impl.h).  A template:
 * kernels/cpu/cpu_f32.c and cpu_f64.c include it with T (element type), FN(name) (the suffixed static
 * name), GEMM (cblas_sgemm / cblas_dgemm) and SWIGLU_EXP (the exp of SwiGLU's e = exp(-g)). */

static void FN(linear)(duo_backend *be, const void *X, size_t m, int k, const void *W, int nout, void *Y,
                       double beta) {
    if (m == 0) return;
    if (m == 1) {
        FN(gemv)(X, k, W, nout, Y, (T)beta);
        return;
    }
    FN(gemm_par)(CblasTrans, (int)m, nout, k, 1, (const T *)X, k, (const T *)W, k, (T)beta, (T *)Y, nout);
}

static void FN(linear_bwd)(duo_backend *be, const void *dY, size_t m, int nout, const void *W, int k, void *dX,
                           double beta) {
    if (m == 0) return;
    FN(gemm_par)(CblasNoTrans, (int)m, k, nout, 1, (const T *)dY, nout, (const T *)W, k, (T)beta, (T *)dX, k);
}

/* y = w x r, r = (mean(x^2)+eps)^-1/2:  dx = r (w dy) - x r^3 sum(w dy x) / d. */
static void FN(rmsnorm_bwd)(duo_backend *be, const void *Xv, size_t m, int d, const void *wv, double eps,
                            const void *dYv, void *dXv, int accumulate) {
    const T *X = Xv, *w = wv, *dY = dYv;
    T *dX = dXv;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR((size_t)m * d * 3))
    for (size_t r = 0; r < m; r++) {
        const T *x = X + r * d, *dy = dY + r * d;
        T *dx = dX + r * d;
        double inv = MATH(duo_rms_inv_row)(x, d, eps);
        double dot = 0;
        for (int i = 0; i < d; i++) dot += (double)w[i] * dy[i] * x[i];
        T a, b;
        MATH(duo_rms_bwd_coefs)(inv, dot, d, &a, &b);
        for (int i = 0; i < d; i++) {
            T g = MATH(duo_rms_bwd_elem)(x[i], w[i], dy[i], a, b);
            dx[i] = accumulate ? dx[i] + g : g;
        }
    }
}

static void FN(rope_tables)(duo_backend *be, const double *inv_freq, int hd, size_t n, void *cos_v, void *sin_v) {
    T *cos_t = cos_v, *sin_t = sin_v;
    int half = hd / 2;
    for (size_t p = 0; p < n; p++)
        for (int i = 0; i < half; i++) /* HF forms the angle in the compute dtype */
            MATH(duo_rope_cos_sin)((long long)p, inv_freq[i], &cos_t[p * half + i], &sin_t[p * half + i]);
}

static void FN(rope)(duo_backend *be, void *Xv, size_t m, int nheads, int hd, const int32_t *pos, const void *cos_v,
                     const void *sin_v, int inverse) {
    T *X = Xv;
    const T *cos_t = cos_v, *sin_t = sin_v;
    int half = hd / 2;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)nheads * hd))
    for (size_t r = 0; r < m; r++) {
        const T *c = cos_t + (size_t)pos[r] * half, *s = sin_t + (size_t)pos[r] * half;
        for (int h = 0; h < nheads; h++) {
            T *x = X + r * (size_t)nheads * hd + (size_t)h * hd;
            for (int i = 0; i < half; i++) MATH(duo_rope_pair)(&x[i], &x[i + half], c[i], s[i], inverse);
        }
    }
}

/* Elements [i0, i1) of SwiGLU and of its backward: loops of straight-line arithmetic (SWIGLU_EXP included)
 * that gcc vectorizes, one copy per ISA. */
DUO_CPU_CLONES static void FN(swiglu_range)(const T *restrict G, const T *restrict U, size_t i0, size_t i1,
                                            T *restrict A) {
#pragma omp simd
    for (size_t i = i0; i < i1; i++) A[i] = MATH(duo_swiglu_e)(G[i], U[i], SWIGLU_EXP(-(double)G[i]));
}

DUO_CPU_CLONES static void FN(swiglu_bwd_range)(const T *restrict G, const T *restrict U, const T *restrict dA,
                                                size_t i0, size_t i1, T *restrict dG, T *restrict dU) {
#pragma omp simd
    for (size_t i = i0; i < i1; i++)
        MATH(duo_swiglu_bwd_e)(G[i], U[i], dA[i], SWIGLU_EXP(-(double)G[i]), &dG[i], &dU[i]);
}

/* This thread's share [*i0, *i1) of count elements, on multiples of 16 (whole vectors). */
static inline void FN(thread_share)(size_t count, size_t *i0, size_t *i1) {
    size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num(), units = (count + 15) / 16;
    *i0 = units * id / nt * 16;
    *i1 = units * (id + 1) / nt * 16;
    if (*i0 > count) *i0 = count;
    if (*i1 > count) *i1 = count;
}

static void FN(swiglu)(duo_backend *be, const void *G, const void *U, size_t count, void *A) {
#pragma omp parallel if (DUO_CPU_PAR(count * DUO_CPU_EXP_COST))
    {
        size_t i0, i1;
        FN(thread_share)(count, &i0, &i1);
        if (i0 < i1) FN(swiglu_range)(G, U, i0, i1, A);
    }
}

static void FN(swiglu_bwd)(duo_backend *be, const void *G, const void *U, const void *dA, size_t count, void *dG,
                           void *dU) {
#pragma omp parallel if (DUO_CPU_PAR(count * DUO_CPU_EXP_COST))
    {
        size_t i0, i1;
        FN(thread_share)(count, &i0, &i1);
        if (i0 < i1) FN(swiglu_bwd_range)(G, U, dA, i0, i1, dG, dU);
    }
}
