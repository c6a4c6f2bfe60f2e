/* The CPU's primitives (kernels/prims.h) for compute type T and weight elements WT (read through
 * WLOAD): kernels/cpu/cpu_f32.c includes it for float weights (cpu_prims_f32) and bf16 weights
 * (cpu_prims_f32_bf16: the GPU's bf16 mode, runnable on the CPU), cpu_f64.c for double
 * (cpu_prims_f64).  Primitives with the signature of a fused op are that op (FN(...), already a
 * call of the shared math); the rest are written here around kernels/math/, and the fused table takes
 * rmsnorm and add_bias_rows from the instance of its own weight type (kernels/cpu/cpu_ops_impl.h).
 * PFN(name) is the instance's name. */

static void PFN(rmsnorm)(duo_backend *be, const void *Xv, size_t m, int d, const void *wv, double eps, void *Yv) {
    const T *X = Xv;
    const WT *w = wv;
    T *Y = Yv;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)d * 2))
    for (size_t r = 0; r < m; r++) {
        const T *x = X + r * d;
        T *y = Y + r * d;
        T inv = (T)MATH(duo_rms_inv_row)(x, d, eps);
        for (int i = 0; i < d; i++) y[i] = MATH(duo_rms_apply)(x[i], (T)WLOAD(w[i]), inv);
    }
}

static void PFN(add_bias_rows)(duo_backend *be, void *Xv, size_t m, int d, const void *bv) {
    T *X = Xv;
    const WT *b = bv;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)d))
    for (size_t r = 0; r < m; r++)
        for (int i = 0; i < d; i++) X[r * d + i] += (T)WLOAD(b[i]);
}

static void PFN(rmsnorm_bwd_stats)(duo_backend *be, const void *Xv, size_t m, int d, const void *wv, double eps,
                                   const void *dYv, double *stats /* [m][2] */) {
    const T *X = Xv, *dY = dYv;
    const WT *w = wv;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)d * 2))
    for (size_t r = 0; r < m; r++) {
        const T *x = X + r * d, *dy = dY + r * d;
        double dot = 0;
        for (int i = 0; i < d; i++) dot += (double)(T)WLOAD(w[i]) * dy[i] * x[i];
        stats[2 * r] = MATH(duo_rms_inv_row)(x, d, eps);
        stats[2 * r + 1] = dot;
    }
}

static void PFN(rmsnorm_bwd_apply)(duo_backend *be, const void *Xv, size_t m, int d, const void *wv,
                                   const double *stats, const void *dYv, void *dXv, int accumulate) {
    const T *X = Xv, *dY = dYv;
    const WT *w = wv;
    T *dX = dXv;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)d))
    for (size_t r = 0; r < m; r++) {
        const T *x = X + r * d, *dy = dY + r * d;
        T *dx = dX + r * d, a, b;
        MATH(duo_rms_bwd_coefs)(stats[2 * r], stats[2 * r + 1], d, &a, &b);
        for (int i = 0; i < d; i++) {
            T g = MATH(duo_rms_bwd_elem)(x[i], (T)WLOAD(w[i]), dy[i], a, b);
            dx[i] = accumulate ? dx[i] + g : g;
        }
    }
}

static void PFN(head_blend)(duo_backend *be, const void *Xv, const void *Yv, size_t m, int nheads, int hd,
                            const double *c, void *OUTv) {
    const T *X = Xv, *Y = Yv;
    T *O = OUTv;
    size_t row = (size_t)nheads * hd;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)nheads * hd))
    for (size_t r = 0; r < m; r++)
        for (int h = 0; h < nheads; h++) {
            T a = (T)c[h];
            size_t off = r * row + (size_t)h * hd;
            for (int e = 0; e < hd; e++) O[off + e] = MATH(duo_blend)(a, X[off + e], Y[off + e]);
        }
}

static void PFN(head_scale)(duo_backend *be, void *Xv, size_t m, int nheads, int hd, const double *c) {
    T *X = Xv;
    size_t row = (size_t)nheads * hd;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)nheads * hd))
    for (size_t r = 0; r < m; r++)
        for (int h = 0; h < nheads; h++) {
            T a = (T)c[h];
            for (int e = 0; e < hd; e++) X[r * row + (size_t)h * hd + e] *= a;
        }
}

static void PFN(sqdiff_rows)(duo_backend *be, const void *Av, const void *Bv, size_t m, int d, double *out) {
    const T *A = Av, *B = Bv;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)d))
    for (size_t r = 0; r < m; r++) {
        double s = 0;
        for (int e = 0; e < d; e++) {
            double diff = (double)A[r * d + e] - B[r * d + e];
            s += diff * diff;
        }
        out[r] = s;
    }
}

static void PFN(head_dot_diff_rows)(duo_backend *be, const void *Xv, const void *Yv, const void *Zv, size_t m,
                                    int nheads, int ngroups, int hd, double *out /* [m][ngroups] */) {
    const T *X = Xv, *Y = Yv, *Z = Zv;
    int group = nheads / ngroups;
    size_t row = (size_t)nheads * hd;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)nheads * hd))
    for (size_t r = 0; r < m; r++)
        for (int g = 0; g < ngroups; g++) {
            double acc = 0;
            for (int h = g * group; h < (g + 1) * group; h++) {
                size_t off = r * row + (size_t)h * hd;
                for (int e = 0; e < hd; e++) acc += (double)X[off + e] * (Y[off + e] - Z[off + e]);
            }
            out[r * ngroups + g] = acc;
        }
}

static void PFN(head_dot_rows)(duo_backend *be, const void *Av, size_t a_stride, const void *Bv, size_t b_stride,
                               size_t m, int nheads, int hd, void *outv, size_t out_stride) {
    const T *A = Av, *B = Bv;
    T *out = outv;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * (size_t)nheads * hd))
    for (size_t r = 0; r < m; r++)
        for (int h = 0; h < nheads; h++) {
            T s = 0;
            for (int e = 0; e < hd; e++) s += A[r * a_stride + (size_t)h * hd + e] * B[r * b_stride + (size_t)h * hd + e];
            out[r * out_stride + h] = s;
        }
}

/* Tile rows, (head t, row r) flattened: S + t * rows * ld + r * ld. */
static void PFN(tile_softmax)(duo_backend *be, const duo_score_tile *t, void *Sv, void *lsev, long long lse_rs,
                              long long lse_hs) {
    T *S = Sv, *lse = lsev, scale = (T)t->scale;
    long n = (long)t->heads * t->rows;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR((size_t)n * t->cols * DUO_CPU_EXP_COST))
    for (long i = 0; i < n; i++) {
        int h = (int)(i / t->rows), r = (int)(i % t->rows), ae, bs, bend;
        duo_tile_row_cols(t, r, &ae, &bs, &bend);
        T l = MATH(duo_softmax_row)(S + (size_t)i * t->ld, t->cols, ae, bs, bend, scale);
        lse[h * lse_hs + r * lse_rs] = l;
    }
}

static void PFN(tile_probs)(duo_backend *be, const duo_score_tile *t, void *Sv, const void *lsev, long long lse_rs,
                            long long lse_hs) {
    T *S = Sv, scale = (T)t->scale;
    const T *lse = lsev;
    long n = (long)t->heads * t->rows;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR((size_t)n * t->cols * DUO_CPU_EXP_COST))
    for (long i = 0; i < n; i++) {
        int h = (int)(i / t->rows), r = (int)(i % t->rows), ae, bs, bend;
        duo_tile_row_cols(t, r, &ae, &bs, &bend);
        MATH(duo_probs_row)(S + (size_t)i * t->ld, t->cols, ae, bs, bend, scale, lse[h * lse_hs + r * lse_rs]);
    }
}

static void PFN(tile_dscores)(duo_backend *be, const duo_score_tile *t, void *Pv, const void *dPv, const void *Dv,
                              long long d_rs, long long d_hs) {
    T *P = Pv, scale = (T)t->scale;
    const T *dP = dPv, *D = Dv;
    long n = (long)t->heads * t->rows;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR((size_t)n * t->cols))
    for (long i = 0; i < n; i++) {
        int h = (int)(i / t->rows), r = (int)(i % t->rows);
        T di = D[h * d_hs + r * d_rs], *p = P + (size_t)i * t->ld;
        const T *dp = dP + (size_t)i * t->ld;
        for (int c = 0; c < t->cols; c++) p[c] = MATH(duo_dscore)(p[c], dp[c], di, scale);
    }
}

static void PFN(tile_argmax)(duo_backend *be, const duo_score_tile *t, const void *Sv, int32_t *amax, long long a_rs,
                             long long a_hs) {
    const T *S = Sv;
    T scale = (T)t->scale;
    long n = (long)t->heads * t->rows;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR((size_t)n * t->cols))
    for (long i = 0; i < n; i++) {
        int h = (int)(i / t->rows), r = (int)(i % t->rows), ae, bs, bend;
        duo_tile_row_cols(t, r, &ae, &bs, &bend);
        int c = MATH(duo_argmax_row)(S + (size_t)i * t->ld, ae, bs, bend, scale);
        amax[h * a_hs + r * a_rs] = c < 0 ? -1 : (int32_t)duo_tile_col_key_row(t, c);
    }
}

const duo_prims CAT(cpu_prims, PS) = {
    .alloc = cpu_alloc, .free = cpu_free, .upload = cpu_upload, .download = cpu_download, .sync = cpu_sync,
    .memset0 = cpu_memset0, .convert = cpu_convert, .load_tensor = cpu_load_tensor_as, .gemm = cpu_gemm,
    .gather_rows = FN(gather_rows), .scatter_add_rows = FN(scatter_add_rows), .copy_rows = FN(copy_rows),
    .permute_heads = FN(permute_heads),
    .rope = FN(rope), .add_bias_rows = PFN(add_bias_rows), .swiglu = FN(swiglu), .swiglu_bwd = FN(swiglu_bwd),
    .sqdiff_grad = FN(sqdiff_grad), .head_blend = PFN(head_blend), .head_scale = PFN(head_scale),
    .rmsnorm_bwd_apply = PFN(rmsnorm_bwd_apply),
    .rmsnorm = PFN(rmsnorm), .rmsnorm_bwd_stats = PFN(rmsnorm_bwd_stats), .argmax_rows = FN(argmax_rows),
    .sqdiff_rows = PFN(sqdiff_rows), .head_dot_diff_rows = PFN(head_dot_diff_rows), .head_dot_rows = PFN(head_dot_rows),
    .tile_softmax = PFN(tile_softmax), .tile_probs = PFN(tile_probs), .tile_dscores = PFN(tile_dscores),
    .tile_argmax = PFN(tile_argmax),
};
