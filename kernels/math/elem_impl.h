/* Per-element and per-row arithmetic of the ops (DESIGN §5 shared math), one template for the compute
 * type DUO_T: kernels/math/elem.h includes it twice, DUO_T float (suffix _f) and double (_d).  The CPU's
 * fused ops and primitives call these functions, the CUDA kernels too, so a kernel is an index
 * computation around arithmetic the CPU tests exercise.  Every formula is written as the CPU backend
 * has always evaluated it (types of each intermediate included), so the CPU's results are unchanged. */

/* ---- RoPE (HF rotate_half form) ----------------------------------------------------------------- */
/* cos/sin of position p for one inverse frequency; HF forms the angle in the compute dtype. */
DUO_HOST_DEVICE static inline void DUO_FN(duo_rope_cos_sin)(long long p, double inv_freq, DUO_T *c, DUO_T *s) {
    DUO_T ang = (DUO_T)p * (DUO_T)inv_freq;
    *c = (DUO_T)cos((double)ang);
    *s = (DUO_T)sin((double)ang);
}

/* One rotated pair (x[i], x[i + hd/2]) in place: x*cos + rotate_half(x)*sin; inverse: the transpose. */
DUO_HOST_DEVICE static inline void DUO_FN(duo_rope_pair)(DUO_T *a, DUO_T *b, DUO_T c, DUO_T s, int inverse) {
    DUO_T x0 = *a, x1 = *b, si = inverse ? -s : s;
    *a = x0 * c - x1 * si;
    *b = x1 * c + x0 * si;
}

/* ---- SiLU / SwiGLU --------------------------------------------------------------------------- */
/* The _e forms take e = exp(-(double)g) from the caller: the CPU's loops compute it with a vectorized
 * exp (kernels/cpu/vexp_d.h), the other forms with exp. */
DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_sigmoid_e)(double e) { return (DUO_T)(1 / (1 + e)); }

DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_sigmoid)(DUO_T g) { return DUO_FN(duo_sigmoid_e)(exp(-(double)g)); }

DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_silu)(DUO_T g) { return (DUO_T)((double)g / (1 + exp(-(double)g))); }

/* silu(g) * u, the product taken before the one rounding to DUO_T. */
DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_swiglu_e)(DUO_T g, DUO_T u, double e) {
    return (DUO_T)((double)g / (1 + e) * (double)u);
}

DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_swiglu)(DUO_T g, DUO_T u) {
    return DUO_FN(duo_swiglu_e)(g, u, exp(-(double)g));
}

/* d/dg and d/du of silu(g) * u given da. */
DUO_HOST_DEVICE static inline void DUO_FN(duo_swiglu_bwd_e)(DUO_T g, DUO_T u, DUO_T da, double e, DUO_T *dg,
                                                            DUO_T *du) {
    DUO_T sg = DUO_FN(duo_sigmoid_e)(e);
    *du = da * g * sg;
    *dg = da * u * sg * (1 + g * (1 - sg));
}

DUO_HOST_DEVICE static inline void DUO_FN(duo_swiglu_bwd)(DUO_T g, DUO_T u, DUO_T da, DUO_T *dg, DUO_T *du) {
    DUO_FN(duo_swiglu_bwd_e)(g, u, da, exp(-(double)g), dg, du);
}

/* ---- RMSNorm (HF LlamaRMSNorm) ---------------------------------------------------------------- */
/* 1/sqrt(mean(x^2) + eps) from the row's sum of squares (accumulated in double). */
DUO_HOST_DEVICE static inline double DUO_FN(duo_rms_inv_from_sumsq)(double sumsq, int d, double eps) {
    return 1.0 / sqrt(sumsq / d + eps);
}

/* The row's 1/rms, summed in order (one thread per row, or the host). */
DUO_HOST_DEVICE static inline double DUO_FN(duo_rms_inv_row)(const DUO_T *x, int d, double eps) {
    double ss = 0;
    for (int i = 0; i < d; i++) ss += (double)x[i] * x[i];
    return DUO_FN(duo_rms_inv_from_sumsq)(ss, d, eps);
}

/* y = w * (x * inv), inv = (DUO_T) the row's 1/rms. */
DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_rms_apply)(DUO_T x, DUO_T w, DUO_T inv) { return w * (x * inv); }

/* dx = inv (w dy) - x inv^3 dot / d with dot = sum w dy x:  the row's two coefficients from its stats. */
DUO_HOST_DEVICE static inline void DUO_FN(duo_rms_bwd_coefs)(double inv, double dot, int d, DUO_T *ca, DUO_T *cb) {
    *ca = (DUO_T)inv;
    *cb = (DUO_T)(inv * inv * inv * dot / d);
}

DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_rms_bwd_elem)(DUO_T x, DUO_T w, DUO_T dy, DUO_T ca, DUO_T cb) {
    return ca * (w * dy) - x * cb;
}

/* ---- gates, loss ------------------------------------------------------------------------------ */
/* (1 - a) * x + a * y with a the clamped gate in DUO_T. */
DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_blend)(DUO_T a, DUO_T x, DUO_T y) { return (1 - a) * x + a * y; }

/* d/dB of coef/-2 * (A - B)^2: coef * (A - B), coef in DUO_T. */
DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_sqdiff_grad)(DUO_T coef, DUO_T a, DUO_T b) { return coef * (a - b); }

/* ---- masked softmax rows (a score tile's row: visible columns [0, ae) and [bs, be)) ------------ */
/* Scales the visible scores, turns them into probabilities in place, zeroes the rest; returns the
 * log-sum-exp of the scaled visible scores (-inf when none is visible, and the row is all 0). */
DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_softmax_row)(DUO_T *s, int cols, int ae, int bs, int be, DUO_T scale) {
    DUO_T mx = -INFINITY;
    for (int c = 0; c < ae; c++) { s[c] *= scale; if (s[c] > mx) mx = s[c]; }
    for (int c = bs; c < be; c++) { s[c] *= scale; if (s[c] > mx) mx = s[c]; }
    for (int c = ae; c < bs; c++) s[c] = 0;
    for (int c = be; c < cols; c++) s[c] = 0;
    if (ae == 0 && be <= bs) return -INFINITY;
    DUO_T sum = 0;
    for (int c = 0; c < ae; c++) { s[c] = DUO_EXP(s[c] - mx); sum += s[c]; }
    for (int c = bs; c < be; c++) { s[c] = DUO_EXP(s[c] - mx); sum += s[c]; }
    DUO_T inv = 1 / sum;
    for (int c = 0; c < ae; c++) s[c] *= inv;
    for (int c = bs; c < be; c++) s[c] *= inv;
    return mx + (DUO_T)log(sum);
}

/* The backward's recomputed probability of a visible column from its raw score and the row's lse. */
DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_prob_from_lse)(DUO_T s, DUO_T scale, DUO_T lse) {
    return DUO_EXP(s * scale - lse);
}

/* A row of recomputed probabilities in place (0 on invisible columns). */
DUO_HOST_DEVICE static inline void DUO_FN(duo_probs_row)(DUO_T *p, int cols, int ae, int bs, int be, DUO_T scale,
                                                         DUO_T lse) {
    for (int c = 0; c < ae; c++) p[c] = DUO_FN(duo_prob_from_lse)(p[c], scale, lse);
    for (int c = ae; c < bs; c++) p[c] = 0;
    for (int c = bs; c < be; c++) p[c] = DUO_FN(duo_prob_from_lse)(p[c], scale, lse);
    for (int c = be; c < cols; c++) p[c] = 0;
}

/* dS = P (dP - D) scale (pre-scaled score gradient; D = rowsum(dO * O)). */
DUO_HOST_DEVICE static inline DUO_T DUO_FN(duo_dscore)(DUO_T p, DUO_T dp, DUO_T D, DUO_T scale) {
    return p * (dp - D) * scale;
}

/* The first column of the largest scaled visible score, -1 if none is visible. */
DUO_HOST_DEVICE static inline int DUO_FN(duo_argmax_row)(const DUO_T *s, int ae, int bs, int be, DUO_T scale) {
    int best = -1;
    DUO_T mx = 0;
    for (int c = 0; c < ae; c++)
        if (best < 0 || s[c] * scale > mx) { mx = s[c] * scale; best = c; }
    for (int c = bs; c < be; c++)
        if (best < 0 || s[c] * scale > mx) { mx = s[c] * scale; best = c; }
    return best;
}
