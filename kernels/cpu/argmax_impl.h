/* CPU attention argmax (kernels/ops.h attn_argmax): per query row and query head, the key row of the
 * largest scaled score the mask lets the row see.  The same chunking as attn_fwd (queries in chunks of
 * ATTN_CHUNK rows, each chunk's scores over the at most two key-row ranges its mask needs, by BLAS),
 * through the helpers of kernels/cpu/attention_impl.h, so the scores compared are the ones attn_fwd
 * turns into weights.  A template, see kernels/cpu/dense_impl.h. */

/* amax[r * H] for the chunk's rows (stride H): the key row of each row's largest visible scaled score,
 * range A (rows [0, a_rows)) before range B, the first of equal ones; -1 where a row sees no key. */
static void FN(chunk_argmax)(const duo_attn_mask *mk, const int32_t *qpos, int rows, const duo_key_span *ks,
                             const int32_t *kpos, size_t nk, T scale, const T *Sbuf, int cols, int32_t *amax,
                             int H) {
    for (int r = 0; r < rows; r++) {
        const T *s = Sbuf + (size_t)r * cols;
        int ae, bs, be;
        duo_row_cols(mk, ks, kpos, nk, qpos[r], &ae, &bs, &be);
        int best = -1;
        T mx = 0;
        for (int c = 0; c < ae; c++) {
            T v = s[c] * scale;
            if (best < 0 || v > mx) { mx = v; best = c; }
        }
        for (int c = bs; c < be; c++) {
            T v = s[c] * scale;
            if (best < 0 || v > mx) { mx = v; best = c; }
        }
        /* score column -> key row: range A is rows [0, a_rows), range B starts at row b_row */
        if (best >= (int)ks->a_rows) best = (int)ks->b_row + (best - (int)ks->a_rows);
        amax[(size_t)r * H] = best;
    }
}

static void FN(attn_argmax)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A, int32_t *amax) {
    int H = sh->num_heads, KVH = sh->num_kv_heads, hd = sh->head_dim, group = H / KVH;
    size_t nq = A->nq, nk = A->nk;
    if (nq == 0) return;
    const T *Q = A->Q, *K = A->K;
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
            FN(chunk_scores)(Q + r0 * A->q_stride + (size_t)h * hd, A->q_stride, rows, K + (size_t)(h / group) * hd,
                             A->kv_stride, &span, hd, S, cols);
            FN(chunk_argmax)(&sh->mask, A->qpos + r0, rows, &span, A->kpos, nk, scale, S, cols, amax + r0 * H + h, H);
        }
        free(S);
    }
    openblas_set_num_threads(blas_threads);
}
