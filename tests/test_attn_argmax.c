/* The attention argmax op (kernels/ops.h attn_argmax) of the CPU backend, float32 and float64, against a
 * naive loop over every key row and attn_mask_visible: ragged query counts (across the 64-row chunks),
 * GQA and MHA, full attention and both streaming forms, dense and gapped key positions (a sink + recent
 * cache, the training cone), a query that sees no key, and exact ties (the first key row wins). */
#include <stdint.h>

#include "harness.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

typedef struct {
    int H, KVH, hd;
    duo_attn_mask mask;
    size_t nq, nk;
    int32_t *qpos, *kpos; /* [nq], [nk] (kpos NULL: row = position) */
    double *Q, *K;        /* [nq][H*hd], [nk][KVH*hd] */
} argmax_case;

/* The naive answer: over every key row j the mask lets query r see, the largest scaled dot product, the
 * first of equal ones. */
static void naive_argmax(const argmax_case *c, int f64, int32_t *out) {
    int group = c->H / c->KVH;
    for (size_t r = 0; r < c->nq; r++)
        for (int h = 0; h < c->H; h++) {
            int best = -1;
            double mx = 0;
            for (size_t j = 0; j < c->nk; j++) {
                long long p = c->kpos ? c->kpos[j] : (long long)j;
                if (!attn_mask_visible(&c->mask, c->qpos[r], p)) continue;
                double dot = 0;
                float dotf = 0;
                for (int e = 0; e < c->hd; e++) {
                    double a = c->Q[r * (size_t)c->H * c->hd + (size_t)h * c->hd + e];
                    double b = c->K[j * (size_t)c->KVH * c->hd + (size_t)(h / group) * c->hd + e];
                    dot += a * b;
                    dotf += (float)a * (float)b;
                }
                double v = f64 ? dot / sqrt((double)c->hd) : (double)(dotf * (float)(1.0 / sqrt((double)c->hd)));
                if (best < 0 || v > mx) {
                    mx = v;
                    best = (int)j;
                }
            }
            out[r * (size_t)c->H + (size_t)h] = best;
        }
}

/* Runs the op on backend f64 (0: float32) into out [nq][H]. */
static int run_op(const argmax_case *c, int f64, int32_t *out) {
    duo_backend *be = backend_cpu_create(f64, NULL);
    if (!be) return -1;
    size_t nQ = c->nq * (size_t)c->H * c->hd, nK = c->nk * (size_t)c->KVH * c->hd;
    void *Q = malloc(nQ * be->act_size), *K = malloc(nK * be->act_size);
    for (size_t i = 0; i < nQ; i++) {
        if (f64) ((double *)Q)[i] = c->Q[i];
        else ((float *)Q)[i] = (float)c->Q[i];
    }
    for (size_t i = 0; i < nK; i++) {
        if (f64) ((double *)K)[i] = c->K[i];
        else ((float *)K)[i] = (float)c->K[i];
    }
    duo_attn_shape sh = {c->H, c->KVH, c->hd, c->mask};
    duo_attn_args a = {.nq = c->nq, .nk = c->nk, .qpos = c->qpos, .kpos = c->kpos, .Q = Q, .K = K,
                       .q_stride = (size_t)c->H * c->hd, .kv_stride = (size_t)c->KVH * c->hd};
    for (size_t i = 0; i < c->nq * (size_t)c->H; i++) out[i] = -7; /* every entry must be written */
    be->ops->attn_argmax(be, &sh, &a, out);
    int failed = be->failed;
    free(Q);
    free(K);
    backend_free(be);
    return failed ? -1 : 0;
}

/* quant > 0: values on a grid of 1/quant in [-1, 1] (exact products: ties happen and are exact). */
static void fill(argmax_case *c, double quant) {
    size_t nQ = c->nq * (size_t)c->H * c->hd, nK = c->nk * (size_t)c->KVH * c->hd;
    c->Q = malloc(nQ * sizeof *c->Q);
    c->K = malloc(nK * sizeof *c->K);
    for (size_t i = 0; i < nQ; i++) c->Q[i] = quant > 0 ? floor(urand() * 3) / quant - 1 / quant : 2 * urand() - 1;
    for (size_t i = 0; i < nK; i++) c->K[i] = quant > 0 ? floor(urand() * 3) / quant - 1 / quant : 2 * urand() - 1;
}

/* Compares the op with the naive loop on both element types; returns the number of (row, head) entries
 * that are -1 (queries seeing no key), or -1 on a mismatch (message in t). */
static long compare(test_ctx *t, const char *what, argmax_case *c, double quant) {
    fill(c, quant);
    long none = 0;
    size_t n = c->nq * (size_t)c->H;
    int32_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    long rc = 0;
    for (int f64 = 0; f64 <= 1 && !rc; f64++) {
        naive_argmax(c, f64, want);
        if (run_op(c, f64, got)) {
            snprintf(t->msg, sizeof t->msg, "%s: the op failed", what);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < n && !rc; i++)
            if (got[i] != want[i]) {
                snprintf(t->msg, sizeof t->msg, "%s (%s): row %zu head %zu: key row %d, naive %d", what,
                         f64 ? "f64" : "f32", i / (size_t)c->H, i % (size_t)c->H, got[i], want[i]);
                rc = -1;
            }
        if (f64)
            for (size_t i = 0; i < n; i++) none += want[i] < 0;
    }
    free(want);
    free(got);
    free(c->Q);
    free(c->K);
    return rc ? -1 : none;
}

static int32_t *positions(size_t n, long long first) {
    int32_t *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (int32_t)(first + (long long)i);
    return p;
}

/* Dense keys 0..n-1, queries at the same positions (prefill), ragged n, every mask kind. */
TEST(dense_prefill_all_masks) {
    const size_t ns[] = {1, 5, 63, 64, 65, 200, 300};
    const duo_attn_mask masks[] = {{ATTN_FULL, 0, 0}, {ATTN_STREAM_SDPA, 4, 16}, {ATTN_STREAM_SDPA, 0, 1},
                                   {ATTN_STREAM_BLOCKSPARSE, 16, 64}, {ATTN_STREAM_BLOCKSPARSE, 130, 256}};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        for (size_t k = 0; k < sizeof masks / sizeof *masks; k++) {
            argmax_case c = {8, 2, 8, masks[k], ns[i], ns[i], positions(ns[i], 0), NULL, NULL, NULL};
            char what[96];
            snprintf(what, sizeof what, "n %zu mask %s(%d,%d)", ns[i], attn_kind_name(masks[k].kind),
                     masks[k].sink_size, masks[k].recent_size);
            long r = compare(t, what, &c, 0);
            free(c.qpos);
            if (r < 0) { t->failed = 1; return; }
        }
}

/* MHA and GQA group sizes, a chunk of queries after a cache (qpos starting past 0). */
TEST(gqa_and_mha_chunk_after_cache) {
    const int shapes[][3] = {{4, 4, 16}, {6, 3, 8}, {8, 1, 4}, {12, 4, 32}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t past = 150, m = 70;
        argmax_case c = {shapes[s][0], shapes[s][1], shapes[s][2], {ATTN_FULL, 0, 0}, m, past + m,
                         positions(m, (long long)past), NULL, NULL, NULL};
        char what[64];
        snprintf(what, sizeof what, "H %d KVH %d hd %d", shapes[s][0], shapes[s][1], shapes[s][2]);
        long r = compare(t, what, &c, 0);
        free(c.qpos);
        if (r < 0) { t->failed = 1; return; }
    }
}

/* A streaming cache: keys at [0, sink) and [T - recent, T) then the chunk; one decoding query and a chunk;
 * the cone's gapped rows under both streaming forms. */
TEST(gapped_key_positions) {
    int sink = 4, recent = 16, T = 500;
    size_t nk = (size_t)(sink + recent) + 1;
    int32_t *kpos = malloc(nk * sizeof *kpos);
    for (int i = 0; i < sink; i++) kpos[i] = i;
    for (int i = 0; i < recent; i++) kpos[sink + i] = T - recent + i;
    kpos[nk - 1] = T;
    int32_t q = T;
    argmax_case dec = {4, 2, 8, {ATTN_FULL, 0, 0}, 1, nk, &q, kpos, NULL, NULL};
    if (compare(t, "decode over a sink + recent cache", &dec, 0) < 0) { free(kpos); t->failed = 1; return; }
    free(kpos);
    /* the cone: sorted positions with holes, queries a subset of them */
    size_t nk2 = 0;
    int32_t *kp = malloc(1000 * sizeof *kp), *qp = malloc(1000 * sizeof *qp);
    size_t nq2 = 0;
    for (int p = 0; p < 900; p++) {
        if (p < 40 || (p > 300 && p % 3) || p > 700) kp[nk2++] = p;
        if (p > 650 && p % 2 && (p < 40 || (p > 300 && p % 3) || p > 700)) qp[nq2++] = p;
    }
    const duo_attn_mask masks[] = {{ATTN_STREAM_SDPA, 20, 100}, {ATTN_STREAM_BLOCKSPARSE, 16, 256},
                                   {ATTN_FULL, 0, 0}};
    for (size_t k = 0; k < sizeof masks / sizeof *masks; k++) {
        argmax_case c = {6, 2, 16, masks[k], nq2, nk2, qp, kp, NULL, NULL};
        char what[64];
        snprintf(what, sizeof what, "cone rows, mask %s", attn_kind_name(masks[k].kind));
        if (compare(t, what, &c, 0) < 0) { t->failed = 1; break; }
    }
    free(kp);
    free(qp);
}

/* A query row whose visible keys are all absent from the rows gets -1 (and the others still agree). */
TEST(query_seeing_no_key_is_minus_one) {
    int32_t kpos[] = {0, 1, 2, 3, 200, 201, 202};
    int32_t qpos[] = {2, 100, 201};
    argmax_case c = {4, 2, 8, {ATTN_STREAM_SDPA, 0, 8}, 3, 7, qpos, kpos, NULL, NULL};
    long none = compare(t, "no visible key", &c, 0);
    if (none < 0) { t->failed = 1; return; }
    CHECK_EQ_INT(none, 4); /* query 100 sees positions 93..100: none are rows; 4 heads */
}

/* Exact ties (values on a coarse grid, small head_dim): the first key row wins, as the naive loop. */
TEST(ties_take_the_first_key_row) {
    const duo_attn_mask masks[] = {{ATTN_FULL, 0, 0}, {ATTN_STREAM_SDPA, 3, 5}, {ATTN_STREAM_BLOCKSPARSE, 1, 128}};
    for (size_t k = 0; k < sizeof masks / sizeof *masks; k++) {
        argmax_case c = {4, 2, 2, masks[k], 150, 150, positions(150, 0), NULL, NULL, NULL};
        long r = compare(t, "ties", &c, 2);
        free(c.qpos);
        if (r < 0) { t->failed = 1; return; }
    }
}

TEST_MAIN()
