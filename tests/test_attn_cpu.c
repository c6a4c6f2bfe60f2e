/* The CPU attention kernels (kernels/cpu/attention_impl.h: GQA tiles, key blocks with an online
 * softmax, the small-M path, the vectorized exp; the float fused kernels of kernels/cpu/attn_fused.h on
 * AVX-512 and AVX2 and the BLAS path) against a slow reference loop in double: forward O and
 * lse, backward dQ/dK/dV, argmax, at head_dim 32/40/64/128, GQA groups 1/2/4, 1/7/64/200 query rows (one
 * row, a small-M tile, a full tile, several tiles over several key blocks), the full mask and both
 * streaming masks, dense and gapped key rows; and determinism: bit-identical results for 1 and 2
 * threads and for a KV group alone versus inside a larger call. */
#include <math.h>
#include <omp.h>
#include <stdint.h>

#include "harness.h"
#include "kernels/backend.h"
#include "kernels/cpu/attn_vexp.h"
#include "kernels/cpu/cpu_backend.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

TEST(vexp_accuracy) {
    double worst = 0;
    for (long i = 0; i <= 2000000; i++) {
        float x = (float)(-87.0 + 88.0 * (double)i / 2000000.0); /* [-87, 1] */
        double want = exp((double)x), got = duo_vexpf(x);
        double rel = fabs(got - want) / want;
        if (rel > worst) worst = rel;
    }
    CHECK_MSG(worst < 2.0 * 1.1920929e-7, "worst relative error %.3g", worst); /* under 2 ulp */
    CHECK(duo_vexpf(-INFINITY) == 0.0f);
    CHECK(duo_vexpf(-87.5f) == 0.0f);
    CHECK(duo_vexpf(0.0f) == 1.0f);
    CHECK(isnan(duo_vexpf(NAN)));
    CHECK(isfinite(duo_vexpf(INFINITY)) && duo_vexpf(INFINITY) > 1e38f);
}

typedef struct {
    int H, KVH, hd;
    duo_attn_mask mask;
    size_t nq, nk;
    int32_t *qpos, *kpos;             /* [nq], [nk] (kpos NULL: row = position) */
    double *Q, *K, *V, *W;            /* [nq][H*hd], [nk][KVH*hd] x2, [nq][H*hd] (the loss weights = dO) */
    double *O, *lse, *dQ, *dK, *dV;   /* the reference: [nq][H*hd], [nq][H], [nq][H*hd], [nk][KVH*hd] x2 */
    int32_t *amax;                    /* [nq][H] */
} acase;

static long long key_pos(const acase *c, size_t j) { return c->kpos ? c->kpos[j] : (long long)j; }

/* The reference forward and backward of L = sum(O * W) in double, and the argmax. */
static void reference(acase *c) {
    int H = c->H, hd = c->hd, group = c->H / c->KVH;
    size_t qs = (size_t)H * hd, ks = (size_t)c->KVH * hd;
    double scale = 1 / sqrt((double)hd);
    double *s = malloc(c->nk * sizeof *s);
    memset(c->dK, 0, c->nk * ks * sizeof *c->dK);
    memset(c->dV, 0, c->nk * ks * sizeof *c->dV);
    for (size_t r = 0; r < c->nq; r++)
        for (int h = 0; h < H; h++) {
            const double *q = c->Q + r * qs + (size_t)h * hd, *w = c->W + r * qs + (size_t)h * hd;
            double *o = c->O + r * qs + (size_t)h * hd, *dq = c->dQ + r * qs + (size_t)h * hd;
            int g = h / group;
            double mx = -INFINITY;
            int best = -1;
            for (size_t j = 0; j < c->nk; j++) {
                s[j] = NAN;
                if (!attn_mask_visible(&c->mask, c->qpos[r], key_pos(c, j))) continue;
                double d = 0;
                for (int e = 0; e < hd; e++) d += q[e] * c->K[j * ks + (size_t)g * hd + e];
                s[j] = d * scale;
                if (best < 0 || s[j] > mx) {
                    mx = s[j];
                    best = (int)j;
                }
            }
            c->amax[r * H + h] = best;
            double sum = 0;
            for (size_t j = 0; j < c->nk; j++)
                if (!isnan(s[j])) sum += exp(s[j] - mx);
            c->lse[r * H + h] = best < 0 ? -INFINITY : mx + log(sum);
            for (int e = 0; e < hd; e++) o[e] = dq[e] = 0;
            if (best < 0) continue;
            double D = 0;
            for (size_t j = 0; j < c->nk; j++) {
                if (isnan(s[j])) continue;
                double p = exp(s[j] - mx) / sum;
                for (int e = 0; e < hd; e++) o[e] += p * c->V[j * ks + (size_t)g * hd + e];
            }
            for (int e = 0; e < hd; e++) D += w[e] * o[e];
            for (size_t j = 0; j < c->nk; j++) {
                if (isnan(s[j])) continue;
                double p = exp(s[j] - mx) / sum, dp = 0;
                const double *k = c->K + j * ks + (size_t)g * hd, *v = c->V + j * ks + (size_t)g * hd;
                for (int e = 0; e < hd; e++) dp += w[e] * v[e];
                double ds = p * (dp - D) * scale;
                for (int e = 0; e < hd; e++) {
                    dq[e] += ds * k[e];
                    c->dK[j * ks + (size_t)g * hd + e] += ds * q[e];
                    c->dV[j * ks + (size_t)g * hd + e] += p * w[e];
                }
            }
        }
    free(s);
}

/* Values on the float grid, so the float and double backends and the reference read the same inputs. */
static double *rand_array(size_t n, double amp) {
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (double)(float)(amp * (2 * urand() - 1));
    return x;
}

/* nq queries at positions past..past+nq-1; keys: every position up to the last query (gapped 0), or only
 * those some query sees (gapped 1: a sink + recent cache, the training cone). */
static void acase_make(acase *c, int H, int KVH, int hd, duo_attn_mask mask, size_t nq, size_t past, int gapped) {
    memset(c, 0, sizeof *c);
    c->H = H;
    c->KVH = KVH;
    c->hd = hd;
    c->mask = mask;
    c->nq = nq;
    c->qpos = malloc(nq * sizeof *c->qpos);
    for (size_t i = 0; i < nq; i++) c->qpos[i] = (int32_t)(past + i);
    size_t total = past + nq;
    if (gapped) {
        c->kpos = malloc(total * sizeof *c->kpos);
        for (size_t j = 0; j < total; j++) {
            int seen = 0;
            for (size_t i = 0; i < nq && !seen; i++) seen = attn_mask_visible(&mask, c->qpos[i], (long long)j);
            if (seen) c->kpos[c->nk++] = (int32_t)j;
        }
    } else c->nk = total;
    size_t nQ = nq * (size_t)H * hd, nK = c->nk * (size_t)KVH * hd;
    c->Q = rand_array(nQ, 2);
    c->K = rand_array(nK, 2);
    c->V = rand_array(nK, 1);
    c->W = rand_array(nQ, 1);
    c->O = malloc(nQ * sizeof *c->O);
    c->dQ = malloc(nQ * sizeof *c->dQ);
    c->dK = malloc(nK * sizeof *c->dK);
    c->dV = malloc(nK * sizeof *c->dV);
    c->lse = malloc(nq * (size_t)H * sizeof *c->lse);
    c->amax = malloc(nq * (size_t)H * sizeof *c->amax);
}

static void acase_free(acase *c) {
    free(c->qpos);
    free(c->kpos);
    free(c->Q);
    free(c->K);
    free(c->V);
    free(c->W);
    free(c->O);
    free(c->lse);
    free(c->dQ);
    free(c->dK);
    free(c->dV);
    free(c->amax);
}

/* The backend's results on one case (element size es: float or double), all in double. */
typedef struct {
    double *O, *lse, *dQ, *dK, *dV;
    int32_t *amax;
    int failed;
} aresult;

static void *to_elems(const double *x, size_t n, int f64) {
    void *p = malloc((n ? n : 1) * (f64 ? sizeof(double) : sizeof(float)));
    for (size_t i = 0; i < n; i++) {
        if (f64) ((double *)p)[i] = x[i];
        else ((float *)p)[i] = (float)x[i];
    }
    return p;
}

static double *from_elems(const void *p, size_t n, int f64) {
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = f64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
    return x;
}

/* Runs forward, backward and argmax of KV groups [g0, g0 + ng) of case c (ng = c->KVH: the whole call;
 * fewer: those groups' heads alone, their columns of the same arrays) on the CPU backend f64. */
static aresult run_backend(const acase *c, int f64, int g0, int ng) {
    aresult res = {0};
    duo_backend *be = backend_cpu_create(f64, NULL);
    if (!be) {
        res.failed = 1;
        return res;
    }
    int group = c->H / c->KVH, hd = c->hd;
    size_t es = be->act_size, qs = (size_t)c->H * hd, ks = (size_t)c->KVH * hd;
    size_t nQ = c->nq * qs, nK = c->nk * ks, nL = c->nq * (size_t)c->H;
    char *Q = to_elems(c->Q, nQ, f64), *K = to_elems(c->K, nK, f64), *V = to_elems(c->V, nK, f64);
    char *W = to_elems(c->W, nQ, f64);
    char *O = calloc(nQ ? nQ : 1, es), *dQ = calloc(nQ ? nQ : 1, es), *dK = calloc(nK ? nK : 1, es);
    char *dV = calloc(nK ? nK : 1, es);
    char *lse = calloc(c->nq * (size_t)ng * group + 1, es); /* [nq][ng * group] */
    int32_t *amax = malloc((c->nq * (size_t)ng * group + 1) * sizeof *amax);
    size_t qoff = (size_t)g0 * group * hd * es, koff = (size_t)g0 * hd * es;
    duo_attn_shape sh = {ng * group, ng, hd, c->mask};
    duo_attn_args a = {.nq = c->nq, .nk = c->nk, .qpos = c->qpos, .kpos = c->kpos, .Q = Q + qoff, .K = K + koff,
                       .V = V + koff, .O = O + qoff, .lse = lse, .q_stride = qs, .kv_stride = ks, .o_stride = qs,
                       .dO = W + qoff, .dQ = dQ + qoff, .dK = dK + koff, .dV = dV + koff};
    be->ops->attn_fwd(be, &sh, &a);
    be->ops->attn_bwd(be, &sh, &a);
    be->ops->attn_argmax(be, &sh, &a, amax);
    res.failed = be->failed;
    res.O = from_elems(O, nQ, f64);
    res.dQ = from_elems(dQ, nQ, f64);
    res.dK = from_elems(dK, nK, f64);
    res.dV = from_elems(dV, nK, f64);
    res.lse = from_elems(lse, c->nq * (size_t)ng * group, f64);
    res.amax = amax;
    (void)nL;
    free(Q);
    free(K);
    free(V);
    free(W);
    free(O);
    free(dQ);
    free(dK);
    free(dV);
    free(lse);
    backend_free(be);
    return res;
}

static void aresult_free(aresult *r) {
    free(r->O);
    free(r->lse);
    free(r->dQ);
    free(r->dK);
    free(r->dV);
    free(r->amax);
}

/* The first element of got[n] farther than tol * max(1, |want|) from want (-1: none). */
static long first_off(const double *got, const double *want, size_t n, double tol) {
    for (size_t i = 0; i < n; i++) {
        if (isinf(want[i]) && got[i] == want[i]) continue;
        if (!(fabs(got[i] - want[i]) <= tol * fmax(1.0, fabs(want[i])))) return (long)i;
    }
    return -1;
}

/* The float attention's kernel choices (duo_cpu_attn_isa_cap, kernels/cpu/attn_fused.h): the fused
 * kernel on AVX-512, on AVX2 + FMA, and the BLAS path; on a processor without a set the cap falls to the
 * next it has. */
static const int isa_caps[] = {2, 1, 0};
static const char *const isa_names[] = {"fused avx512", "fused avx2", "blas"};

/* One case on both element types (float: with each kernel choice) against the reference; 0, or -1 with
 * the message in t. */
static int check_case(test_ctx *t, const char *what, acase *c) {
    reference(c);
    size_t nQ = c->nq * (size_t)c->H * c->hd, nK = c->nk * (size_t)c->KVH * c->hd, nL = c->nq * (size_t)c->H;
    for (int v = 0; v < 4; v++) {
        int f64 = v == 3;
        duo_cpu_attn_isa_cap = f64 ? 2 : isa_caps[v];
        aresult r = run_backend(c, f64, 0, c->KVH);
        duo_cpu_attn_isa_cap = 2;
        double tol = f64 ? 1e-11 : 3e-5, tolg = f64 ? 1e-10 : 2e-4;
        const char *bad = NULL;
        long i = -1;
        if (r.failed) bad = "the op failed";
        else if ((i = first_off(r.O, c->O, nQ, tol)) >= 0) bad = "O";
        else if ((i = first_off(r.lse, c->lse, nL, tol)) >= 0) bad = "lse";
        else if ((i = first_off(r.dQ, c->dQ, nQ, tolg)) >= 0) bad = "dQ";
        else if ((i = first_off(r.dK, c->dK, nK, tolg)) >= 0) bad = "dK";
        else if ((i = first_off(r.dV, c->dV, nK, tolg)) >= 0) bad = "dV";
        else if (f64)
            for (size_t k = 0; k < nL && !bad; k++)
                if (r.amax[k] != c->amax[k]) {
                    bad = "argmax";
                    i = (long)k;
                }
        if (bad) {
            const double *gw[] = {r.O, r.lse, r.dQ, r.dK, r.dV}, *ww[] = {c->O, c->lse, c->dQ, c->dK, c->dV};
            const char *names[] = {"O", "lse", "dQ", "dK", "dV"};
            double gv = NAN, wv = NAN;
            for (int k = 0; k < 5; k++)
                if (!strcmp(bad, names[k]) && i >= 0) {
                    gv = gw[k][i];
                    wv = ww[k][i];
                }
            snprintf(t->msg, sizeof t->msg, "%s (%s): %s differs at element %ld: %.9g, reference %.9g", what,
                     f64 ? "f64" : isa_names[v], bad, i, gv, wv);
            aresult_free(&r);
            return -1;
        }
        aresult_free(&r);
    }
    return 0;
}

TEST(against_reference) {
    /* 40: a multiple of AVX2's lanes, not of AVX-512's (the AVX2 kernel where AVX-512 would run) */
    const int hds[] = {32, 40, 64, 128}, groups[] = {1, 2, 4};
    const size_t nqs[] = {1, 7, 64, 200};
    /* sdpa(200, 300): ranges A and B both wider than a key block; blocksparse(10, 300): range B over
     * several blocks, the tile's later rows seeing none of the first */
    const duo_attn_mask masks[] = {{ATTN_FULL, 0, 0},
                                   {ATTN_STREAM_SDPA, 5, 37},
                                   {ATTN_STREAM_BLOCKSPARSE, 10, 130},
                                   {ATTN_STREAM_SDPA, 300, 200},
                                   {ATTN_STREAM_BLOCKSPARSE, 10, 300}};
    for (int hi = 0; hi < 4; hi++)
        for (int gi = 0; gi < 3; gi++)
            for (int ni = 0; ni < 4; ni++)
                for (int mi = 0; mi < 5; mi++) {
                    if (mi >= 3 && nqs[ni] < 64) continue;
                    int gapped = mi > 0 && (hi + ni) % 2; /* gapped key rows for half the streaming cases */
                    size_t past = mi >= 3 ? 600 : nqs[ni] < 64 ? 400 : 150;
                    acase c;
                    acase_make(&c, 2 * groups[gi], 2, hds[hi], masks[mi], nqs[ni], past, gapped);
                    char what[160];
                    snprintf(what, sizeof what, "hd %d group %d nq %zu nk %zu mask %s(%d,%d)%s", hds[hi], groups[gi],
                             nqs[ni], c.nk, attn_kind_name(masks[mi].kind), masks[mi].sink_size,
                             masks[mi].recent_size, gapped ? " gapped" : "");
                    int rc = check_case(t, what, &c);
                    acase_free(&c);
                    if (rc) {
                        t->failed = 1;
                        return;
                    }
                }
}

/* A query that sees no key (a gapped cache without its positions): O 0, lse -inf, gradients 0, argmax -1. */
TEST(query_seeing_nothing) {
    acase c;
    duo_attn_mask m = {ATTN_STREAM_SDPA, 2, 4};
    acase_make(&c, 4, 2, 32, m, 3, 20, 0);
    c.nk = 2; /* keep only positions 0, 1 (the sink): then query 20.. sees them, move them out of reach */
    c.kpos = malloc(2 * sizeof *c.kpos);
    c.kpos[0] = 30;
    c.kpos[1] = 31; /* after every query: visible to none */
    CHECK(check_case(t, "no visible key", &c) == 0);
    for (size_t i = 0; i < c.nq * (size_t)c.H; i++) CHECK(c.amax[i] == -1 && isinf(c.lse[i]));
    acase_free(&c);
}

static int same_bits(const double *a, const double *b, size_t n) { return !memcmp(a, b, n * sizeof *a); }

/* Thread count and call composition do not change a single bit. */
TEST(deterministic) {
    const duo_attn_mask masks[] = {{ATTN_FULL, 0, 0}, {ATTN_STREAM_SDPA, 5, 37}};
    const size_t nqs[] = {7, 200};
    for (int mi = 0; mi < 2; mi++)
        for (int ni = 0; ni < 2; ni++) {
            acase c;
            acase_make(&c, 6, 3, 64, masks[mi], nqs[ni], 300, 0);
            int group = 2, hd = 64;
            size_t qs = (size_t)c.H * hd, ks = (size_t)c.KVH * hd;
            for (int v = 0; v < 3; v++) { /* float with the fused kernel of each set, then double */
                int f64 = v == 2;
                duo_cpu_attn_isa_cap = f64 ? 2 : isa_caps[v];
                int threads = omp_get_max_threads();
                omp_set_num_threads(1);
                aresult one = run_backend(&c, f64, 0, c.KVH);
                omp_set_num_threads(2);
                aresult two = run_backend(&c, f64, 0, c.KVH);
                omp_set_num_threads(threads);
                size_t nQ = c.nq * qs, nK = c.nk * ks;
                CHECK_MSG(!one.failed && !two.failed, "the op failed");
                CHECK_MSG(same_bits(one.O, two.O, nQ) && same_bits(one.lse, two.lse, c.nq * (size_t)c.H) &&
                              same_bits(one.dQ, two.dQ, nQ) && same_bits(one.dK, two.dK, nK) &&
                              same_bits(one.dV, two.dV, nK) &&
                              !memcmp(one.amax, two.amax, c.nq * (size_t)c.H * sizeof *one.amax),
                          "mask %d nq %zu %s: 1 and 2 threads differ", mi, c.nq, f64 ? "f64" : isa_names[v]);
                /* KV group 1 alone: its heads' columns as in the whole call */
                aresult alone = run_backend(&c, f64, 1, 1);
                CHECK_MSG(!alone.failed, "the op failed");
                int diff = 0;
                for (size_t r = 0; r < c.nq; r++) {
                    size_t qo = r * qs + (size_t)group * hd, n = (size_t)group * hd;
                    diff |= memcmp(alone.O + qo, one.O + qo, n * sizeof(double)) != 0;
                    diff |= memcmp(alone.dQ + qo, one.dQ + qo, n * sizeof(double)) != 0;
                    diff |= memcmp(alone.lse + r * group, one.lse + r * c.H + group, group * sizeof(double)) != 0;
                    diff |= memcmp(alone.amax + r * group, one.amax + r * c.H + group, group * sizeof(int32_t)) != 0;
                }
                for (size_t j = 0; j < c.nk; j++) {
                    size_t ko = j * ks + (size_t)hd;
                    diff |= memcmp(alone.dK + ko, one.dK + ko, hd * sizeof(double)) != 0;
                    diff |= memcmp(alone.dV + ko, one.dV + ko, hd * sizeof(double)) != 0;
                }
                CHECK_MSG(!diff, "mask %d nq %zu f64 %d: group 1 alone differs from group 1 in the whole call", mi, c.nq,
                          f64);
                duo_cpu_attn_isa_cap = 2;
                aresult_free(&one);
                aresult_free(&two);
                aresult_free(&alone);
            }
            acase_free(&c);
        }
}

TEST_MAIN()
