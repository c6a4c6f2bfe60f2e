/* CPU dense ops (kernels/ops.h): linear (one row: kernels/cpu/gemv_impl.h; more: BLAS slices on OpenMP's
 * threads, kernels/cpu/gemm_par_impl.h) and its input gradient (the same), RMSNorm backward, RoPE, SwiGLU
 * (RMSNorm and the bias add are the primitives' loops, kernels/cpu/prims_impl.h).  A template:
 * kernels/cpu/cpu_f32.c and cpu_f64.c include it with T (element type), FN(name) (the suffixed static
 * name), GEMM (cblas_sgemm / cblas_dgemm) and EXP. */

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

static void FN(swiglu)(duo_backend *be, const void *Gv, const void *Uv, size_t count, void *Av) {
    const T *G = Gv, *U = Uv;
    T *A = Av;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(count * DUO_CPU_EXP_COST))
    for (size_t i = 0; i < count; i++) A[i] = MATH(duo_swiglu)(G[i], U[i]);
}

static void FN(swiglu_bwd)(duo_backend *be, const void *Gv, const void *Uv, const void *dAv, size_t count, void *dGv,
                           void *dUv) {
    const T *G = Gv, *U = Uv, *dA = dAv;
    T *dG = dGv, *dU = dUv;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(count * DUO_CPU_EXP_COST))
    for (size_t i = 0; i < count; i++) MATH(duo_swiglu_bwd)(G[i], U[i], dA[i], &dG[i], &dU[i]);
}
