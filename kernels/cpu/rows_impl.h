/* CPU row ops (kernels/ops.h): weight conversion, embedding lookup, row gather / scatter-add, copy, zero
 * and row argmax.  A template, see kernels/cpu/dense_impl.h. */

/* Checkpoint elements -> T: float32 directly (in parallel 64K blocks), double through float (exact). */
static void FN(load_tensor)(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *Wv) {
    T *W = Wv;
    if (sizeof(T) == sizeof(float)) {
        float *o = (float *)(void *)W;
        long nblk = (long)((count + 65535) / 65536);
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(count))
        for (long b = 0; b < nblk; b++) {
            size_t s0 = (size_t)b * 65536, k = count - s0 < 65536 ? count - s0 : 65536;
            tensor_to_f32(t, first + s0, k, o + s0);
        }
        return;
    }
    float chunk[4096];
    for (size_t s = 0; s < count; s += 4096) {
        size_t k = count - s < 4096 ? count - s : 4096;
        tensor_to_f32(t, first + s, k, chunk);
        for (size_t i = 0; i < k; i++) W[s + i] = (T)chunk[i];
    }
}

static void FN(embed)(duo_backend *be, const duo_tensor *table, const int32_t *ids, size_t n, void *Xv) {
    size_t d = (size_t)table->shape[1];
    T *X = Xv;
    for (size_t i = 0; i < n; i++) {
        if (sizeof(T) == sizeof(float)) tensor_to_f32(table, (size_t)ids[i] * d, d, (float *)(void *)(X + i * d));
        else FN(load_tensor)(be, table, (size_t)ids[i] * d, d, X + i * d); /* a row is far below one chunk */
    }
}

static void FN(gather_rows)(duo_backend *be, const void *Xv, const int32_t *rows, size_t m, int d, void *Yv) {
    const T *X = Xv;
    T *Y = Yv;
    for (size_t r = 0; r < m; r++) memcpy(Y + r * d, X + (size_t)rows[r] * d, (size_t)d * sizeof(T));
}

static void FN(scatter_add_rows)(duo_backend *be, const void *Xv, const int32_t *rows, size_t m, int d, void *Yv) {
    const T *X = Xv;
    T *Y = Yv;
    for (size_t r = 0; r < m; r++) {
        T *dst = Y + (size_t)rows[r] * d;
        const T *src = X + r * d;
        for (int k = 0; k < d; k++) dst[k] += src[k];
    }
}

static void FN(copy)(duo_backend *be, void *dst, const void *src, size_t count) {
    if (count) memcpy(dst, src, count * sizeof(T));
}

static void FN(copy_rows)(duo_backend *be, void *dstv, size_t dst_stride, const void *srcv, size_t src_stride, size_t m,
                          int width) {
    T *dst = dstv;
    const T *src = srcv;
    for (size_t r = 0; r < m; r++) memcpy(dst + r * dst_stride, src + r * src_stride, (size_t)width * sizeof(T));
}

static void FN(permute_heads)(duo_backend *be, const void *Xv, size_t m, int nheads, int hd, const int *perm, void *Yv) {
    const T *X = Xv;
    T *Y = Yv;
    size_t row = (size_t)nheads * hd;
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(m * row))
    for (size_t r = 0; r < m; r++)
        for (int j = 0; j < nheads; j++)
            memcpy(Y + r * row + (size_t)j * hd, X + r * row + (size_t)perm[j] * hd, (size_t)hd * sizeof(T));
}

static void FN(zero)(duo_backend *be, void *dst, size_t count) {
    if (count) memset(dst, 0, count * sizeof(T));
}

static void FN(argmax_rows)(duo_backend *be, const void *Xv, size_t m, int ncols, int32_t *out) {
    const T *X = Xv;
    for (size_t r = 0; r < m; r++) {
        const T *x = X + r * (size_t)ncols;
        int best = 0;
        for (int c = 1; c < ncols; c++)
            if (x[c] > x[best]) best = c;
        out[r] = best;
    }
}
