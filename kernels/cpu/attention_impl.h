/* CPU attention forward and backward (kernels/ops.h attn_fwd/attn_bwd) over key positions: queries in
 * chunks of ATTN_CHUNK rows, each chunk against the (at most two) contiguous key-row ranges its mask
 * needs, scores and products by BLAS.  A template, see kernels/cpu/dense_impl.h. */

#ifndef DUO_CPU_ATTN_COMMON
#define DUO_CPU_ATTN_COMMON
#define ATTN_CHUNK 64

/* Rows of kpos[0..nk) holding a position < p (kpos NULL: row r is position r). */
static size_t cpu_rows_below(const int32_t *kpos, size_t nk, long long p) {
    if (!kpos) return p <= 0 ? 0 : (size_t)p < nk ? (size_t)p : nk;
    size_t lo = 0, hi = nk;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kpos[mid] < p) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The key rows a chunk of queries (positions pmin..pmax) needs: rows [0, a_rows) (positions below
 * a_pos, the sink) and rows [b_row, b_row + b_rows) (positions b_pos..pmax, the recent windows).  The
 * chunk's score matrix has a_rows + b_rows columns in that order. */
typedef struct {
    long long a_pos, b_pos;
    size_t a_rows, b_row, b_rows;
} cpu_key_span;

static cpu_key_span cpu_chunk_keys(const duo_attn_mask *mk, const int32_t *kpos, size_t nk, long long pmin,
                                   long long pmax) {
    cpu_key_span ks;
    long long a = attn_mask_sink_end(mk);
    if (a > pmax + 1) a = pmax + 1;
    long long b = attn_mask_recent_lo(mk, pmin);
    if (b < a) b = a;
    ks.a_pos = a;
    ks.b_pos = b;
    ks.a_rows = cpu_rows_below(kpos, nk, a);
    ks.b_row = cpu_rows_below(kpos, nk, b);
    size_t b_end = cpu_rows_below(kpos, nk, pmax + 1);
    ks.b_rows = b_end > ks.b_row ? b_end - ks.b_row : 0;
    return ks;
}

/* The score columns query position i sees: [0, *a_end) and [*b_start, *b_end).  The mask has the shape
 * "j <= i and (j < sink_end or j >= recent_lo(i))" (kernels/attn_mask.h): range A holds the keys below
 * min(sink_end, i + 1), range B the keys from max(recent_lo(i), the span's b_pos) up to i. */
static inline void cpu_row_cols(const duo_attn_mask *mk, const cpu_key_span *ks, const int32_t *kpos, size_t nk,
                                long long i, int *a_end, int *b_start, int *b_end) {
    long long a = ks->a_pos < i + 1 ? ks->a_pos : i + 1;
    *a_end = (int)cpu_rows_below(kpos, nk, a);
    long long lo = attn_mask_recent_lo(mk, i);
    if (lo < ks->b_pos) lo = ks->b_pos;
    size_t r_lo = cpu_rows_below(kpos, nk, lo), r_hi = cpu_rows_below(kpos, nk, i + 1);
    size_t kend = ks->b_row + ks->b_rows;
    if (r_hi > kend) r_hi = kend;
    if (r_lo > kend) r_lo = kend; /* empty range B */
    *b_start = (int)(ks->a_rows + (r_lo - ks->b_row));
    *b_end = r_hi > r_lo ? (int)(ks->a_rows + (r_hi - ks->b_row)) : *b_start;
}
#endif

/* S[rows][cols] = Q_chunk K_cols^T for one head (unscaled). */
static void FN(chunk_scores)(const T *Q, size_t qstride, int rows, const T *K, size_t kstride, const cpu_key_span *ks,
                             int hd, T *Sbuf, int cols) {
    if (ks->a_rows)
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)ks->a_rows, hd, 1, Q, (int)qstride, K, (int)kstride,
             0, Sbuf, cols);
    if (ks->b_rows)
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)ks->b_rows, hd, 1, Q, (int)qstride,
             K + ks->b_row * kstride, (int)kstride, 0, Sbuf + ks->a_rows, cols);
}

/* Out[rows][hd] = P[rows][cols] V_cols (beta 0). */
static void FN(chunk_pv)(const T *P, int rows, int cols, const cpu_key_span *ks, const T *V, size_t vstride, int hd,
                         T *Out, size_t ostride) {
    if (ks->a_rows)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, (int)ks->a_rows, 1, P, cols, V, (int)vstride, 0,
             Out, (int)ostride);
    if (ks->b_rows)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, (int)ks->b_rows, 1, P + ks->a_rows, cols,
             V + ks->b_row * vstride, (int)vstride, ks->a_rows ? 1 : 0, Out, (int)ostride);
}

/* Scaled, masked scores -> probabilities in place; returns each row's log-sum-exp in lse_rows. */
static void FN(chunk_softmax)(const duo_attn_mask *mk, const int32_t *qpos, int rows, const cpu_key_span *ks,
                              const int32_t *kpos, size_t nk, T scale, T *Sbuf, int cols, T *lse_rows) {
    for (int r = 0; r < rows; r++) {
        T *s = Sbuf + (size_t)r * cols;
        int ae, bs, be;
        cpu_row_cols(mk, ks, kpos, nk, qpos[r], &ae, &bs, &be);
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

/* Grows a task's scratch to count elements; 0, or -1 (recorded) when out of memory. */
static int FN(scratch)(duo_backend *be, T **buf, size_t *cap, size_t count) {
    if (count <= *cap) return 0;
    free(*buf);
    *buf = malloc(count * sizeof **buf);
    *cap = *buf ? count : 0;
    if (*buf) return 0;
    BACKEND_FAIL(be, "attention", "out of memory for a %zu-element score block", count);
    return -1;
}

static void FN(attn_fwd)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A) {
    int H = sh->num_heads, KVH = sh->num_kv_heads, hd = sh->head_dim, group = H / KVH;
    size_t nq = A->nq, nk = A->nk;
    if (nq == 0) return;
    const T *Q = A->Q, *K = A->K, *V = A->V;
    T *O = A->O, *lse = A->lse;
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
            cpu_key_span span = cpu_chunk_keys(&sh->mask, A->kpos, nk, A->qpos[r0], A->qpos[r1 - 1]);
            int cols = (int)(span.a_rows + span.b_rows);
            if (FN(scratch)(be, &S, &cap, (size_t)rows * (cols ? cols : 1))) continue;
            int g = h / group;
            T lse_rows[ATTN_CHUNK];
            FN(chunk_scores)(Q + r0 * A->q_stride + (size_t)h * hd, A->q_stride, rows, K + (size_t)g * hd, A->kv_stride,
                             &span, hd, S, cols);
            FN(chunk_softmax)(&sh->mask, A->qpos + r0, rows, &span, A->kpos, nk, scale, S, cols, lse_rows);
            FN(chunk_pv)(S, rows, cols, &span, V + (size_t)g * hd, A->kv_stride, hd, O + r0 * A->o_stride + (size_t)h * hd,
                         A->o_stride);
            if (lse)
                for (int r = 0; r < rows; r++) lse[(r0 + r) * H + h] = lse_rows[r];
        }
        free(S);
    }
    openblas_set_num_threads(blas_threads);
}

/* dV += P^T dO; dP = dO V^T; dS = P (dP - rowsum(dO*O)); dQ = scale dS K; dK += scale dS^T Q.
 * One task per KV head, so the dK/dV rows it accumulates into are its own. */
static void FN(attn_bwd)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A) {
    int H = sh->num_heads, KVH = sh->num_kv_heads, hd = sh->head_dim, group = H / KVH;
    size_t nq = A->nq, nk = A->nk, qs = A->q_stride, os = A->o_stride, ks_ = A->kv_stride;
    if (nq == 0) return;
    const T *Q = A->Q, *K = A->K, *V = A->V, *O = A->O, *lse = A->lse, *dO = A->dO;
    T *dQ = A->dQ, *dK = A->dK, *dV = A->dV;
    T scale = (T)(1.0 / sqrt((double)hd));
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel
    {
        T *P = NULL, *dP = NULL;
        size_t cap = 0, cap2 = 0;
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < KVH; g++) {
            for (int h = g * group; h < (g + 1) * group; h++) {
                for (size_t r0 = 0; r0 < nq; r0 += ATTN_CHUNK) {
                    size_t r1 = r0 + ATTN_CHUNK < nq ? r0 + ATTN_CHUNK : nq;
                    int rows = (int)(r1 - r0);
                    cpu_key_span span = cpu_chunk_keys(&sh->mask, A->kpos, nk, A->qpos[r0], A->qpos[r1 - 1]);
                    int cols = (int)(span.a_rows + span.b_rows);
                    size_t need = (size_t)rows * (cols ? cols : 1);
                    if (FN(scratch)(be, &P, &cap, need) || FN(scratch)(be, &dP, &cap2, need)) break;
                    const T *Qc = Q + r0 * qs + (size_t)h * hd, *Oc = O + r0 * os + (size_t)h * hd;
                    const T *dOc = dO + r0 * os + (size_t)h * hd;
                    const T *Kg = K + (size_t)g * hd, *Vg = V + (size_t)g * hd;
                    T *dKg = dK + (size_t)g * hd, *dVg = dV + (size_t)g * hd;
                    /* P from the saved log-sum-exp */
                    FN(chunk_scores)(Qc, qs, rows, Kg, ks_, &span, hd, P, cols);
                    for (int r = 0; r < rows; r++) {
                        T l = lse[(r0 + r) * H + h];
                        T *p = P + (size_t)r * cols;
                        int ae, bs, be_;
                        cpu_row_cols(&sh->mask, &span, A->kpos, nk, A->qpos[r0 + r], &ae, &bs, &be_);
                        for (int c = 0; c < ae; c++) p[c] = EXP(p[c] * scale - l);
                        for (int c = ae; c < bs; c++) p[c] = 0;
                        for (int c = bs; c < be_; c++) p[c] = EXP(p[c] * scale - l);
                        for (int c = be_; c < cols; c++) p[c] = 0;
                    }
                    /* dP = dO V^T over the same columns */
                    FN(chunk_scores)(dOc, os, rows, Vg, ks_, &span, hd, dP, cols);
                    /* dV += P^T dO */
                    if (span.a_rows)
                        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)span.a_rows, hd, rows, 1, P, cols, dOc, (int)os,
                             1, dVg, (int)ks_);
                    if (span.b_rows)
                        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)span.b_rows, hd, rows, 1, P + span.a_rows, cols,
                             dOc, (int)os, 1, dVg + span.b_row * ks_, (int)ks_);
                    /* dS (into P), pre-scaled */
                    for (int r = 0; r < rows; r++) {
                        T di = 0;
                        for (int e = 0; e < hd; e++) di += dOc[(size_t)r * os + e] * Oc[(size_t)r * os + e];
                        T *p = P + (size_t)r * cols, *dp = dP + (size_t)r * cols;
                        for (int c = 0; c < cols; c++) p[c] = p[c] * (dp[c] - di) * scale;
                    }
                    /* dQ = dS K */
                    T *dQc = dQ + r0 * qs + (size_t)h * hd;
                    FN(chunk_pv)(P, rows, cols, &span, Kg, ks_, hd, dQc, qs);
                    /* dK += dS^T Q */
                    if (span.a_rows)
                        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)span.a_rows, hd, rows, 1, P, cols, Qc, (int)qs, 1,
                             dKg, (int)ks_);
                    if (span.b_rows)
                        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)span.b_rows, hd, rows, 1, P + span.a_rows, cols,
                             Qc, (int)qs, 1, dKg + span.b_row * ks_, (int)ks_);
                }
            }
        }
        free(P);
        free(dP);
    }
    openblas_set_num_threads(blas_threads);
}
