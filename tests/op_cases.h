/* ONE table of op cases (shapes and seeded data generators) that a test runs on two backends and
 * compares, with a tolerance per case: tests/test_composite.c runs it as the CPU's fused ops against
 * the composites on the CPU's primitives, tests/gpu/ as the CPU against CUDA.
 *
 *   op_case_run(&OP_CASES[i], ref, test, &res)   0: compared (res.worst_rel, res.within), -1: a
 *                                                backend failed or an output's guard was overwritten
 *                                                (res.why says which)
 *
 * Data: host doubles from a seeded generator, converted to each backend's activation type (float or
 * double) and weight type (float, double or bf16) and uploaded; outputs downloaded as doubles.  Every
 * output buffer has OC_GUARD elements of a byte pattern on each side, checked after the op (stray
 * writes); in-place and accumulating outputs start from random values.  Error measure per output:
 * max |test - ref| / max |ref| over the tensor (exact equality for integer outputs); res.worst_rel is
 * the worst over the case's outputs.  Tolerances: `tol` for float32/float64 activations and weights,
 * `tol_bf16` when the test backend's weights are bf16 (bf16 GEMM operands).
 *
 * attn_argmax: when ref has no attn_argmax (the CPU's fused entry may be NULL), both are compared with
 * a naive loop over attn_mask_visible in double on the same (rounded) inputs; a choice whose naive score
 * is within 1e-5 relative of the best counts as equal (a near tie rounded the other way). */
#ifndef DUO_TESTS_OP_CASES_H
#define DUO_TESTS_OP_CASES_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/math/bf16.h"
#include "kernels/prims.h"

typedef enum {
    OC_LINEAR, OC_LINEAR_BWD, OC_RMSNORM, OC_RMSNORM_BWD, OC_ROPE_TABLES, OC_ROPE, OC_ADD_BIAS, OC_SWIGLU,
    OC_SWIGLU_BWD, OC_EMBED, OC_LOAD_TENSOR, OC_GATHER, OC_SCATTER_ADD, OC_COPY, OC_COPY_ROWS, OC_PERMUTE, OC_ZERO,
    OC_ARGMAX_ROWS, OC_ATTN_FWD, OC_ATTN_BWD, OC_ATTN_ARGMAX, OC_GATE_BLEND, OC_GATE_BLEND_BWD, OC_SQDIFF_LOSS,
    OC_SQDIFF_GRAD
} oc_kind;

/* Queries of an attention case: every position 0..n-1, the last m positions, or one (the last). */
typedef enum { OCQ_ALL = 0, OCQ_LAST, OCQ_ONE } oc_queries;

typedef struct {
    const char *name;
    oc_kind kind;
    int m, d, d2;   /* rows; row width; second width (nout, heads, table rows, ...) as the op needs */
    double beta;    /* linear / linear_bwd; coef for sqdiff_grad */
    int flag;       /* rmsnorm_bwd accumulate, rope inverse */
    /* attention */
    int n, H, KVH, hd;
    duo_attn_mask mask;
    oc_queries queries;
    int gapped;     /* keys: only the positions some query sees (the cone's gaps), else 0..n-1 */
    int pad;        /* extra elements at the end of every Q/K/V/O row (row strides) */
    double tol, tol_bf16;
} op_case;

#define OC_SDPA(s, r) {ATTN_STREAM_SDPA, s, r}
#define OC_BLOCK(s, r) {ATTN_STREAM_BLOCKSPARSE, s, r}
#define OC_FULL {ATTN_FULL, 0, 0}

/* float32 composite vs fused <= 1e-6 relative (the bound) unless a case says otherwise. */
static const op_case OP_CASES[] = {
    {"linear 37x29->23", OC_LINEAR, 37, 29, 23, 0, 0, .tol = 1e-6, .tol_bf16 = 2e-2},
    {"linear beta 1, one row", OC_LINEAR, 1, 64, 130, 1, 0, .tol = 1e-6, .tol_bf16 = 2e-2},
    {"linear_bwd 33x17<-41", OC_LINEAR_BWD, 33, 17, 41, 0, 0, .tol = 1e-6, .tol_bf16 = 2e-2},
    {"linear_bwd beta 1", OC_LINEAR_BWD, 70, 48, 19, 1, 0, .tol = 1e-6, .tol_bf16 = 2e-2},
    {"rmsnorm 45x37", OC_RMSNORM, 45, 37, 0, .tol = 1e-6, .tol_bf16 = 1e-2},
    {"rmsnorm_bwd", OC_RMSNORM_BWD, 29, 40, 0, 0, 0, .tol = 1e-6, .tol_bf16 = 1e-2},
    {"rmsnorm_bwd accumulate", OC_RMSNORM_BWD, 3, 129, 0, 0, 1, .tol = 1e-6, .tol_bf16 = 1e-2},
    {"rope_tables hd 12, 300 positions", OC_ROPE_TABLES, 300, 12, 0, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"rope 19 rows x 3 heads x 8", OC_ROPE, 19, 8, 3, 0, 0, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"rope inverse", OC_ROPE, 7, 16, 2, 0, 1, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"add_bias_rows", OC_ADD_BIAS, 13, 21, 0, .tol = 1e-6, .tol_bf16 = 1e-2},
    {"swiglu 1001", OC_SWIGLU, 1001, 1, 0, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"swiglu_bwd 777", OC_SWIGLU_BWD, 777, 1, 0, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"embed 9 ids from a bf16 table", OC_EMBED, 9, 24, 31, .tol = 0, .tol_bf16 = 0},
    {"load_tensor bf16 -> weights", OC_LOAD_TENSOR, 7, 33, 0, .tol = 0, .tol_bf16 = 0},
    {"gather_rows", OC_GATHER, 11, 13, 17, .tol = 0, .tol_bf16 = 0},
    {"scatter_add_rows", OC_SCATTER_ADD, 8, 15, 20, .tol = 1e-7, .tol_bf16 = 1e-7},
    {"copy 1234", OC_COPY, 1234, 1, 0, .tol = 0, .tol_bf16 = 0},
    {"copy_rows strided", OC_COPY_ROWS, 9, 10, 3, .tol = 0, .tol_bf16 = 0},
    {"permute_heads", OC_PERMUTE, 6, 5, 4, .tol = 0, .tol_bf16 = 0},
    {"zero 333", OC_ZERO, 333, 1, 0, .tol = 0, .tol_bf16 = 0},
    {"argmax_rows", OC_ARGMAX_ROWS, 17, 301, 0, .tol = 0, .tol_bf16 = 0},
    {"gate_blend GQA 4", OC_GATE_BLEND, 23, 8, 0, .H = 8, .KVH = 2, .hd = 8, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"gate_blend_bwd GQA 4", OC_GATE_BLEND_BWD, 23, 8, 0, .H = 8, .KVH = 2, .hd = 8, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"gate_blend_bwd MHA", OC_GATE_BLEND_BWD, 5, 8, 0, .H = 3, .KVH = 3, .hd = 16, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"sqdiff_loss", OC_SQDIFF_LOSS, 31, 45, 0, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"sqdiff_grad", OC_SQDIFF_GRAD, 500, 1, 0, -0.125, .tol = 1e-6, .tol_bf16 = 1e-6},
    /* attention: ragged n, windows longer than n, the cone's gapped keys, one query, GQA 1-8, strides */
    {"attn full n 77 MHA", OC_ATTN_FWD, .n = 77, .H = 2, .KVH = 2, .hd = 8, .mask = OC_FULL, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn sdpa n 301 GQA 2", OC_ATTN_FWD, .n = 301, .H = 4, .KVH = 2, .hd = 16, .mask = OC_SDPA(5, 37), .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn sdpa window > n", OC_ATTN_FWD, .n = 50, .H = 3, .KVH = 1, .hd = 8, .mask = OC_SDPA(4, 400), .pad = 3, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn blocksparse n 400 GQA 8", OC_ATTN_FWD, .n = 400, .H = 8, .KVH = 1, .hd = 8, .mask = OC_BLOCK(10, 100), .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn cone gapped sdpa last 40", OC_ATTN_FWD, 40, .n = 333, .H = 6, .KVH = 2, .hd = 8, .mask = OC_SDPA(7, 20), .queries = OCQ_LAST, .gapped = 1, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn cone gapped blocksparse", OC_ATTN_FWD, 70, .n = 520, .H = 4, .KVH = 4, .hd = 4, .mask = OC_BLOCK(3, 130), .queries = OCQ_LAST, .gapped = 1, .pad = 1, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn one query full", OC_ATTN_FWD, .n = 129, .H = 5, .KVH = 1, .hd = 8, .mask = OC_FULL, .queries = OCQ_ONE, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn one query sdpa gapped", OC_ATTN_FWD, .n = 200, .H = 2, .KVH = 1, .hd = 8, .mask = OC_SDPA(4, 16), .queries = OCQ_ONE, .gapped = 1, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn_bwd full n 65 GQA 3", OC_ATTN_BWD, .n = 65, .H = 6, .KVH = 2, .hd = 8, .mask = OC_FULL, .pad = 2, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn_bwd sdpa n 300", OC_ATTN_BWD, .n = 300, .H = 4, .KVH = 2, .hd = 8, .mask = OC_SDPA(5, 40), .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn_bwd sdpa window > n GQA 8", OC_ATTN_BWD, .n = 33, .H = 8, .KVH = 1, .hd = 4, .mask = OC_SDPA(2, 100), .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn_bwd blocksparse n 390", OC_ATTN_BWD, .n = 390, .H = 2, .KVH = 1, .hd = 8, .mask = OC_BLOCK(20, 130), .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn_bwd cone gapped sdpa", OC_ATTN_BWD, 30, .n = 260, .H = 4, .KVH = 1, .hd = 8, .mask = OC_SDPA(6, 25), .queries = OCQ_LAST, .gapped = 1, .pad = 3, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn_bwd cone gapped blocksparse", OC_ATTN_BWD, 50, .n = 600, .H = 3, .KVH = 3, .hd = 8, .mask = OC_BLOCK(1, 129), .queries = OCQ_LAST, .gapped = 1, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn_bwd one query", OC_ATTN_BWD, .n = 90, .H = 4, .KVH = 4, .hd = 8, .mask = OC_SDPA(3, 9), .queries = OCQ_ONE, .tol = 1e-6, .tol_bf16 = 1e-6},
    {"attn_argmax full GQA 2", OC_ATTN_ARGMAX, .n = 150, .H = 4, .KVH = 2, .hd = 8, .mask = OC_FULL, .tol = 0, .tol_bf16 = 0},
    {"attn_argmax sdpa gapped", OC_ATTN_ARGMAX, 60, .n = 300, .H = 8, .KVH = 1, .hd = 4, .mask = OC_SDPA(4, 32), .queries = OCQ_LAST, .gapped = 1, .tol = 0, .tol_bf16 = 0},
    {"attn_argmax blocksparse", OC_ATTN_ARGMAX, .n = 280, .H = 2, .KVH = 2, .hd = 8, .mask = OC_BLOCK(5, 128), .pad = 2, .tol = 0, .tol_bf16 = 0},
    {"attn_argmax one query", OC_ATTN_ARGMAX, .n = 77, .H = 3, .KVH = 1, .hd = 8, .mask = OC_SDPA(2, 10), .queries = OCQ_ONE, .tol = 0, .tol_bf16 = 0},
};
#define OP_CASES_COUNT (sizeof OP_CASES / sizeof OP_CASES[0])

typedef struct {
    double worst_rel;  /* worst over the outputs (see the header comment) */
    int within;        /* worst_rel <= the case's tolerance (and every integer output equal) */
    char why[512];     /* when op_case_run returned -1, or which output was worst */
} oc_result;

/* ---- data ------------------------------------------------------------------------------------- */
static inline double oc_rand(uint64_t *s) { /* uniform in [-1, 1) */
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 4503599627370496.0 - 1.0;
}
static inline void oc_fill(double *x, size_t n, uint64_t seed, double scale) {
    uint64_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) x[i] = scale * oc_rand(&s);
}

#define OC_GUARD 16
#define OC_GUARD_BYTE 0xA5
#define OC_MAXBUF 24

/* The buffers of one case on one backend (freed together). */
typedef struct {
    duo_backend *be;
    void *base[OC_MAXBUF];
    size_t bytes[OC_MAXBUF]; /* payload bytes */
    int nb;
} oc_arena;

static inline size_t oc_es(duo_elem t) { return duo_elem_size(t); }

static inline void oc_to_type(const double *x, size_t n, duo_elem t, void *out) {
    for (size_t i = 0; i < n; i++) {
        if (t == DUO_E_F64) ((double *)out)[i] = x[i];
        else if (t == DUO_E_F32) ((float *)out)[i] = (float)x[i];
        else ((uint16_t *)out)[i] = duo_f64_to_bf16(x[i]);
    }
}

static inline double oc_from_type(const void *p, duo_elem t, size_t i) {
    return t == DUO_E_F64 ? ((const double *)p)[i] : t == DUO_E_F32 ? ((const float *)p)[i]
                                                                      : duo_bf16_to_f32(((const uint16_t *)p)[i]);
}

/* A backend buffer of `bytes` with guards, initialised from host bytes (NULL: the guard pattern). */
static inline void *oc_put_bytes(oc_arena *A, const void *host, size_t bytes) {
    if (A->nb == OC_MAXBUF) return NULL;
    duo_backend *be = A->be;
    size_t total = bytes + 2 * OC_GUARD * 8;
    unsigned char *h = malloc(total);
    if (!h) return NULL;
    memset(h, OC_GUARD_BYTE, total);
    if (host) memcpy(h + OC_GUARD * 8, host, bytes);
    void *d = be->ops->alloc(be, total);
    if (d) be->ops->upload(be, d, h, total);
    free(h);
    if (!d) return NULL;
    A->base[A->nb] = d;
    A->bytes[A->nb++] = bytes;
    return (char *)d + OC_GUARD * 8;
}

/* n values as elements of type t. */
static inline void *oc_put(oc_arena *A, const double *x, size_t n, duo_elem t) {
    size_t es = oc_es(t);
    void *h = malloc(n * es + 1);
    if (!h) return NULL;
    oc_to_type(x, n, t, h);
    void *d = oc_put_bytes(A, h, n * es);
    free(h);
    return d;
}
static inline void *oc_act(oc_arena *A, const double *x, size_t n) { return oc_put(A, x, n, (duo_elem)A->be->act_type); }
static inline void *oc_wt(oc_arena *A, const double *x, size_t n) { return oc_put(A, x, n, (duo_elem)A->be->weight_type); }

/* Downloads a buffer made by oc_put_bytes (payload into host, `bytes`), checking its guards; -1 if
 * overwritten. */
static inline int oc_get_bytes(oc_arena *A, const void *p, void *host, size_t bytes) {
    int k = -1;
    for (int i = 0; i < A->nb; i++)
        if ((char *)A->base[i] + OC_GUARD * 8 == p) k = i;
    if (k < 0) return -1;
    size_t total = A->bytes[k] + 2 * OC_GUARD * 8;
    unsigned char *h = malloc(total);
    if (!h) return -1;
    A->be->ops->download(A->be, h, A->base[k], total);
    int ok = 1;
    for (size_t i = 0; i < OC_GUARD * 8; i++)
        if (h[i] != OC_GUARD_BYTE || h[total - 1 - i] != OC_GUARD_BYTE) ok = 0;
    memcpy(host, h + OC_GUARD * 8, bytes);
    free(h);
    return ok ? 0 : -1;
}

static inline int oc_get(oc_arena *A, const void *p, size_t n, duo_elem t, double *out) {
    size_t es = oc_es(t);
    void *h = malloc(n * es + 1);
    if (!h) return -1;
    int rc = oc_get_bytes(A, p, h, n * es);
    for (size_t i = 0; i < n; i++) out[i] = oc_from_type(h, t, i);
    free(h);
    return rc;
}

static inline void oc_free_all(oc_arena *A) {
    for (int i = 0; i < A->nb; i++) A->be->ops->free(A->be, A->base[i]);
    A->nb = 0;
}

/* ---- comparing -------------------------------------------------------------------------------- */
typedef struct {
    double worst;
    const char *worst_name;
    int int_mismatch;
    char why[512];
} oc_cmp_state;

static inline void oc_cmp(oc_cmp_state *st, const char *name, const double *test, const double *ref, size_t n) {
    double mx = 0, md = 0;
    for (size_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(ref[i]));
        double d = fabs(test[i] - ref[i]);
        if (d != d || (test[i] != ref[i] && isinf(test[i]))) d = INFINITY;
        md = fmax(md, d);
    }
    double rel = mx > 0 ? md / mx : md;
    if (rel > st->worst || !st->worst_name) {
        st->worst = rel > st->worst ? rel : st->worst;
        st->worst_name = name;
    }
}

static inline void oc_cmp_ints(oc_cmp_state *st, const char *name, const int32_t *test, const int32_t *ref, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (test[i] != ref[i]) {
            if (!st->int_mismatch)
                snprintf(st->why, sizeof st->why, "%s[%zu] = %d, expected %d", name, i, test[i], ref[i]);
            st->int_mismatch = 1;
            return;
        }
}

/* ---- attention operands ----------------------------------------------------------------------- */
typedef struct {
    size_t nq, nk;
    int32_t *qpos, *kpos; /* host; kpos NULL: dense */
    size_t qs, ks, os;
} oc_attn_layout;

static inline int oc_attn_layout_make(const op_case *c, oc_attn_layout *L) {
    memset(L, 0, sizeof *L);
    int n = c->n;
    L->nq = c->queries == OCQ_ALL ? (size_t)n : c->queries == OCQ_ONE ? 1 : (size_t)c->m;
    L->qpos = malloc(L->nq * sizeof *L->qpos);
    if (!L->qpos) return -1;
    for (size_t i = 0; i < L->nq; i++) L->qpos[i] = (int32_t)(n - (int)L->nq + (int)i);
    if (c->gapped) {
        L->kpos = malloc((size_t)n * sizeof *L->kpos);
        if (!L->kpos) return -1;
        for (int j = 0; j < n; j++) {
            int seen = 0;
            for (size_t i = 0; i < L->nq && !seen; i++) seen = attn_mask_visible(&c->mask, L->qpos[i], j);
            if (seen) L->kpos[L->nk++] = j;
        }
    } else L->nk = (size_t)n;
    L->qs = (size_t)c->H * c->hd + (size_t)c->pad;
    L->ks = (size_t)c->KVH * c->hd + (size_t)c->pad;
    L->os = L->qs;
    return 0;
}

static inline void oc_attn_layout_free(oc_attn_layout *L) {
    free(L->qpos);
    free(L->kpos);
}

/* Naive argmax for query row i, head h over the visible key rows (scores in double), and the best
 * score itself; -1 when none is visible. */
static inline int oc_naive_argmax(const op_case *c, const oc_attn_layout *L, const double *Q, const double *K, size_t i,
                                  int h, double *best_out) {
    int group = c->H / c->KVH, g = h / group, best = -1;
    double bs = 0;
    for (size_t r = 0; r < L->nk; r++) {
        long long j = L->kpos ? L->kpos[r] : (long long)r;
        if (!attn_mask_visible(&c->mask, L->qpos[i], j)) continue;
        double s = 0;
        for (int e = 0; e < c->hd; e++) s += Q[i * L->qs + (size_t)h * c->hd + e] * K[r * L->ks + (size_t)g * c->hd + e];
        if (best < 0 || s > bs) {
            bs = s;
            best = (int)r;
        }
    }
    *best_out = bs;
    return best;
}

static inline double oc_naive_score(const op_case *c, const oc_attn_layout *L, const double *Q, const double *K,
                                    size_t i, int h, int r) {
    int g = h / (c->H / c->KVH);
    double s = 0;
    for (int e = 0; e < c->hd; e++) s += Q[i * L->qs + (size_t)h * c->hd + e] * K[(size_t)r * L->ks + (size_t)g * c->hd + e];
    return s;
}

/* Host values rounded to a backend's activation type (what it actually computes on). */
static inline void oc_round_act(duo_backend *be, double *x, size_t n) {
    if (be->act_type == DUO_E_F32)
        for (size_t i = 0; i < n; i++) x[i] = (float)x[i];
}

/* ---- running one case on one backend ------------------------------------------------------------ */
#define OC_MAXOUT 6
typedef struct {
    const char *name[OC_MAXOUT];
    double *val[OC_MAXOUT];
    size_t n[OC_MAXOUT];
    int32_t *ival[OC_MAXOUT];
    int nout, niout;
    const char *iname[OC_MAXOUT];
    size_t in[OC_MAXOUT];
} oc_outputs;

static inline void oc_outputs_free(oc_outputs *o) {
    for (int i = 0; i < o->nout; i++) free(o->val[i]);
    for (int i = 0; i < o->niout; i++) free(o->ival[i]);
    memset(o, 0, sizeof *o);
}

/* Reads an act/weight output into o (guards checked). */
static inline int oc_take(oc_arena *A, oc_outputs *o, const char *name, const void *p, size_t n, duo_elem t) {
    double *v = malloc((n + 1) * sizeof *v);
    if (!v || o->nout == OC_MAXOUT) {
        free(v);
        return -1;
    }
    int rc = oc_get(A, p, n, t, v);
    o->name[o->nout] = name;
    o->val[o->nout] = v;
    o->n[o->nout++] = n;
    return rc;
}
static inline int oc_take_ints(oc_arena *A, oc_outputs *o, const char *name, const void *p, size_t n) {
    int32_t *v = malloc((n + 1) * sizeof *v);
    if (!v || o->niout == OC_MAXOUT) {
        free(v);
        return -1;
    }
    int rc = oc_get_bytes(A, p, v, n * sizeof *v);
    o->iname[o->niout] = name;
    o->ival[o->niout] = v;
    o->in[o->niout++] = n;
    return rc;
}

/* An in-memory bf16 checkpoint tensor [rows][cols] from seeded values (bits: caller frees). */
static inline duo_tensor oc_bf16_tensor(int rows, int cols, uint64_t seed, uint16_t **bits) {
    size_t n = (size_t)rows * cols;
    double *x = malloc(n * sizeof *x);
    unsigned char *b = malloc(2 * n + 1);
    if (x && b) {
        oc_fill(x, n, seed, 1.5);
        for (size_t i = 0; i < n; i++) {
            uint16_t h = duo_f64_to_bf16(x[i]);
            b[2 * i] = (unsigned char)(h & 0xff);
            b[2 * i + 1] = (unsigned char)(h >> 8);
        }
    }
    free(x);
    *bits = (uint16_t *)(void *)b;
    duo_tensor t;
    memset(&t, 0, sizeof t);
    t.name = "op_case.table";
    t.dtype = DUO_BF16;
    t.ndim = 2;
    t.shape[0] = rows;
    t.shape[1] = cols;
    t.data = b;
    t.nbytes = 2 * n;
    t.file = "(op_cases.h)";
    return t;
}

/* Runs case c on backend be; its outputs into o.  0, or -1 with why set. */
static inline int oc_run_one(const op_case *c, duo_backend *be, oc_outputs *o, char *why, size_t why_cap) {
    oc_arena A = {.be = be};
    const duo_ops *op = be->ops;
    duo_elem at = (duo_elem)be->act_type, wt = (duo_elem)be->weight_type;
    int m = c->m, d = c->d, d2 = c->d2, rc = 0, guard_bad = 0;
    size_t big = 0;
    /* the largest host array any case needs */
    if (c->kind >= OC_ATTN_FWD && c->kind <= OC_ATTN_ARGMAX) big = (size_t)c->n * ((size_t)c->H * c->hd + c->pad + 8);
    else big = (size_t)(m + 2) * (size_t)(d + 2) * (size_t)(d2 + 2) + (size_t)c->H * c->hd * (m + 2);
    double *h1 = calloc(big, sizeof *h1), *h2 = calloc(big, sizeof *h2), *h3 = calloc(big, sizeof *h3),
           *h4 = calloc(big, sizeof *h4);
    if (!h1 || !h2 || !h3 || !h4) {
        snprintf(why, why_cap, "out of host memory");
        rc = -1;
        goto done;
    }
    uint64_t seed = 1000 + (uint64_t)c->kind * 77 + (uint64_t)m * 3 + (uint64_t)d;
#define OC_TAKE(name, p, n, t) guard_bad |= oc_take(&A, o, name, p, n, t)
    switch (c->kind) {
    case OC_LINEAR:
    case OC_LINEAR_BWD: {
        /* linear: X[m][d] W[d2][d]^T -> Y[m][d2];  bwd: dY[m][d] W[d][d2] -> dX[m][d2] */
        int bwd = c->kind == OC_LINEAR_BWD, nout = d2;
        oc_fill(h1, (size_t)m * d, seed, 1);
        oc_fill(h2, (size_t)d * d2, seed + 1, 0.3);
        oc_fill(h3, (size_t)m * nout, seed + 2, 1);
        void *X = oc_act(&A, h1, (size_t)m * d), *W = oc_wt(&A, h2, (size_t)d * d2), *Y = oc_act(&A, h3, (size_t)m * nout);
        if (!X || !W || !Y) break;
        if (bwd) op->linear_bwd(be, X, (size_t)m, d, W, nout, Y, c->beta);
        else op->linear(be, X, (size_t)m, d, W, nout, Y, c->beta);
        OC_TAKE("Y", Y, (size_t)m * nout, at);
        break;
    }
    case OC_RMSNORM:
    case OC_RMSNORM_BWD: {
        oc_fill(h1, (size_t)m * d, seed, 2);
        oc_fill(h2, (size_t)d, seed + 1, 1);
        oc_fill(h3, (size_t)m * d, seed + 2, 1);
        oc_fill(h4, (size_t)m * d, seed + 3, 1);
        void *X = oc_act(&A, h1, (size_t)m * d), *w = oc_wt(&A, h2, (size_t)d), *dY = oc_act(&A, h3, (size_t)m * d);
        void *Y = oc_act(&A, h4, (size_t)m * d);
        if (!X || !w || !dY || !Y) break;
        if (c->kind == OC_RMSNORM) op->rmsnorm(be, X, (size_t)m, d, w, 1e-5, Y);
        else op->rmsnorm_bwd(be, X, (size_t)m, d, w, 1e-6, dY, Y, c->flag);
        OC_TAKE("Y", Y, (size_t)m * d, at);
        break;
    }
    case OC_ROPE_TABLES: {
        double inv[64];
        for (int i = 0; i < d / 2; i++) inv[i] = pow(10000.0, -2.0 * i / d) * (1 + 0.01 * i);
        void *C = oc_act(&A, h1, (size_t)m * (d / 2)), *S = oc_act(&A, h1, (size_t)m * (d / 2));
        if (!C || !S) break;
        op->rope_tables(be, inv, d, (size_t)m, C, S);
        OC_TAKE("cos", C, (size_t)m * (d / 2), at);
        OC_TAKE("sin", S, (size_t)m * (d / 2), at);
        break;
    }
    case OC_ROPE: { /* X[m][d2 heads][d] at random positions of a 64-position table */
        double inv[64];
        for (int i = 0; i < d / 2; i++) inv[i] = pow(10000.0, -2.0 * i / d);
        int32_t pos[256];
        uint64_t s = seed;
        for (int r = 0; r < m; r++) pos[r] = (int32_t)((oc_rand(&s) + 1) * 31.9);
        oc_fill(h1, (size_t)m * d2 * d, seed, 1);
        void *C = oc_act(&A, h2, 64 * (size_t)(d / 2)), *S = oc_act(&A, h2, 64 * (size_t)(d / 2));
        void *X = oc_act(&A, h1, (size_t)m * d2 * d), *P = oc_put_bytes(&A, pos, (size_t)m * sizeof *pos);
        if (!C || !S || !X || !P) break;
        op->rope_tables(be, inv, d, 64, C, S);
        op->rope(be, X, (size_t)m, d2, d, P, C, S, c->flag);
        OC_TAKE("X", X, (size_t)m * d2 * d, at);
        break;
    }
    case OC_ADD_BIAS: {
        oc_fill(h1, (size_t)m * d, seed, 1);
        oc_fill(h2, (size_t)d, seed + 1, 1);
        void *X = oc_act(&A, h1, (size_t)m * d), *b = oc_wt(&A, h2, (size_t)d);
        if (!X || !b) break;
        op->add_bias_rows(be, X, (size_t)m, d, b);
        OC_TAKE("X", X, (size_t)m * d, at);
        break;
    }
    case OC_SWIGLU:
    case OC_SWIGLU_BWD: {
        oc_fill(h1, (size_t)m, seed, 6);
        oc_fill(h2, (size_t)m, seed + 1, 2);
        oc_fill(h3, (size_t)m, seed + 2, 1);
        void *G = oc_act(&A, h1, (size_t)m), *U = oc_act(&A, h2, (size_t)m), *dA = oc_act(&A, h3, (size_t)m);
        void *O1 = oc_act(&A, h4, (size_t)m), *O2 = oc_act(&A, h4, (size_t)m);
        if (!G || !U || !dA || !O1 || !O2) break;
        if (c->kind == OC_SWIGLU) {
            op->swiglu(be, G, U, (size_t)m, O1);
            OC_TAKE("A", O1, (size_t)m, at);
        } else {
            op->swiglu_bwd(be, G, U, dA, (size_t)m, O1, O2);
            OC_TAKE("dG", O1, (size_t)m, at);
            OC_TAKE("dU", O2, (size_t)m, at);
        }
        break;
    }
    case OC_EMBED:
    case OC_LOAD_TENSOR: {
        uint16_t *bits = NULL;
        duo_tensor tab = oc_bf16_tensor(c->kind == OC_EMBED ? d2 : m, d, seed, &bits);
        int32_t ids[64];
        uint64_t s = seed;
        for (int i = 0; i < m; i++) ids[i] = (int32_t)((oc_rand(&s) + 1) * 0.4999 * d2);
        if (c->kind == OC_EMBED) {
            void *IDS = oc_put_bytes(&A, ids, (size_t)m * sizeof *ids), *X = oc_act(&A, h1, (size_t)m * d);
            if (bits && IDS && X) {
                op->embed(be, &tab, IDS, (size_t)m, X);
                OC_TAKE("X", X, (size_t)m * d, at);
            }
        } else {
            size_t first = 5, count = (size_t)m * d - 9;
            void *W = oc_wt(&A, h1, count);
            if (bits && W) {
                op->load_tensor(be, &tab, first, count, W);
                OC_TAKE("W", W, count, wt);
            }
        }
        free(bits);
        break;
    }
    case OC_GATHER:
    case OC_SCATTER_ADD: { /* rows of a [d2][d] table, m distinct row ids */
        int32_t rows[64];
        for (int i = 0; i < m; i++) rows[i] = (int32_t)((i * 7 + 3) % d2);
        oc_fill(h1, (size_t)d2 * d, seed, 1);
        oc_fill(h2, (size_t)m * d, seed + 1, 1);
        void *T = oc_act(&A, h1, (size_t)d2 * d), *R = oc_put_bytes(&A, rows, (size_t)m * sizeof *rows);
        void *Y = oc_act(&A, h2, (size_t)m * d);
        if (!T || !R || !Y) break;
        if (c->kind == OC_GATHER) {
            op->gather_rows(be, T, R, (size_t)m, d, Y);
            OC_TAKE("Y", Y, (size_t)m * d, at);
        } else {
            op->scatter_add_rows(be, Y, R, (size_t)m, d, T);
            OC_TAKE("Y", T, (size_t)d2 * d, at);
        }
        break;
    }
    case OC_COPY:
    case OC_ZERO: {
        oc_fill(h1, (size_t)m, seed, 1);
        oc_fill(h2, (size_t)m, seed + 1, 1);
        void *S = oc_act(&A, h1, (size_t)m), *D = oc_act(&A, h2, (size_t)m);
        if (!S || !D) break;
        if (c->kind == OC_COPY) op->copy(be, D, S, (size_t)m);
        else op->zero(be, D, (size_t)m);
        OC_TAKE("dst", D, (size_t)m, at);
        break;
    }
    case OC_COPY_ROWS: { /* m rows of width d from stride d + d2 into stride d + 2 * d2 */
        size_t ss = (size_t)d + d2, ds = (size_t)d + 2 * d2;
        oc_fill(h1, (size_t)m * ss, seed, 1);
        oc_fill(h2, (size_t)m * ds, seed + 1, 1);
        void *S = oc_act(&A, h1, (size_t)m * ss), *D = oc_act(&A, h2, (size_t)m * ds);
        if (!S || !D) break;
        op->copy_rows(be, D, ds, S, ss, (size_t)m, d);
        OC_TAKE("dst", D, (size_t)m * ds, at);
        break;
    }
    case OC_PERMUTE: { /* m rows of d2 heads of d */
        int perm[16];
        for (int j = 0; j < d2; j++) perm[j] = (j * 3 + 1) % d2;
        oc_fill(h1, (size_t)m * d2 * d, seed, 1);
        void *X = oc_act(&A, h1, (size_t)m * d2 * d), *Y = oc_act(&A, h2, (size_t)m * d2 * d);
        if (!X || !Y) break;
        op->permute_heads(be, X, (size_t)m, d2, d, perm, Y);
        OC_TAKE("Y", Y, (size_t)m * d2 * d, at);
        break;
    }
    case OC_ARGMAX_ROWS: {
        oc_fill(h1, (size_t)m * d, seed, 1);
        int32_t init[64] = {0};
        void *X = oc_act(&A, h1, (size_t)m * d), *AMX = oc_put_bytes(&A, init, (size_t)m * sizeof(int32_t));
        if (!X || !AMX) break;
        op->argmax_rows(be, X, (size_t)m, d, AMX);
        guard_bad |= oc_take_ints(&A, o, "argmax", AMX, (size_t)m);
        break;
    }
    case OC_GATE_BLEND:
    case OC_GATE_BLEND_BWD: {
        size_t cnt = (size_t)m * c->H * c->hd;
        double gates[16];
        for (int g = 0; g < c->KVH; g++) gates[g] = g % 3 == 1 ? 1.25 : g % 3 == 2 ? -0.5 : 0.3 + 0.1 * g; /* clamps */
        if (c->KVH == 3) gates[2] = 0.77;
        oc_fill(h1, cnt, seed, 1);
        oc_fill(h2, cnt, seed + 1, 1);
        oc_fill(h3, cnt, seed + 2, 1);
        double g0[16];
        oc_fill(g0, (size_t)c->KVH, seed + 3, 1);
        void *SA = oc_act(&A, h1, cnt), *FA = oc_act(&A, h2, cnt), *X = oc_act(&A, h3, cnt);
        void *GR = oc_put(&A, g0, (size_t)c->KVH, DUO_E_F64);
        if (!SA || !FA || !X || !GR) break;
        if (c->kind == OC_GATE_BLEND) {
            op->gate_blend(be, SA, FA, (size_t)m, c->H, c->KVH, c->hd, gates, X);
            OC_TAKE("ATT", X, cnt, at);
        } else {
            op->gate_blend_bwd(be, X, FA, SA, (size_t)m, c->H, c->KVH, c->hd, gates, GR);
            OC_TAKE("dATT", X, cnt, at);
            OC_TAKE("grad", GR, (size_t)c->KVH, DUO_E_F64);
        }
        break;
    }
    case OC_SQDIFF_LOSS:
    case OC_SQDIFF_GRAD: {
        size_t cnt = (size_t)m * d;
        oc_fill(h1, cnt, seed, 1);
        oc_fill(h2, cnt, seed + 1, 1);
        double zero = 0;
        void *X = oc_act(&A, h1, cnt), *Y = oc_act(&A, h2, cnt), *Z = oc_act(&A, h3, cnt);
        void *L = oc_put(&A, &zero, 1, DUO_E_F64);
        if (!X || !Y || !Z || !L) break;
        if (c->kind == OC_SQDIFF_LOSS) {
            op->sqdiff_loss(be, X, Y, (size_t)m, d, L);
            OC_TAKE("loss", L, 1, DUO_E_F64);
        } else {
            op->sqdiff_grad(be, X, Y, cnt, c->beta, Z);
            OC_TAKE("dB", Z, cnt, at);
        }
        break;
    }
    case OC_ATTN_FWD:
    case OC_ATTN_BWD:
    case OC_ATTN_ARGMAX: {
        oc_attn_layout L;
        if (oc_attn_layout_make(c, &L)) {
            oc_attn_layout_free(&L);
            snprintf(why, why_cap, "out of host memory");
            rc = -1;
            goto done;
        }
        duo_attn_shape sh = {c->H, c->KVH, c->hd, c->mask};
        size_t nq = L.nq, nk = L.nk;
        double *hQ = h1, *hK = h2, *hV = h3, *hdO = h4;
        oc_fill(hQ, nq * L.qs, seed, 1.5);
        oc_fill(hK, nk * L.ks, seed + 1, 1.5);
        oc_fill(hV, nk * L.ks, seed + 2, 1);
        oc_fill(hdO, nq * L.os, seed + 3, 1);
        void *Q = oc_act(&A, hQ, nq * L.qs), *K = oc_act(&A, hK, nk * L.ks), *V = oc_act(&A, hV, nk * L.ks);
        void *O = oc_act(&A, hdO, nq * L.os), *LSE = oc_act(&A, hdO, nq * c->H);
        void *QP = oc_put_bytes(&A, L.qpos, nq * sizeof(int32_t));
        void *KP = L.kpos ? oc_put_bytes(&A, L.kpos, nk * sizeof(int32_t)) : NULL;
        duo_attn_args a = {.nq = nq, .nk = nk, .qpos = QP, .kpos = KP, .Q = Q, .K = K, .V = V, .O = O, .lse = LSE,
                           .q_stride = L.qs, .kv_stride = L.ks, .o_stride = L.os};
        if (!Q || !K || !V || !O || !LSE || !QP || (L.kpos && !KP)) {
            oc_attn_layout_free(&L);
            break;
        }
        if (c->kind == OC_ATTN_ARGMAX) {
            int32_t *init = calloc(nq * c->H + 1, sizeof *init);
            void *AM = init ? oc_put_bytes(&A, init, nq * c->H * sizeof *init) : NULL;
            free(init);
            if (AM && op->attn_argmax) {
                op->attn_argmax(be, &sh, &a, AM);
                guard_bad |= oc_take_ints(&A, o, "amax", AM, nq * c->H);
            } else if (AM) { /* no entry: the naive loop on this backend's rounded inputs */
                int32_t *nv = malloc((nq * c->H + 1) * sizeof *nv);
                double *rq = malloc(nq * L.qs * sizeof *rq), *rk = malloc(nk * L.ks * sizeof *rk), bs;
                if (nv && rq && rk && o->niout < OC_MAXOUT) {
                    memcpy(rq, hQ, nq * L.qs * sizeof *rq);
                    memcpy(rk, hK, nk * L.ks * sizeof *rk);
                    oc_round_act(be, rq, nq * L.qs);
                    oc_round_act(be, rk, nk * L.ks);
                    for (size_t i = 0; i < nq; i++)
                        for (int h = 0; h < c->H; h++) nv[i * c->H + h] = oc_naive_argmax(c, &L, rq, rk, i, h, &bs);
                    o->iname[o->niout] = "amax (naive)";
                    o->ival[o->niout] = nv;
                    o->in[o->niout++] = nq * c->H;
                    nv = NULL;
                }
                free(nv);
                free(rq);
                free(rk);
            }
        } else {
            op->attn_fwd(be, &sh, &a);
            if (c->kind == OC_ATTN_FWD) {
                OC_TAKE("O", O, nq * L.os, at);
                OC_TAKE("lse", LSE, nq * c->H, at);
            } else {
                double *g1 = malloc(nk * L.ks * sizeof *g1), *g2 = malloc(nk * L.ks * sizeof *g2);
                void *dO = NULL, *dQ = NULL, *dK = NULL, *dV = NULL;
                if (g1 && g2) {
                    oc_fill(g1, nk * L.ks, seed + 5, 0.5);
                    oc_fill(g2, nk * L.ks, seed + 6, 0.5);
                    dO = oc_act(&A, hdO, nq * L.os);
                    dQ = oc_act(&A, hQ, nq * L.qs); /* overwritten (its padding must stay) */
                    dK = oc_act(&A, g1, nk * L.ks); /* accumulated into */
                    dV = oc_act(&A, g2, nk * L.ks);
                }
                free(g1);
                free(g2);
                if (dO && dQ && dK && dV) {
                    a.dO = dO;
                    a.dQ = dQ;
                    a.dK = dK;
                    a.dV = dV;
                    op->attn_bwd(be, &sh, &a);
                    OC_TAKE("dQ", dQ, nq * L.qs, at);
                    OC_TAKE("dK", dK, nk * L.ks, at);
                    OC_TAKE("dV", dV, nk * L.ks, at);
                }
            }
        }
        oc_attn_layout_free(&L);
        break;
    }
    }
#undef OC_TAKE
    if (o->nout == 0 && o->niout == 0) {
        snprintf(why, why_cap, "%s on %s: could not make its buffers", c->name, be->name);
        rc = -1;
    }
    duo_error err = {{0}};
    if (backend_check(be, &err)) {
        snprintf(why, why_cap, "%s: %.400s", c->name, err.msg);
        rc = -1;
    } else if (guard_bad) {
        snprintf(why, why_cap, "%s on %s: an output's guard elements were overwritten (a stray write)", c->name,
                 be->name);
        rc = -1;
    }
done:
    oc_free_all(&A);
    free(h1);
    free(h2);
    free(h3);
    free(h4);
    return rc;
}

/* Runs c on ref and on test and compares (see the header comment). */
static inline int op_case_run(const op_case *c, duo_backend *ref, duo_backend *test, oc_result *res) {
    memset(res, 0, sizeof *res);
    oc_outputs orf, ots;
    memset(&orf, 0, sizeof orf);
    memset(&ots, 0, sizeof ots);
    if (oc_run_one(c, ref, &orf, res->why, sizeof res->why) || oc_run_one(c, test, &ots, res->why, sizeof res->why)) {
        oc_outputs_free(&orf);
        oc_outputs_free(&ots);
        return -1;
    }
    oc_cmp_state st;
    memset(&st, 0, sizeof st);
    for (int i = 0; i < orf.nout && i < ots.nout; i++) oc_cmp(&st, orf.name[i], ots.val[i], orf.val[i], orf.n[i]);
    for (int i = 0; i < orf.niout && i < ots.niout; i++) {
        if (c->kind == OC_ATTN_ARGMAX) { /* near ties may round either way: compare by the naive score */
            oc_attn_layout L;
            int ok = !oc_attn_layout_make(c, &L);
            double *hQ = malloc(L.nq * L.qs * sizeof *hQ + 8), *hK = malloc(L.nk * L.ks * sizeof *hK + 8);
            uint64_t seed = 1000 + (uint64_t)c->kind * 77 + (uint64_t)c->m * 3 + (uint64_t)c->d;
            if (ok && hQ && hK) {
                oc_fill(hQ, L.nq * L.qs, seed, 1.5);
                oc_fill(hK, L.nk * L.ks, seed + 1, 1.5);
                for (size_t q = 0; q < L.nq && !st.int_mismatch; q++)
                    for (int h = 0; h < c->H && !st.int_mismatch; h++) {
                        int a = ots.ival[i][q * c->H + h], b = orf.ival[i][q * c->H + h];
                        if (a == b) continue;
                        double best, sa = 0;
                        int nb = oc_naive_argmax(c, &L, hQ, hK, q, h, &best);
                        if (a >= 0 && (size_t)a < L.nk) sa = oc_naive_score(c, &L, hQ, hK, q, h, a);
                        if (nb < 0 || a < 0 || fabs(sa - best) > 1e-5 * fmax(1, fabs(best))) {
                            snprintf(st.why, sizeof st.why, "amax[%zu][%d] = %d, expected %d", q, h, a, b);
                            st.int_mismatch = 1;
                        }
                    }
            } else st.int_mismatch = 1;
            free(hQ);
            free(hK);
            oc_attn_layout_free(&L);
        } else oc_cmp_ints(&st, orf.iname[i], ots.ival[i], orf.ival[i], orf.in[i]);
    }
    double tol = test->weight_type == DUO_E_BF16 || ref->weight_type == DUO_E_BF16 ? c->tol_bf16 : c->tol;
    res->worst_rel = st.int_mismatch ? INFINITY : st.worst;
    res->within = !st.int_mismatch && st.worst <= tol;
    if (st.int_mismatch) snprintf(res->why, sizeof res->why, "%s", st.why);
    else snprintf(res->why, sizeof res->why, "worst output %s: %.3g relative (tolerance %.3g)",
                  st.worst_name ? st.worst_name : "-", st.worst, tol);
    oc_outputs_free(&orf);
    oc_outputs_free(&ots);
    return 0;
}

#endif
