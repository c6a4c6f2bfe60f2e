/* CPU attention forward, backward and argmax (kernels/ops.h attn_fwd/attn_bwd/attn_argmax): one task is a
 * tile of query rows times every query head of one KV group, the group's heads stacked as the products'
 * M dimension (row i of a tile: head i / R of the group, query row i % R, R = attn_tile_rows(group)),
 * walked over blocks of ATTN_KEYS key columns with an online softmax (flash-style: the score block stays
 * in cache) inside the (at most two) contiguous key-row ranges the tile's mask needs.  The float
 * instance's forward runs the fused register kernels of kernels/cpu/attn_fused.h (AVX-512 or AVX2 + FMA;
 * the backward recomputes its scores with them), decode-sized tiles (M below ATTN_SMALL_M) their FMA
 * loops; otherwise (float64, other head dims, no such instruction set) the products are BLAS, or plain
 * loops below ATTN_SMALL_M (decode: BLAS would pack the whole K/V block for a row or two).  A template,
 * see kernels/cpu/dense_impl.h.
 *
 * A KV group's results depend only on its own rows and keys (never on the thread count or on which other
 * groups share the call), and the backward recomputes the forward's scores with the same products. */

#ifndef DUO_CPU_ATTN_COMMON
#define DUO_CPU_ATTN_COMMON
#include "kernels/cpu/cpu_scratch.h"
#include "kernels/cpu/attn_vexp.h"
#define ATTN_M 128      /* a tile's rows (heads x query rows) when the group divides it */
#define ATTN_KEYS 256   /* key columns per block: a [ATTN_M][ATTN_KEYS] float block is 128 KiB */
#define ATTN_SMALL_M 16 /* tiles with fewer rows skip BLAS */
#define ATTN_RB 4       /* rows of the fused kernel's row block (kernels/cpu/attn_fused.h) */

/* A tile's M rows rounded up to whole row blocks: its packed rows' count (the pad rows zero). */
static inline int attn_padded_rows(int M) { return (M + ATTN_RB - 1) / ATTN_RB * ATTN_RB; }

/* Query rows per tile for a KV group of `group` query heads (depends on the group alone, so a head's
 * tiles are the same in every call). */
static inline int attn_tile_rows(int group) { return group >= ATTN_M ? 1 : ATTN_M / group; }

/* The score columns (kernels/math/attn_rows.h: range A [0, a_rows), then range B) of one key block
 * [c0, c1), inside range A (c1 <= a_rows) or range B: each query row's visible part, lo[r]..hi[r]
 * relative to the block's narrowed start *n0 (the first column any row sees), and the narrowed width,
 * 0 when no row sees the block. */
static int attn_block_rows(const int *ae, const int *bs, const int *be, int rows, int a_rows, int c0, int c1, int *lo,
                           int *hi, int *n0) {
    int nlo = c1, nhi = c0;
    for (int r = 0; r < rows; r++) {
        int a = c0 < a_rows ? c0 : (bs[r] > c0 ? bs[r] : c0);
        int b = c0 < a_rows ? (ae[r] < c1 ? ae[r] : c1) : (be[r] < c1 ? be[r] : c1);
        if (b <= a) a = b = -1; /* sees nothing here */
        lo[r] = a;
        hi[r] = b;
        if (b > a) {
            if (a < nlo) nlo = a;
            if (b > nhi) nhi = b;
        }
    }
    if (nhi <= nlo) return 0;
    for (int r = 0; r < rows; r++) { /* [lo, hi) inside [0, nhi - nlo), empty rows [0, 0) */
        lo[r] = lo[r] < 0 ? 0 : lo[r] - nlo;
        hi[r] = hi[r] < 0 ? 0 : hi[r] - nlo;
    }
    *n0 = nlo;
    return nhi - nlo;
}

/* The key row behind score column c. */
static inline size_t attn_col_row(const duo_key_span *ks, int c) {
    return (size_t)c < ks->a_rows ? (size_t)c : ks->b_row + ((size_t)c - ks->a_rows);
}
#endif

#include "kernels/cpu/attn_block_impl.h"
#ifdef ATTN_FUSED
#include "kernels/cpu/attn_fused.h"
#endif

/* One tile's geometry and scratch (shape comments: M = group * rows, Mp = M in whole row blocks). */
typedef struct {
    int group, hd, rows, M, Mp, g;
    size_t r0;
    duo_key_span span;
    int *ae, *bs, *be, *lo, *hi; /* [rows] each: the visible columns of each query row, then of one block */
    T *Qp, *S;                   /* [Mp][hd] the group's query rows packed (pad rows 0), [Mp][ATTN_KEYS] one score block */
} FN(attn_tile);

/* Scratch bytes of one thread's tile: bufs [Mp][hd] blocks, sblocks [Mp][ATTN_KEYS] blocks, vecs [Mp] vectors. */
static size_t FN(tile_bytes)(int M, int rows, int hd, int bufs, int sblocks, int vecs) {
    M = attn_padded_rows(M);
    return cpu_scratch_round((size_t)M * hd * sizeof(T)) * bufs +
           cpu_scratch_round((size_t)M * ATTN_KEYS * sizeof(T)) * sblocks +
           cpu_scratch_round((size_t)M * sizeof(T)) * vecs + cpu_scratch_round((size_t)M * sizeof(int)) +
           cpu_scratch_round((size_t)rows * sizeof(int)) * 5;
}

/* Sets a tile up for query rows [r0, r0 + rows) of KV group g: span, per-row columns, Q packed. */
static void FN(tile_begin)(FN(attn_tile) * t, const duo_attn_shape *sh, const duo_attn_args *A, int g, size_t r0,
                           int rows, unsigned char **cur) {
    t->group = sh->num_heads / sh->num_kv_heads;
    t->hd = sh->head_dim;
    t->rows = rows;
    t->M = rows * t->group;
    t->Mp = attn_padded_rows(t->M);
    t->g = g;
    t->r0 = r0;
    t->ae = cpu_scratch_take(cur, (size_t)rows * sizeof(int));
    t->bs = cpu_scratch_take(cur, (size_t)rows * sizeof(int));
    t->be = cpu_scratch_take(cur, (size_t)rows * sizeof(int));
    t->lo = cpu_scratch_take(cur, (size_t)rows * sizeof(int));
    t->hi = cpu_scratch_take(cur, (size_t)rows * sizeof(int));
    t->Qp = cpu_scratch_take(cur, (size_t)t->Mp * t->hd * sizeof(T));
    t->S = cpu_scratch_take(cur, (size_t)t->Mp * ATTN_KEYS * sizeof(T));
    t->span = duo_chunk_keys(&sh->mask, A->kpos, A->nk, A->qpos[r0], A->qpos[r0 + rows - 1]);
    for (int r = 0; r < rows; r++)
        duo_row_cols(&sh->mask, &t->span, A->kpos, A->nk, A->qpos[r0 + r], &t->ae[r], &t->bs[r], &t->be[r]);
    const T *Q = A->Q;
    for (int hh = 0; hh < t->group; hh++)
        for (int r = 0; r < rows; r++)
            memcpy(t->Qp + ((size_t)hh * rows + r) * t->hd, Q + (r0 + r) * A->q_stride + (size_t)(g * t->group + hh) * t->hd,
                   (size_t)t->hd * sizeof(T));
    memset(t->Qp + (size_t)t->M * t->hd, 0, (size_t)(t->Mp - t->M) * t->hd * sizeof(T));
}

/* S[M][ATTN_KEYS] = alpha X[M][hd] Kb[bc rows]^T (X: Qp with alpha the softmax scale, or the backward's
 * dOp against V with alpha 1; the scale rounds as (x . k) * scale would).  small: the fused kernels'
 * decode-sized loops (float, kernels/cpu/attn_fused.h) for tiles under ATTN_SMALL_M rows, NULL: the
 * portable ones. */
static void FN(tile_scores)(int avx2, const void *small, const FN(attn_tile) * t, const T *X, const T *Kb, size_t ks,
                            int bc, T *S, T alpha) {
#ifdef ATTN_FUSED
    if (small && t->M < ATTN_SMALL_M) {
        ((const attn_fused_kernels *)small)->small_scores(X, t->M, t->hd, Kb, ks, bc, S, ATTN_KEYS, alpha);
        return;
    }
#endif
    (void)small;
    if (t->M < ATTN_SMALL_M) FN(small_scores)(avx2, X, t->M, t->hd, Kb, ks, bc, S, ATTN_KEYS, alpha);
    else
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, t->M, bc, t->hd, alpha, X, t->hd, Kb, (int)ks, 0, S, ATTN_KEYS);
}

/* Op[M][hd] += P[M][ATTN_KEYS] Vb[bc rows]. */
static void FN(tile_pv)(int avx2, const void *small, const FN(attn_tile) * t, const T *P, const T *Vb, size_t ks,
                        int bc, T *Op) {
#ifdef ATTN_FUSED
    if (small && t->M < ATTN_SMALL_M) {
        ((const attn_fused_kernels *)small)->small_pv(P, ATTN_KEYS, t->M, bc, Vb, ks, t->hd, Op);
        return;
    }
#endif
    (void)small;
    if (t->M < ATTN_SMALL_M) FN(small_pv)(avx2, P, ATTN_KEYS, t->M, bc, Vb, ks, t->hd, Op);
    else GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, t->M, t->hd, bc, 1, P, ATTN_KEYS, Vb, (int)ks, 1, Op, t->hd);
}

/* The next key block of a tile that some row sees (range A's blocks first, columns ascending): its first
 * column *n0 and width (0: no block left), the rows' visible parts in t->lo / t->hi; *c0 is the walk's
 * position (start it at 0). */
static int FN(tile_next_block)(FN(attn_tile) * t, int *c0, int *n0) {
    int a_rows = (int)t->span.a_rows, end = a_rows + (int)t->span.b_rows;
    while (*c0 < end) {
        int lim = *c0 < a_rows ? a_rows : end;
        int c1 = *c0 + ATTN_KEYS < lim ? *c0 + ATTN_KEYS : lim;
        int bc = attn_block_rows(t->ae, t->bs, t->be, t->rows, a_rows, *c0, c1, t->lo, t->hi, n0);
        *c0 = c1;
        if (bc) return bc;
    }
    return 0;
}

/* Row `krow` of KV head g in X (K, V, dK or dV: rows of stride ks). */
static inline T *FN(kv_at)(const void *X, size_t krow, size_t ks, int g, int hd) {
    return (T *)(uintptr_t)X + krow * ks + (size_t)g * hd;
}

/* A forward tile's result: each row's output Op[i] / l[i] into O (0 where the row saw no key) and, when
 * asked, its log-sum-exp m[i] + log l[i] (-inf where it saw none). */
static void FN(tile_write_out)(const FN(attn_tile) * t, const duo_attn_shape *sh, const duo_attn_args *A, const T *Op,
                               const T *m, const T *l) {
    int hd = t->hd, H = sh->num_heads;
    T *O = A->O, *lse = A->lse;
    for (int i = 0; i < t->M; i++) {
        int hh = i / t->rows, r = i % t->rows, h = t->g * t->group + hh;
        size_t q = t->r0 + (size_t)r;
        T *o = O + q * A->o_stride + (size_t)h * hd;
        const T *op = Op + (size_t)i * hd;
        T inv = l[i] > 0 ? 1 / l[i] : 0;
        for (int e = 0; e < hd; e++) o[e] = op[e] * inv;
        if (lse) lse[q * H + h] = l[i] > 0 ? m[i] + (T)log(l[i]) : -INFINITY;
    }
}

/* The forward of one tile: O (and lse) of its rows and heads, or (amax non-NULL) each row's argmax key. */
static void FN(fwd_tile)(int avx2, const void *small, const duo_attn_shape *sh, const duo_attn_args *A, int g,
                         size_t r0, int rows, unsigned char *arena, int32_t *amax) {
    FN(attn_tile) t;
    unsigned char *cur = arena;
    FN(tile_begin)(&t, sh, A, g, r0, rows, &cur);
    int M = t.M, hd = t.hd, H = sh->num_heads;
    T scale = (T)(1.0 / sqrt((double)hd));
    T *Op = cpu_scratch_take(&cur, (size_t)M * hd * sizeof(T));       /* [M][hd] unnormalized output */
    T *m = cpu_scratch_take(&cur, (size_t)M * sizeof(T));             /* [M] running max (argmax: best) */
    T *l = cpu_scratch_take(&cur, (size_t)M * sizeof(T));             /* [M] running sum */
    int *best = cpu_scratch_take(&cur, (size_t)M * sizeof(int));      /* [M] argmax key row */
    for (int i = 0; i < M; i++) {
        m[i] = -INFINITY;
        l[i] = 0;
        best[i] = -1;
    }
    memset(Op, 0, (size_t)M * hd * sizeof(T));
    for (int c0 = 0, n0 = 0, bc; (bc = FN(tile_next_block)(&t, &c0, &n0));) {
        size_t krow = attn_col_row(&t.span, n0);
        const T *Kb = FN(kv_at)(A->K, krow, A->kv_stride, g, hd);
        FN(tile_scores)(avx2, small, &t, t.Qp, Kb, A->kv_stride, bc, t.S, scale);
        if (amax) {
            for (int i = 0; i < M; i++) {
                const T *s = t.S + (size_t)i * ATTN_KEYS;
                for (int c = t.lo[i % rows]; c < t.hi[i % rows]; c++)
                    if (best[i] < 0 || s[c] > m[i]) {
                        m[i] = s[c];
                        best[i] = (int)attn_col_row(&t.span, n0 + c);
                    }
            }
            continue;
        }
        FN(softmax_step)(avx2, t.S, ATTN_KEYS, M, rows, bc, t.lo, t.hi, m, l, Op, hd);
        FN(tile_pv)(avx2, small, &t, t.S, FN(kv_at)(A->V, krow, A->kv_stride, g, hd), A->kv_stride, bc, Op);
    }
    if (!amax) {
        FN(tile_write_out)(&t, sh, A, Op, m, l);
        return;
    }
    for (int i = 0; i < M; i++) {
        int hh = i / rows, r = i % rows, h = g * t.group + hh;
        amax[(r0 + (size_t)r) * H + h] = best[i];
    }
}

#ifdef ATTN_FUSED
/* The forward of one tile on the fused kernels k (kernels/cpu/attn_fused.h): per key block, K transposed
 * once, then per row block its scores into a strip, the online-softmax step of its rows, and P V into
 * its output rows. */
static void FN(fused_fwd_tile)(const attn_fused_kernels *k, const duo_attn_shape *sh, const duo_attn_args *A, int g,
                               size_t r0, int rows, const float *Kt_call, unsigned char *arena) {
    FN(attn_tile) t;
    unsigned char *cur = arena;
    FN(tile_begin)(&t, sh, A, g, r0, rows, &cur);
    int M = t.M, Mp = t.Mp, hd = t.hd, cw = k->cw;
    float scale = (float)(1.0 / sqrt((double)hd));
    float *Op = cpu_scratch_take(&cur, (size_t)Mp * hd * sizeof(float));  /* [Mp][hd] unnormalized output */
    float *m = cpu_scratch_take(&cur, (size_t)Mp * sizeof(float));        /* [Mp] running max */
    float *l = cpu_scratch_take(&cur, (size_t)Mp * sizeof(float));        /* [Mp] running sum */
    float *Kt = cpu_scratch_take(&cur, (size_t)hd * ATTN_KEYS * sizeof(float)); /* [hd][ATTN_KEYS] */
    float *S = cpu_scratch_take(&cur, ATTN_STRIP_BYTES); /* [ATTN_RB][ATTN_STRIP_LD] a row block's scores */
    for (int i = 0; i < Mp; i++) {
        m[i] = -INFINITY;
        l[i] = 0;
    }
    memset(Op, 0, (size_t)Mp * hd * sizeof(float));
    for (int c0 = 0, n0 = 0, bc; (bc = FN(tile_next_block)(&t, &c0, &n0));) {
        size_t krow = attn_col_row(&t.span, n0);
        const float *Kb = Kt; /* [hd][ldk] the block's keys transposed */
        int ldk = ATTN_KEYS;
        if (Kt_call) {
            ldk = (int)attn_fused_ld(A->nk);
            Kb = Kt_call + (size_t)g * hd * ldk + krow;
        } else attn_fused_pack_t(FN(kv_at)(A->K, krow, A->kv_stride, g, hd), A->kv_stride, bc, hd, cw, Kt);
        const float *Vb = FN(kv_at)(A->V, krow, A->kv_stride, g, hd);
        for (int i0 = 0; i0 < M; i0 += ATTN_RB) {
            int u0 = bc, u1 = 0; /* the row block's visible columns: [u0, u1) */
            for (int i = i0; i < i0 + ATTN_RB && i < M; i++) {
                int a = t.lo[i % rows], b = t.hi[i % rows];
                if (b <= a) continue;
                if (a < u0) u0 = a;
                if (b > u1) u1 = b;
            }
            if (u1 <= u0) continue;
            k->scores(t.Qp + (size_t)i0 * hd, hd, Kb, ldk, u0 / cw * cw, (u1 + cw - 1) / cw * cw, scale, S,
                      ATTN_STRIP_LD);
            for (int i = i0; i < i0 + ATTN_RB; i++) {
                float *s = S + (size_t)(i - i0) * ATTN_STRIP_LD;
                int a = i < M ? t.lo[i % rows] : 0, b = i < M ? t.hi[i % rows] : 0;
                if (b <= a) { /* sees nothing of this block: a zero row of P */
                    memset(s + u0, 0, (size_t)(u1 - u0) * sizeof *s);
                    continue;
                }
                float alpha = k->softmax_row(s, u0, u1, a, b, &m[i], &l[i]);
                if (alpha != 1) {
                    float *o = Op + (size_t)i * hd;
                    for (int e = 0; e < hd; e++) o[e] *= alpha;
                }
            }
            k->pv(S, ATTN_STRIP_LD, u0, u1, Vb, A->kv_stride, hd, Op + (size_t)i0 * hd);
        }
    }
    FN(tile_write_out)(&t, sh, A, Op, m, l);
}
#endif

/* The forward's tasks (a tile of query rows x one KV group each, the last tiles, which see the most keys,
 * first): attn_fwd (amax NULL) or attn_argmax. */
static void FN(attn_tasks)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A, int32_t *amax) {
    int KVH = sh->num_kv_heads, hd = sh->head_dim, group = sh->num_heads / KVH;
    size_t nq = A->nq;
    if (nq == 0) return;
    int R = attn_tile_rows(group);
    long nchunks = (long)((nq + (size_t)R - 1) / (size_t)R), ntasks = nchunks * KVH;
    int avx2 = duo_cpu_has_avx2();
    size_t bytes = FN(tile_bytes)(R * group, R, hd, 2, 1, 2);
    const void *fused = NULL; /* the fused kernels (float forward, tiles of ATTN_SMALL_M rows and more) */
    const void *small = NULL; /* the same kernels' decode-sized loops (tiles under ATTN_SMALL_M rows) */
    const float *Kt_call = NULL; /* [KVH][hd][attn_fused_ld(nk)] the keys transposed once (fused) */
#ifdef ATTN_FUSED
    small = attn_fused_pick(hd);
    if (!amax) fused = small;
    bytes += cpu_scratch_round((size_t)hd * ATTN_KEYS * sizeof(T)) + ATTN_STRIP_BYTES; /* its Kt and strip */
    if (fused && attn_fused_call_fits(A->nk, KVH, hd, 1) && nq * (size_t)group >= ATTN_SMALL_M) {
        float *kt = (float *)cpu_scratch_slot(CPU_SCRATCH_ATTN_CALL, attn_fused_ld(A->nk) * KVH * hd * sizeof(float));
        if (kt) attn_fused_transpose(A->K, A->kv_stride, A->nk, KVH, hd, kt);
        Kt_call = kt; /* NULL (out of memory): the tiles pack their own */
    }
#endif
    (void)fused;
    (void)Kt_call;
    int oom = 0;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1); /* parallelism comes from the tasks below */
#pragma omp parallel
    {
        unsigned char *arena = cpu_scratch_slot(CPU_SCRATCH_ATTN_TILE, bytes);
        if (!arena) {
#pragma omp atomic write
            oom = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < ntasks; t++) {
            if (!arena) continue;
            long c = nchunks - 1 - t / KVH;
            size_t r0 = (size_t)c * (size_t)R, r1 = r0 + (size_t)R < nq ? r0 + (size_t)R : nq;
            int nrows = (int)(r1 - r0), g = (int)(t % KVH);
#ifdef ATTN_FUSED
            if (fused && nrows * group >= ATTN_SMALL_M) {
                FN(fused_fwd_tile)(fused, sh, A, g, r0, nrows, Kt_call, arena);
                continue;
            }
#endif
            FN(fwd_tile)(avx2, small, sh, A, g, r0, nrows, arena, amax);
        }
    }
    openblas_set_num_threads(blas_threads);
    if (oom) BACKEND_FAIL(be, "attention", "out of memory for a %zu-byte tile scratch", bytes);
}

static void FN(attn_fwd)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A) {
    FN(attn_tasks)(be, sh, A, NULL);
}

/* attn_argmax (kernels/ops.h): per query row and query head, the key row of the largest visible scaled
 * score. */
static void FN(attn_argmax)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A, int32_t *amax) {
    FN(attn_tasks)(be, sh, A, amax);
}

/* The backward of one tile: dV += P^T dO; dP = dO V^T; dS = P (dP - rowsum(dO*O)) scale; dQ = dS K;
 * dK += dS^T Q, block by block, P from the saved log-sum-exp. */
static void FN(bwd_tile)(int avx2, const void *fused, const T *KVt_call, const duo_attn_shape *sh,
                         const duo_attn_args *A, int g, size_t r0, int rows, unsigned char *arena) {
    FN(attn_tile) t;
    unsigned char *cur = arena;
    FN(tile_begin)(&t, sh, A, g, r0, rows, &cur);
    int M = t.M, hd = t.hd, H = sh->num_heads;
    size_t ks = A->kv_stride, os = A->o_stride;
    T scale = (T)(1.0 / sqrt((double)hd));
    T *dOp = cpu_scratch_take(&cur, (size_t)t.Mp * hd * sizeof(T)); /* [Mp][hd] dO packed (pad rows 0) */
    T *dQp = cpu_scratch_take(&cur, (size_t)M * hd * sizeof(T)); /* [M][hd] dQ accumulated */
    T *dP = cpu_scratch_take(&cur, (size_t)t.Mp * ATTN_KEYS * sizeof(T)); /* [Mp][ATTN_KEYS] dP, then dS */
    T *Kt = cpu_scratch_take(&cur, (size_t)hd * ATTN_KEYS * sizeof(T)); /* [hd][ATTN_KEYS] K or V transposed (fused) */
    T *lse = cpu_scratch_take(&cur, (size_t)M * sizeof(T));      /* [M] */
    T *D = cpu_scratch_take(&cur, (size_t)M * sizeof(T));        /* [M] rowsum(dO * O) */
    const T *O = A->O, *dO = A->dO, *lse_in = A->lse;
    for (int i = 0; i < M; i++) {
        int hh = i / rows, r = i % rows, h = g * t.group + hh;
        size_t q = r0 + (size_t)r;
        const T *o = O + q * os + (size_t)h * hd, *d = dO + q * os + (size_t)h * hd;
        memcpy(dOp + (size_t)i * hd, d, (size_t)hd * sizeof(T));
        T di = 0;
        for (int e = 0; e < hd; e++) di += d[e] * o[e];
        D[i] = di;
        lse[i] = lse_in[q * H + h];
    }
    memset(dOp + (size_t)M * hd, 0, (size_t)(t.Mp - M) * hd * sizeof(T));
    memset(dQp, 0, (size_t)M * hd * sizeof(T));
    const void *small = fused; /* small tiles: the fused kernels' decode-sized loops, like the forward's */
#ifdef ATTN_FUSED
    if (M < ATTN_SMALL_M) fused = NULL;
#else
    (void)Kt;
#endif
    for (int c0 = 0, n0 = 0, bc; (bc = FN(tile_next_block)(&t, &c0, &n0));) {
        size_t krow = attn_col_row(&t.span, n0);
        const T *Kb = FN(kv_at)(A->K, krow, ks, g, hd), *Vb = FN(kv_at)(A->V, krow, ks, g, hd);
        T *dKb = FN(kv_at)(A->dK, krow, ks, g, hd), *dVb = FN(kv_at)(A->dV, krow, ks, g, hd);
#ifdef ATTN_FUSED
        if (fused) { /* the forward's own score kernel, so P = exp(S - lse) is the forward's P */
            const attn_fused_kernels *k = fused;
            if (KVt_call) { /* K and V transposed once for the call: [2][KVH][hd][ld] */
                size_t ld = attn_fused_ld(A->nk), one = ld * (size_t)sh->num_kv_heads * hd;
                const float *kt = KVt_call + (size_t)g * hd * ld + krow;
                attn_fused_scores_all(k, t.Qp, t.Mp, hd, kt, (int)ld, bc, scale, t.S);
                attn_fused_scores_all(k, dOp, t.Mp, hd, kt + one, (int)ld, bc, 1, dP);
            } else {
                attn_fused_pack_t(Kb, ks, bc, hd, k->cw, Kt);
                attn_fused_scores_all(k, t.Qp, t.Mp, hd, Kt, ATTN_KEYS, bc, scale, t.S);
                attn_fused_pack_t(Vb, ks, bc, hd, k->cw, Kt);
                attn_fused_scores_all(k, dOp, t.Mp, hd, Kt, ATTN_KEYS, bc, 1, dP);
            }
        } else
#endif
        {
            FN(tile_scores)(avx2, small, &t, t.Qp, Kb, ks, bc, t.S, scale);
            FN(tile_scores)(avx2, small, &t, dOp, Vb, ks, bc, dP, 1);
        }
        FN(probs_dscores)(avx2, t.S, dP, ATTN_KEYS, M, rows, bc, t.lo, t.hi, scale, lse, D);
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, bc, hd, M, 1, t.S, ATTN_KEYS, dOp, hd, 1, dVb, (int)ks);
        FN(tile_pv)(avx2, small, &t, dP, Kb, ks, bc, dQp);
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, bc, hd, M, 1, dP, ATTN_KEYS, t.Qp, hd, 1, dKb, (int)ks);
    }
    T *dQ = A->dQ;
    for (int i = 0; i < M; i++) {
        int hh = i / rows, r = i % rows, h = g * t.group + hh;
        memcpy(dQ + (r0 + (size_t)r) * A->q_stride + (size_t)h * hd, dQp + (size_t)i * hd, (size_t)hd * sizeof(T));
    }
}

/* One task per KV group, so the dK/dV rows it accumulates into are its own; its tiles in order. */
static void FN(attn_bwd)(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *A) {
    int KVH = sh->num_kv_heads, hd = sh->head_dim, group = sh->num_heads / KVH;
    size_t nq = A->nq;
    if (nq == 0) return;
    int R = attn_tile_rows(group);
    int avx2 = duo_cpu_has_avx2();
    size_t bytes = FN(tile_bytes)(R * group, R, hd, 3, 2, 2) + cpu_scratch_round((size_t)hd * ATTN_KEYS * sizeof(T));
    const void *fused = NULL;
    const T *KVt_call = NULL; /* [2][KVH][hd][attn_fused_ld(nk)] K and V transposed once (fused) */
#ifdef ATTN_FUSED
    fused = attn_fused_pick(hd);
    if (fused && attn_fused_call_fits(A->nk, KVH, hd, 2) && nq * (size_t)group >= ATTN_SMALL_M) {
        size_t one = attn_fused_ld(A->nk) * KVH * hd;
        float *kvt = (float *)cpu_scratch_slot(CPU_SCRATCH_ATTN_CALL, 2 * one * sizeof(float));
        if (kvt) {
            attn_fused_transpose(A->K, A->kv_stride, A->nk, KVH, hd, kvt);
            attn_fused_transpose(A->V, A->kv_stride, A->nk, KVH, hd, kvt + one);
        }
        KVt_call = kvt;
    }
#endif
    int oom = 0;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel
    {
        unsigned char *arena = cpu_scratch_slot(CPU_SCRATCH_ATTN_TILE, bytes);
        if (!arena) {
#pragma omp atomic write
            oom = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < KVH; g++) {
            if (!arena) continue;
            for (size_t r0 = 0; r0 < nq; r0 += (size_t)R) {
                size_t r1 = r0 + (size_t)R < nq ? r0 + (size_t)R : nq;
                FN(bwd_tile)(avx2, fused, KVt_call, sh, A, g, r0, (int)(r1 - r0), arena);
            }
        }
    }
    openblas_set_num_threads(blas_threads);
    if (oom) BACKEND_FAIL(be, "attention", "out of memory for a %zu-byte tile scratch", bytes);
}
