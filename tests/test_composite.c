/* The composites (kernels/composite/) on the CPU's primitives against the CPU's fused ops (DESIGN §5):
 *   - every case of tests/op_cases.h: float32 composite vs fused <= the case's tolerance (1e-6 relative
 *     for float arithmetic, exact for copies and integer outputs), float64 composite vs fused <= 1e-12,
 *     bf16 composite vs float32 fused within its bf16 tolerance, and the attention cases again with a
 *     workspace so small that tiles shrink to single rows and single heads;
 *   - attn_argmax against a naive loop over attn_mask_visible (the CPU's fused entry may be NULL);
 *   - the step (model/duo_step.c) on the float64 composite: gate gradients against central finite
 *     differences (<= 1e-6 relative), as tests/test_duo_step.c checks the fused step;
 *   - whole paths: the step's distill and gate gradient, composite vs fused, on the bundled retrieval
 *     model and the tiny Qwen checkpoints (float32 <= 1e-5 relative; bf16 <= 2e-2), and the inference
 *     path's greedy ids at sparsity 0 and 0.5 (equal) on tiny Llama and Qwen checkpoints;
 *   - the tables have no empty entry; a workspace too small for one score row is an error naming it.
 * DUO_TEST_VERBOSE=1 prints the worst relative error of every case. */
#include <cblas.h>
#include <omp.h>
#include <stdint.h>

#include "data/model.h"
#include "kernels/backend.h"
#include "kernels/composite/composite.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/duo_step.h"
#include "model/infer.h"
#include "model/random_model.h"
#include "tests/harness.h"
#include "tests/tiny_model.h"
#include "tests/op_cases.h"

static int verbose(void) { return getenv("DUO_TEST_VERBOSE") != NULL; }

/* One thread: the composites issue many small GEMMs and row loops, and on shared busy cores OpenMP's and
 * OpenBLAS's thread hand-offs cost 25x the arithmetic (the results do not depend on the thread count). */
__attribute__((constructor)) static void one_thread(void) {
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
}

/* Runs every op case (kinds in [lo, hi]) on ref vs test; the first failure into t.  tol_cap >= 0: at
 * most that tolerance; -1: the cases' own; other negative -t: t for every float case. */
static void run_cases(test_ctx *t, duo_backend *ref, duo_backend *test, int lo, int hi, double tol_cap) {
    for (size_t i = 0; i < OP_CASES_COUNT; i++) {
        op_case c = OP_CASES[i];
        if ((int)c.kind < lo || (int)c.kind > hi) continue;
        if (tol_cap >= 0) {
            if (c.tol > tol_cap) c.tol = tol_cap;
            if (c.tol_bf16 > tol_cap) c.tol_bf16 = tol_cap;
        } else if (tol_cap != -1 && c.tol > 0) { /* -t (not -1): the float tolerance t instead */
            c.tol = -tol_cap;
        }
        oc_result r;
        int rc = op_case_run(&c, ref, test, &r);
        if (verbose()) fprintf(stderr, "  %-20s %-36s %s\n", test->name, c.name, r.why);
        CHECK_MSG(rc == 0, "%s vs %s, %s: %s", test->name, ref->name, c.name, r.why);
        CHECK_MSG(r.within, "%s vs %s, %s: %s", test->name, ref->name, c.name, r.why);
    }
}

TEST(op_cases_f32_composite_vs_fused) {
    duo_backend *ref = backend_cpu_create(0, NULL), *cmp = backend_cpu_composite_create(0, 0, NULL);
    CHECK(ref && cmp);
    run_cases(t, ref, cmp, 0, 1000, -1);
    backend_free(ref);
    backend_free(cmp);
}

TEST(op_cases_f64_composite_vs_fused) {
    duo_backend *ref = backend_cpu_create(1, NULL), *cmp = backend_cpu_composite_create(1, 0, NULL);
    CHECK(ref && cmp);
    run_cases(t, ref, cmp, 0, 1000, 1e-12);
    backend_free(ref);
    backend_free(cmp);
}

TEST(op_cases_bf16_composite_vs_f32_fused) {
    duo_backend *ref = backend_cpu_create(0, NULL), *cmp = backend_cpu_composite_create(0, 1, NULL);
    CHECK(ref && cmp);
    CHECK(cmp->weight_type == DUO_E_BF16 && cmp->weight_size == 2);
    run_cases(t, ref, cmp, 0, 1000, -1);
    backend_free(ref);
    backend_free(cmp);
}

/* 8 KiB: no case's tile of two score buffers fits more than a few rows of one head.  Single-row tiles
 * have narrower spans than the fused op's 64-row chunks (products over fewer columns, summed in another
 * order), hence 2e-6. */
TEST(attention_with_tiles_shrunk_to_rows_and_heads) {
    duo_backend *ref = backend_cpu_create(0, NULL), *cmp = backend_cpu_composite_create(0, 0, NULL);
    CHECK(ref && cmp);
    cmp->composite_workspace_bytes = 8192;
    run_cases(t, ref, cmp, OC_ATTN_FWD, OC_ATTN_ARGMAX, -2e-6);
    run_cases(t, ref, cmp, OC_RMSNORM_BWD, OC_RMSNORM_BWD, -1);
    run_cases(t, ref, cmp, OC_GATE_BLEND_BWD, OC_SQDIFF_LOSS, -1);
    backend_free(ref);
    backend_free(cmp);
}

/* The device's default tile heights (256 rows, 1024 for full attention): spans wider than the fused op's
 * 64-row chunks, so the products sum over more (masked, zero) columns in another order. */
TEST(attention_with_the_default_tile_heights) {
    duo_backend *ref = backend_cpu_create(0, NULL), *cmp = backend_cpu_composite_create(0, 0, NULL);
    CHECK(ref && cmp);
    CHECK(composite_set_tile_rows(cmp, 0) == 0);
    for (size_t i = 0; i < OP_CASES_COUNT; i++) {
        op_case c = OP_CASES[i];
        if (c.kind < OC_ATTN_FWD || c.kind > OC_ATTN_ARGMAX) continue;
        c.tol = c.tol > 0 ? 2e-6 : 0;
        oc_result r;
        CHECK_MSG(op_case_run(&c, ref, cmp, &r) == 0, "%s: %s", c.name, r.why);
        if (verbose()) fprintf(stderr, "  default tiles %-36s %s\n", c.name, r.why);
        CHECK_MSG(r.within, "%s: %s", c.name, r.why);
    }
    backend_free(ref);
    backend_free(cmp);
}

TEST(workspace_too_small_is_an_error_naming_it) {
    duo_backend *cmp = backend_cpu_composite_create(0, 0, NULL);
    CHECK(cmp);
    cmp->composite_workspace_bytes = 64;
    oc_outputs o;
    memset(&o, 0, sizeof o);
    char why[512] = "";
    const op_case *c = NULL;
    for (size_t i = 0; i < OP_CASES_COUNT; i++)
        if (OP_CASES[i].kind == OC_ATTN_FWD && !c) c = &OP_CASES[i];
    CHECK(c);
    int rc = oc_run_one(c, cmp, &o, why, sizeof why);
    oc_outputs_free(&o);
    backend_free(cmp);
    CHECK(rc == -1);
    CHECK_MSG(strstr(why, "does not fit the workspace of 64 bytes") != NULL, "%s", why);
}

/* The attn_argmax cases above compare the composite with the naive loop when the fused table has no
 * entry; this one always does, on every mask kind and a gapped key set. */
TEST(attn_argmax_against_naive_loop) {
    duo_backend *cmp = backend_cpu_composite_create(0, 0, NULL);
    CHECK(cmp);
    duo_backend *fused = backend_cpu_create(0, NULL);
    CHECK(fused);
    duo_backend naive = *fused;
    duo_ops no_argmax = *naive.ops;
    no_argmax.attn_argmax = NULL;
    naive.ops = &no_argmax;
    int seen = 0;
    for (size_t i = 0; i < OP_CASES_COUNT; i++) {
        if (OP_CASES[i].kind != OC_ATTN_ARGMAX) continue;
        oc_result r;
        CHECK_MSG(op_case_run(&OP_CASES[i], &naive, cmp, &r) == 0, "%s: %s", OP_CASES[i].name, r.why);
        CHECK_MSG(r.within, "%s: %s", OP_CASES[i].name, r.why);
        seen++;
    }
    CHECK(seen >= 4);
    backend_free(cmp);
    backend_free(fused);
}

TEST(tables_have_no_empty_entry) {
    const void *const *p = (const void *const *)(const void *)&duo_composite_ops;
    for (size_t i = 0; i < sizeof duo_composite_ops / sizeof(void *); i++) CHECK_MSG(p[i] != NULL, "duo_composite_ops entry %zu", i);
    const duo_prims *tabs[] = {&cpu_prims_f32, &cpu_prims_f64, &cpu_prims_f32_bf16};
    for (int k = 0; k < 3; k++) {
        const void *const *q = (const void *const *)(const void *)tabs[k];
        for (size_t i = 0; i < sizeof(duo_prims) / sizeof(void *); i++) CHECK_MSG(q[i] != NULL, "cpu prims %d entry %zu", k, i);
    }
}

TEST(composite_backends_open_by_name) {
    const char *names[] = {"cpu-composite", "cpu-composite-f64", "cpu-composite-bf16"};
    for (int i = 0; i < 3; i++) {
        duo_error err = {{0}};
        CHECK(backend_built(names[i]));
        duo_backend *be = backend_open(names[i], &err);
        CHECK_MSG(be, "%s: %.300s", names[i], err.msg);
        CHECK_STR(be->name, names[i]);
        CHECK(be->ops == &duo_composite_ops && be->prims);
        backend_free(be);
    }
}

/* The GEMM descriptor (kernels/prims.h) on the CPU against a naive column-major loop: every transpose
 * pair, batch strides (0 included), padded leading dimensions, beta 0 (C not read: NaN there) and 1,
 * k = 0, float64, float32 and bf16 operands (widened exactly). */
static double gemm_elem(const void *X, duo_elem t, size_t i) { return oc_from_type(X, t, i); }

TEST(gemm_descriptor_against_naive_loop) {
    duo_backend *be = backend_cpu_composite_create(0, 0, NULL);
    CHECK(be);
    duo_elem types[3][3] = {{DUO_E_F64, DUO_E_F64, DUO_E_F64}, {DUO_E_F32, DUO_E_F32, DUO_E_F32},
                            {DUO_E_BF16, DUO_E_BF16, DUO_E_F32}};
    for (int ty = 0; ty < 3; ty++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int kk = 0; kk < 2; kk++) {
                    int m = 7, n = 5, k = kk ? 9 : 0, batch = 3;
                    int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
                    long long lda = ar + 2, ldb = br + 1, ldc = m + 3;
                    long long sa = lda * (ac > 0 ? ac : 1) + 1, sb = tb ? 0 : ldb * bc, sc = ldc * n + 2;
                    duo_elem at = types[ty][0], bt = types[ty][1], ct = types[ty][2];
                    size_t na = (size_t)(sa * batch + 8), nb = (size_t)(ldb * (bc > 0 ? bc : 1) * batch + 8),
                           nc = (size_t)(sc * batch + 8);
                    double *ha = malloc(na * 8), *hb = malloc(nb * 8), *hc = malloc(nc * 8);
                    void *A = malloc(na * 8), *B = malloc(nb * 8), *C = malloc(nc * 8);
                    oc_fill(ha, na, 11, 1);
                    oc_fill(hb, nb, 12, 1);
                    oc_fill(hc, nc, 13, 1);
                    oc_to_type(ha, na, at, A);
                    oc_to_type(hb, nb, bt, B);
                    for (int beta = 0; beta < 2; beta++) {
                        oc_to_type(hc, nc, ct, C);
                        for (int b = 0; b < batch && !beta; b++) /* beta 0: C's old values must not be read */
                            for (int j = 0; j < n; j++)
                                for (int i = 0; i < m; i++) {
                                    size_t at_c = (size_t)(b * sc + j * ldc + i);
                                    if (ct == DUO_E_F64) ((double *)C)[at_c] = NAN;
                                    else ((float *)C)[at_c] = NAN;
                                }
                        duo_gemm g = {.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .a_type = at, .b_type = bt,
                                      .c_type = ct, .A = A, .lda = lda, .stride_a = sa, .B = B, .ldb = ldb, .stride_b = sb,
                                      .C = C, .ldc = ldc, .stride_c = sc, .batch = batch, .alpha = 0.75, .beta = beta};
                        be->prims->gemm(be, &g);
                        double worst = 0, scale = 0;
                        for (int b = 0; b < batch; b++)
                            for (int j = 0; j < n; j++)
                                for (int i = 0; i < m; i++) {
                                    double acc = 0;
                                    for (int l = 0; l < k; l++) {
                                        size_t ia = (size_t)(b * sa + (ta ? i * lda + l : l * lda + i));
                                        size_t ib = (size_t)(b * sb + (tb ? l * ldb + j : j * ldb + l));
                                        acc += gemm_elem(A, at, ia) * gemm_elem(B, bt, ib);
                                    }
                                    size_t ic = (size_t)(b * sc + j * ldc + i);
                                    double c0 = ct == DUO_E_F64 ? hc[ic] : (double)(float)hc[ic];
                                    double w = 0.75 * acc + (beta ? c0 : 0);
                                    worst = fmax(worst, fabs(gemm_elem(C, ct, ic) - w));
                                    scale = fmax(scale, fabs(w));
                                }
                        double tol = ct == DUO_E_F64 ? 1e-14 : 1e-6;
                        CHECK_MSG(worst <= tol * fmax(scale, 1), "types %d ta %d tb %d k %d beta %d: %.3g", ty, ta, tb, k,
                                  beta, worst);
                    }
                    free(ha);
                    free(hb);
                    free(hc);
                    free(A);
                    free(B);
                    free(C);
                }
    duo_error err = {{0}};
    CHECK(backend_check(be, &err) == 0);
    duo_gemm bad = {.m = 2, .n = 2, .k = 2, .a_type = DUO_E_F64, .b_type = DUO_E_F32, .c_type = DUO_E_F32, .lda = 2,
                    .ldb = 2, .ldc = 2, .batch = 1};
    be->prims->gemm(be, &bad);
    CHECK(backend_check(be, &err) == -1);
    CHECK_MSG(strstr(err.msg, "unsupported operand types A float64, B float32") != NULL, "%.300s", err.msg);
    backend_free(be);
}

/* ---- the step ------------------------------------------------------------------------------------- */
/* FD check of the float64 step on a backend: max |fd - analytic| / max |analytic| (-1 on error). */
static double fd_rel(const duo_model *m, duo_backend *be, duo_attn_kind impl, int sink, int recent, size_t n,
                     const int *lab, int nlab, duo_error *err) {
    duo_step_opts o = {sink, recent, impl, 1};
    duo_step_ctx *ctx = duo_step_create(m, &o, be, err);
    if (!ctx) return -1;
    int G = m->cfg.num_hidden_layers * m->cfg.num_key_value_heads;
    int32_t *ids = malloc(n * sizeof *ids), *labels = malloc(n * sizeof *labels);
    double *gates = malloc(G * sizeof *gates), *grad = malloc(G * sizeof *grad), *g2 = malloc(G * sizeof *g2);
    make_ids(ids, n, 12345u + (uint32_t)n, m->cfg.vocab_size);
    make_labels(labels, n, lab, nlab);
    for (int i = 0; i < G; i++) gates[i] = 0.15 + 0.7 * (double)((i * 37) % 11) / 10.0;
    duo_step_result r;
    double rel = -1, maxg = 0, maxd = 0;
    const double h = 1e-5;
    if (duo_step_run_f64(ctx, ids, labels, n, gates, &r, grad, err)) goto done;
    for (int i = 0; i < G; i++) {
        duo_step_result rp, rm;
        double g0 = gates[i];
        gates[i] = g0 + h;
        if (duo_step_run_f64(ctx, ids, labels, n, gates, &rp, g2, err)) goto done;
        gates[i] = g0 - h;
        if (duo_step_run_f64(ctx, ids, labels, n, gates, &rm, g2, err)) goto done;
        gates[i] = g0;
        double fd = (rp.distill - rm.distill) / (2 * h);
        maxg = fmax(maxg, fabs(grad[i]));
        maxd = fmax(maxd, fabs(fd - grad[i]));
    }
    rel = maxg > 0 ? maxd / maxg : INFINITY;
done:
    duo_step_free(ctx);
    free(ids);
    free(labels);
    free(gates);
    free(grad);
    free(g2);
    return rel;
}

static void fd_case(test_ctx *t, duo_attn_kind impl, int sink, int recent, size_t n) {
    duo_model_config cfg = tiny_cfg(2, 4, 2, 4);
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(random_model_create(&cfg, DUO_F32, 7, 1.0, &m, &err) == 0, "%.300s", err.msg);
    duo_backend *be = backend_cpu_composite_create(1, 0, &err);
    int lab[] = {(int)n - 30, (int)n - 11, (int)n - 1};
    double rel = be ? fd_rel(&m, be, impl, sink, recent, n, lab, 3, &err) : -1;
    backend_free(be);
    random_model_free(&m);
    CHECK_MSG(rel >= 0, "%.300s", err.msg);
    if (verbose()) fprintf(stderr, "  f64 composite step FD (%s): %.3g relative\n", attn_kind_name(impl), rel);
    CHECK_MSG(rel <= 1e-6, "FD relative error %.3g", rel);
}

/* The checkpoints' loader path (bf16 / f16 weights, Qwen biases and q/k norms) on the f64 composite. */
static void fd_checkpoint_case(test_ctx *t, const char *dir, duo_attn_kind impl, int sink, int recent, size_t n) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%.300s", err.msg);
    duo_backend *be = backend_cpu_composite_create(1, 0, &err);
    int lab[] = {(int)n - 40, (int)n - 39, (int)n - 20, (int)n - 1};
    double rel = be ? fd_rel(&m, be, impl, sink, recent, n, lab, 4, &err) : -1;
    backend_free(be);
    model_close(&m);
    CHECK_MSG(rel >= 0, "%s: %.300s", dir, err.msg);
    if (verbose()) fprintf(stderr, "  f64 composite step FD %s: %.3g relative\n", dir, rel);
    CHECK_MSG(rel <= 1e-6, "%s: FD relative error %.3g", dir, rel);
}

TEST(fd_gradients_f64_composite_sdpa) { fd_case(t, ATTN_STREAM_SDPA, 3, 17, 150); }
TEST(fd_gradients_f64_composite_qwen2_bias) {
    fd_checkpoint_case(t, "tests/fixtures/models/tiny-qwen2-gqa-bf16-tied", ATTN_STREAM_SDPA, 6, 40, 200);
}
TEST(fd_gradients_f64_composite_qwen3_qk_norm) {
    fd_checkpoint_case(t, "tests/fixtures/models/tiny-qwen3-headdim", ATTN_STREAM_BLOCKSPARSE, 10, 100, 330);
}
TEST(fd_gradients_f64_composite_mistral_f16) {
    fd_checkpoint_case(t, "tests/fixtures/models/tiny-mistral-gqa-f16", ATTN_STREAM_BLOCKSPARSE, 20, 100, 300);
}
TEST(fd_gradients_f64_composite_blocksparse) { fd_case(t, ATTN_STREAM_BLOCKSPARSE, 10, 60, 300); }

/* The float step on two backends: relative differences of distill and of the gate gradient. */
static int step_compare(const duo_model *m, duo_backend *a, duo_backend *b, duo_attn_kind impl, int sink, int recent,
                        size_t n, double *d_distill, double *d_grad, duo_error *err) {
    int G = m->cfg.num_hidden_layers * m->cfg.num_key_value_heads;
    int32_t *ids = malloc(n * sizeof *ids), *labels = malloc(n * sizeof *labels);
    float *gates = malloc(G * sizeof *gates), *ga = malloc(G * sizeof *ga), *gb = malloc(G * sizeof *gb);
    make_ids(ids, n, 555, m->cfg.vocab_size);
    int lab[] = {(int)n - 40, (int)n - 39, (int)n - 20, (int)n - 1};
    make_labels(labels, n, lab, 4);
    for (int i = 0; i < G; i++) gates[i] = 0.25f + 0.5f * (float)(i % 3) / 2;
    duo_step_opts o = {sink, recent, impl, 1};
    duo_step_ctx *ca = duo_step_create(m, &o, a, err), *cb = ca ? duo_step_create(m, &o, b, err) : NULL;
    duo_step_result ra, rb;
    int ok = cb && !duo_step_run(ca, ids, labels, n, gates, &ra, ga, err) &&
             !duo_step_run(cb, ids, labels, n, gates, &rb, gb, err);
    if (ok) {
        double maxg = 0, maxd = 0;
        for (int i = 0; i < G; i++) {
            maxg = fmax(maxg, fabs(ga[i]));
            maxd = fmax(maxd, fabs(ga[i] - gb[i]));
        }
        *d_distill = fabs(ra.distill - rb.distill) / fabs(ra.distill);
        *d_grad = maxg > 0 ? maxd / maxg : maxd;
    }
    duo_step_free(ca);
    duo_step_free(cb);
    free(ids);
    free(labels);
    free(gates);
    free(ga);
    free(gb);
    return ok ? 0 : -1;
}

static void step_case(test_ctx *t, const char *dir, duo_attn_kind impl, int sink, int recent, size_t n) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%.300s", err.msg);
    duo_backend *fused = backend_cpu_create(0, &err), *c32 = backend_cpu_composite_create(0, 0, &err),
                *c16 = backend_cpu_composite_create(0, 1, &err);
    double dd32 = -1, dg32 = -1, dd16 = -1, dg16 = -1;
    int rc = fused && c32 && c16 ? step_compare(&m, fused, c32, impl, sink, recent, n, &dd32, &dg32, &err) : -1;
    if (!rc) rc = step_compare(&m, fused, c16, impl, sink, recent, n, &dd16, &dg16, &err);
    backend_free(fused);
    backend_free(c32);
    backend_free(c16);
    model_close(&m);
    CHECK_MSG(rc == 0, "%s: %.300s", dir, err.msg);
    if (verbose())
        fprintf(stderr, "  step %s: f32 composite distill %.3g grad %.3g; bf16 composite distill %.3g grad %.3g\n", dir,
                dd32, dg32, dd16, dg16);
    CHECK_MSG(dd32 <= 1e-5 && dg32 <= 1e-5, "%s: f32 composite vs fused: distill %.3g, gradient %.3g relative", dir,
              dd32, dg32);
    CHECK_MSG(dd16 <= 2e-2 && dg16 <= 2e-2, "%s: bf16 composite vs f32 fused: distill %.3g, gradient %.3g relative",
              dir, dd16, dg16);
}

TEST(step_retrieval_model_sdpa) { step_case(t, "tests/fixtures/retrieval-model", ATTN_STREAM_SDPA, 16, 64, 256); }
TEST(step_qwen2_bias_tied) { step_case(t, "tests/fixtures/models/tiny-qwen2-gqa-bf16-tied", ATTN_STREAM_SDPA, 6, 40, 200); }
TEST(step_qwen3_qk_norm_blocksparse) {
    step_case(t, "tests/fixtures/models/tiny-qwen3-headdim", ATTN_STREAM_BLOCKSPARSE, 10, 100, 330);
}

/* ---- the inference path --------------------------------------------------------------------------- */
static int greedy(const duo_model *m, duo_backend *be, const uint8_t *full, const int32_t *prompt, size_t n,
                  duo_prefill_mode prefill, int32_t **ids, size_t *nids, duo_error *err) {
    duo_infer_opts o = {.sink_size = 4, .recent_size = 16, .prefilling_chunk_size = 64, .decoding_simulation_length = 5,
                        .prefill = prefill, .max_new_tokens = 8, .max_prompt = n};
    duo_infer *ctx = infer_create(m, be, full, &o, err);
    duo_infer_result r;
    int32_t eos = -1;
    int rc = ctx ? infer_generate(ctx, prompt, n, &eos, 1, NULL, NULL, 0, &r, err) : -1;
    if (!rc) {
        *ids = r.ids;
        *nids = r.n;
    }
    infer_free(ctx);
    return rc;
}

/* Streaming heads attend to their compact cache with the full mask; PREFILL_STREAMING's first forward
 * uses the streaming mask over the prompt (two key spans). */
static void inference_case(test_ctx *t, const char *dir, duo_prefill_mode prefill) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%.300s", err.msg);
    int G = m.cfg.num_hidden_layers * m.cfg.num_key_value_heads;
    uint8_t *full = malloc((size_t)G);
    size_t n = 100;
    int32_t *prompt = malloc(n * sizeof *prompt);
    make_ids(prompt, n, 99, m.cfg.vocab_size);
    duo_backend *fused = backend_cpu_create(0, &err), *cmp = backend_cpu_composite_create(0, 0, &err);
    char failure[400] = "";
    for (int sp = 0; sp < 2 && !failure[0]; sp++) {
        for (int i = 0; i < G; i++) full[i] = sp == 0 ? 1 : (uint8_t)(i % 2);
        int32_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        if (greedy(&m, fused, full, prompt, n, prefill, &a, &na, &err) ||
            greedy(&m, cmp, full, prompt, n, prefill, &b, &nb, &err))
            snprintf(failure, sizeof failure, "%.300s", err.msg);
        else if (na != nb || na == 0 || memcmp(a, b, na * sizeof *a))
            snprintf(failure, sizeof failure, "%s, sparsity %s: greedy ids differ (%zu vs %zu ids)", dir, sp ? "0.5" : "0",
                     na, nb);
        free(a);
        free(b);
    }
    backend_free(fused);
    backend_free(cmp);
    free(full);
    free(prompt);
    model_close(&m);
    CHECK_MSG(!failure[0], "%s", failure);
}

TEST(inference_greedy_ids_qwen2_bias) {
    inference_case(t, "tests/fixtures/models/tiny-qwen2-gqa-bf16-tied", PREFILL_REFERENCE);
}
TEST(inference_greedy_ids_llama_gqa_streaming_prefill) {
    inference_case(t, "tests/fixtures/models/tiny-llama-gqa", PREFILL_STREAMING);
}
TEST(inference_greedy_ids_retrieval_model) { inference_case(t, "tests/fixtures/retrieval-model", PREFILL_REFERENCE); }
TEST(inference_greedy_ids_retrieval_model_streaming_prefill) {
    inference_case(t, "tests/fixtures/retrieval-model", PREFILL_STREAMING);
}

TEST_MAIN()
