/* CPU attention forward, backward and argmax (kernels/ops.h attn_fwd/attn_bwd/attn_argmax) over key
 * positions: queries in chunks of ATTN_CHUNK rows, each chunk against the (at most two) contiguous key-row
 * ranges its mask needs, scores and products by BLAS.  A template, see kernels/cpu/dense_impl.h. */

#ifndef DUO_CPU_ATTN_COMMON
#define DUO_CPU_ATTN_COMMON
#define ATTN_CHUNK 64
/* The key spans (duo_key_span) and a row's visible columns: kernels/math/attn_rows.h, shared with the
 * composites and the CUDA kernels. */
#endif

/* S[rows][cols] = Q_chunk K_cols^T for one head (unscaled). */
static void FN(chunk_scores)(const T *Q, size_t qstride, int rows, const T *K, size_t kstride, const duo_key_span *ks,
                             int hd, T *Sbuf, int cols) {
    if (ks->a_rows)
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)ks->a_rows, hd, 1, Q, (int)qstride, K, (int)kstride,
             0, Sbuf, cols);
    if (ks->b_rows)
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)ks->b_rows, hd, 1, Q, (int)qstride,
             K + ks->b_row * kstride, (int)kstride, 0, Sbuf + ks->a_rows, cols);
}

/* Out[rows][hd] = P[rows][cols] V_cols (beta 0). */
static void FN(chunk_pv)(const T *P, int rows, int cols, const duo_key_span *ks, const T *V, size_t vstride, int hd,
                         T *Out, size_t ostride) {
    if (ks->a_rows)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, (int)ks->a_rows, 1, P, cols, V, (int)vstride, 0,
             Out, (int)ostride);
    if (ks->b_rows)
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, (int)ks->b_rows, 1, P + ks->a_rows, cols,
             V + ks->b_row * vstride, (int)vstride, ks->a_rows ? 1 : 0, Out, (int)ostride);
}

/* Scaled, masked scores -> probabilities in place; returns each row's log-sum-exp in lse_rows. */
static void FN(chunk_softmax)(const duo_attn_mask *mk, const int32_t *qpos, int rows, const duo_key_span *ks,
                              const int32_t *kpos, size_t nk, T scale, T *Sbuf, int cols, T *lse_rows) {
    for (int r = 0; r < rows; r++) {
        int ae, bs, be;
        duo_row_cols(mk, ks, kpos, nk, qpos[r], &ae, &bs, &be);
        lse_rows[r] = MATH(duo_softmax_row)(Sbuf + (size_t)r * cols, cols, ae, bs, be, scale);
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

/* amax[r * H] for the chunk's rows (stride H): the key row of each row's largest visible scaled score,
 * range A (rows [0, a_rows)) before range B, the first of equal ones; -1 where a row sees no key. */
static void FN(chunk_argmax)(const duo_attn_mask *mk, const int32_t *qpos, int rows, const duo_key_span *ks,
                             const int32_t *kpos, size_t nk, T scale, const T *Sbuf, int cols, int32_t *amax,
                             int H) {
    for (int r = 0; r < rows; r++) {
        int ae, bs, be;
        duo_row_cols(mk, ks, kpos, nk, qpos[r], &ae, &bs, &be);
        int best = MATH(duo_argmax_row)(Sbuf + (size_t)r * cols, ae, bs, be, scale);
        /* score column -> key row: range A is rows [0, a_rows), range B starts at row b_row */
        if (best >= (int)ks->a_rows) best = (int)ks->b_row + (best - (int)ks->a_rows);
        amax[(size_t)r * H] = best;
    }
}

/* The forward's tasks (a chunk of queries x one head each): the chunk's scores, then either softmax and
 * P V (amax NULL: attn_fwd) or each row's argmax key row into amax[nq][H] (attn_argmax), so the scores
 * the argmax compares are the ones the forward turns into weights. */
static void FN(attn_tasks)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A, int32_t *amax) {
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
            duo_key_span span = duo_chunk_keys(&sh->mask, A->kpos, nk, A->qpos[r0], A->qpos[r1 - 1]);
            int cols = (int)(span.a_rows + span.b_rows);
            if (FN(scratch)(be, &S, &cap, (size_t)rows * (cols ? cols : 1))) continue;
            int g = h / group;
            FN(chunk_scores)(Q + r0 * A->q_stride + (size_t)h * hd, A->q_stride, rows, K + (size_t)g * hd, A->kv_stride,
                             &span, hd, S, cols);
            if (amax) {
                FN(chunk_argmax)(&sh->mask, A->qpos + r0, rows, &span, A->kpos, nk, scale, S, cols, amax + r0 * H + h, H);
                continue;
            }
            T lse_rows[ATTN_CHUNK];
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

static void FN(attn_fwd)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A) {
    FN(attn_tasks)(be, sh, A, NULL);
}

/* attn_argmax (kernels/ops.h): per query row and query head, the key row of the largest visible scaled
 * score. */
static void FN(attn_argmax)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A, int32_t *amax) {
    FN(attn_tasks)(be, sh, A, amax);
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
                    duo_key_span span = duo_chunk_keys(&sh->mask, A->kpos, nk, A->qpos[r0], A->qpos[r1 - 1]);
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
                        duo_row_cols(&sh->mask, &span, A->kpos, nk, A->qpos[r0 + r], &ae, &bs, &be_);
                        MATH(duo_probs_row)(p, cols, ae, bs, be_, scale, l);
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
                        for (int c = 0; c < cols; c++) p[c] = MATH(duo_dscore)(p[c], dp[c], di, scale);
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
