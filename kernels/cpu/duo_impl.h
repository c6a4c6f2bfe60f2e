/* CPU DuoAttention ops (kernels/ops.h): the gate blend of streaming and full attention and its backward
 * (the per-KV-head gate gradient), the squared-difference distillation loss and its gradient.
 * A template, see kernels/cpu/dense_impl.h.  The reductions run in a fixed sequential order, in double,
 * so a run is reproducible bit for bit. */

static void FN(gate_blend)(duo_backend *be, const void *SAv, const void *FAv, size_t m, int H, int KVH, int hd,
                           const double *gates, void *ATTv) {
    const T *sa = SAv, *fa = FAv;
    T *att = ATTv;
    int group = H / KVH;
    size_t qdim = (size_t)H * hd;
    for (size_t r = 0; r < m; r++)
        for (int h = 0; h < H; h++) {
            T a = (T)gate_clamp(gates[h / group]);
            size_t off = r * qdim + (size_t)h * hd;
            for (int e = 0; e < hd; e++) att[off + e] = MATH(duo_blend)(a, sa[off + e], fa[off + e]);
        }
}

static void FN(gate_blend_bwd)(duo_backend *be, void *dATTv, const void *FAv, const void *SAv, size_t m, int H, int KVH,
                               int hd, const double *gates, double *grad) {
    T *datt = dATTv;
    const T *fa = FAv, *sa = SAv;
    int group = H / KVH;
    size_t qdim = (size_t)H * hd;
    for (int g = 0; g < KVH; g++) {
        double acc = 0;
        for (size_t r = 0; r < m; r++)
            for (int h = g * group; h < (g + 1) * group; h++) {
                size_t off = r * qdim + (size_t)h * hd;
                for (int e = 0; e < hd; e++) acc += (double)datt[off + e] * (fa[off + e] - sa[off + e]);
            }
        if (gate_passes_gradient(gates[g])) grad[g] += acc;
    }
    for (size_t r = 0; r < m; r++)
        for (int h = 0; h < H; h++) {
            T a = (T)gate_clamp(gates[h / group]);
            size_t off = r * qdim + (size_t)h * hd;
            for (int e = 0; e < hd; e++) datt[off + e] *= (1 - a);
        }
}

static void FN(sqdiff_loss)(duo_backend *be, const void *Av, const void *Bv, size_t m, int d, double *out) {
    const T *A = Av, *B = Bv;
    double total = 0;
    for (size_t k = 0; k < m; k++) {
        double s = 0;
        for (int e = 0; e < d; e++) {
            double diff = (double)A[k * d + e] - B[k * d + e];
            s += diff * diff;
        }
        total += s / (double)d;
    }
    *out = total;
}

static void FN(sqdiff_grad)(duo_backend *be, const void *Av, const void *Bv, size_t count, double coef, void *dBv) {
    const T *A = Av, *B = Bv;
    T *dB = dBv, c = (T)coef;
    for (size_t k = 0; k < count; k++) dB[k] = MATH(duo_sqdiff_grad)(c, A[k], B[k]);
}
