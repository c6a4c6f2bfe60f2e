/* The two-way step (model/duo_step.h): gate gradients against double-precision central finite
 * differences of the double-precision step (same source), the dependency cone on vs off, float vs
 * double, and bad input.
 *
 * Gradient error measure: max over gates |fd - analytic| / max over gates |analytic| (must be <= 1e-6). */
#include <stdint.h>

#include "model/duo_step.h"
#include "model/duo_step_f64.h"
#include "model/random_model.h"
#include "tests/harness.h"
#include "tests/tiny_model.h"

/* Runs the FD check; returns the relative error (or -1 on a step error, message in err). */
static double fd_check(const duo_model *m, duo_attn_kind impl, int sink, int recent, size_t n,
                       const int *lab, int nlab, int use_cone, double *distill_out, duo_error *err) {
    duo_step_opts o = {sink, recent, impl, use_cone};
    duo_step_ctx_f64 *ctx = duo_step_create_f64(m, &o, err);
    if (!ctx) return -1;
    int G = m->cfg.num_hidden_layers * m->cfg.num_key_value_heads;
    int32_t *ids = malloc(n * sizeof *ids), *labels = malloc(n * sizeof *labels);
    double *gates = malloc(G * sizeof *gates), *grad = malloc(G * sizeof *grad), *g2 = malloc(G * sizeof *g2);
    make_ids(ids, n, 12345u + (uint32_t)n, 50);
    make_labels(labels, n, lab, nlab);
    for (int i = 0; i < G; i++) gates[i] = 0.15 + 0.7 * (double)((i * 37) % 11) / 10.0; /* inside (0,1) */
    duo_step_result r;
    double rel = -1;
    if (duo_step_run_f64(ctx, ids, labels, n, gates, &r, grad, err)) goto done;
    *distill_out = r.distill;
    double maxg = 0, maxd = 0;
    const double h = 1e-5;
    for (int i = 0; i < G; i++) {
        duo_step_result rp, rm;
        double g0 = gates[i];
        gates[i] = g0 + h;
        if (duo_step_run_f64(ctx, ids, labels, n, gates, &rp, g2, err)) goto done;
        gates[i] = g0 - h;
        if (duo_step_run_f64(ctx, ids, labels, n, gates, &rm, g2, err)) goto done;
        gates[i] = g0;
        double fd = (rp.distill - rm.distill) / (2 * h);
        if (fabs(grad[i]) > maxg) maxg = fabs(grad[i]);
        if (fabs(fd - grad[i]) > maxd) maxd = fabs(fd - grad[i]);
    }
    rel = maxg > 0 ? maxd / maxg : (maxd == 0 ? 0 : INFINITY);
done:
    free(ids);
    free(labels);
    free(gates);
    free(grad);
    free(g2);
    duo_step_free_f64(ctx);
    return rel;
}

typedef struct {
    const char *what;
    int layers, heads, kv, hd;
    duo_attn_kind impl;
    int sink, recent;
    size_t n;
    int lab[8], nlab;
} fd_case;

static void run_fd_cases(test_ctx *t, const fd_case *cases, int ncases) {
    for (int k = 0; k < ncases; k++) {
        const fd_case *c = &cases[k];
        duo_model_config cfg = tiny_cfg(c->layers, c->heads, c->kv, c->hd);
        duo_model m;
        duo_error err = {{0}};
        CHECK_MSG(random_model_create(&cfg, DUO_F32, 7 + k, 1.0, &m, &err) == 0, "%.300s", err.msg);
        double distill = 0;
        double rel = fd_check(&m, c->impl, c->sink, c->recent, c->n, c->lab, c->nlab, 1, &distill, &err);
        random_model_free(&m);
        CHECK_MSG(rel >= 0, "%s: %.300s", c->what, err.msg);
        CHECK_MSG(distill > 1e-8, "%s: distill %g is too small for a meaningful check", c->what, distill);
        if (getenv("DUO_TEST_VERBOSE")) fprintf(stderr, "  %s: distill %.6g, FD rel err %.3g\n", c->what, distill, rel);
        CHECK_MSG(rel <= 1e-6, "%s: FD relative error %.3g > 1e-6", c->what, rel);
    }
}

TEST(fd_gradients_blocksparse) {
    static const fd_case cases[] = {
        {"MHA blocksparse sink 16 recent 64 n 300, last labels", 2, 4, 4, 4, ATTN_STREAM_BLOCKSPARSE, 16, 64, 300,
         {290, 291, 292, 293, 294, 295, 296, 299}, 8},
        {"GQA blocksparse sink 100 recent 200 n 520, middle labels", 2, 4, 2, 4, ATTN_STREAM_BLOCKSPARSE, 100, 200,
         520, {140, 141, 142, 500}, 4},
        {"GQA blocksparse sink 0 recent 100 n 280, sparse labels", 3, 4, 2, 4, ATTN_STREAM_BLOCKSPARSE, 0, 100, 280,
         {129, 200, 279}, 3},
    };
    run_fd_cases(t, cases, (int)(sizeof cases / sizeof *cases));
}

TEST(fd_gradients_sdpa) {
    static const fd_case cases[] = {
        {"MHA sdpa sink 4 recent 8 n 40", 2, 4, 4, 4, ATTN_STREAM_SDPA, 4, 8, 40, {30, 31, 39}, 3},
        {"GQA sdpa sink 5 recent 37 n 300, sparse labels", 2, 4, 2, 4, ATTN_STREAM_SDPA, 5, 37, 300,
         {60, 150, 151, 299}, 4},
        {"GQA(4:1) sdpa sink 0 recent 129 n 260, one label", 2, 4, 1, 6, ATTN_STREAM_SDPA, 0, 129, 260, {259}, 1},
    };
    run_fd_cases(t, cases, (int)(sizeof cases / sizeof *cases));
}

/* The cone changes which positions are computed, never the result. */
static void cone_compare(test_ctx *t, duo_attn_kind impl, int sink, int recent) {
    duo_model_config cfg = tiny_cfg(3, 4, 2, 4);
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(random_model_create(&cfg, DUO_F32, 99, 1.0, &m, &err) == 0, "%.300s", err.msg);
    size_t n = 400;
    int32_t ids[400], labels[400];
    make_ids(ids, n, 77, 50);
    int lab[] = {300, 301, 302, 350, 399};
    make_labels(labels, n, lab, 5);
    int G = 3 * 2;
    float gates[6] = {0.2f, 0.9f, 0.5f, 0.0f, 1.0f, 0.35f}, gon[6], goff[6];
    double dgates[6], don[6], doff[6];
    for (int i = 0; i < G; i++) dgates[i] = gates[i];
    duo_step_result ron, roff, dron, droff;
    duo_step_opts on = {sink, recent, impl, 1}, off = {sink, recent, impl, 0};
    duo_step_ctx *c1 = duo_step_create(&m, &on, NULL, &err), *c2 = duo_step_create(&m, &off, NULL, &err);
    duo_step_ctx_f64 *d1 = duo_step_create_f64(&m, &on, &err), *d2 = duo_step_create_f64(&m, &off, &err);
    int ok = c1 && c2 && d1 && d2 && !duo_step_run(c1, ids, labels, n, gates, &ron, gon, &err) &&
             !duo_step_run(c2, ids, labels, n, gates, &roff, goff, &err) &&
             !duo_step_run_f64(d1, ids, labels, n, dgates, &dron, don, &err) &&
             !duo_step_run_f64(d2, ids, labels, n, dgates, &droff, doff, &err);
    duo_step_free(c1);
    duo_step_free(c2);
    duo_step_free_f64(d1);
    duo_step_free_f64(d2);
    random_model_free(&m);
    CHECK_MSG(ok, "%.300s", err.msg);
    CHECK(ron.cone_positions < roff.cone_positions);
    CHECK_EQ_INT(roff.cone_positions, roff.all_positions);
    CHECK_EQ_INT(ron.num_label_positions, 5);
    /* double: equal to rounding; float: to float rounding */
    CHECK_CLOSE(dron.distill, droff.distill, 1e-12);
    CHECK_CLOSE(ron.distill, roff.distill, 1e-5);
    double maxg = 0;
    for (int i = 0; i < G; i++) maxg = fmax(maxg, fabs(doff[i]));
    CHECK(maxg > 0);
    for (int i = 0; i < G; i++) {
        CHECK_MSG(fabs(don[i] - doff[i]) <= 1e-12 * maxg, "f64 gate %d: cone %.17g vs all %.17g", i, don[i], doff[i]);
        CHECK_MSG(fabs(gon[i] - goff[i]) <= 1e-4 * maxg, "f32 gate %d: cone %.9g vs all %.9g", i, gon[i], goff[i]);
        /* float path agrees with the double oracle */
        CHECK_MSG(fabs(gon[i] - don[i]) <= 1e-3 * maxg, "gate %d: f32 %.9g vs f64 %.9g", i, gon[i], don[i]);
    }
    CHECK_CLOSE(dron.distill, ron.distill, 1e-4);
}

TEST(cone_on_off_same_blocksparse) { cone_compare(t, ATTN_STREAM_BLOCKSPARSE, 10, 60); }
TEST(cone_on_off_same_sdpa) { cone_compare(t, ATTN_STREAM_SDPA, 3, 45); }

TEST(gates_outside_unit_interval_get_zero_gradient) {
    duo_model_config cfg = tiny_cfg(2, 4, 2, 4);
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(random_model_create(&cfg, DUO_F32, 5, 1.0, &m, &err) == 0, "%.300s", err.msg);
    size_t n = 64;
    int32_t ids[64], labels[64];
    make_ids(ids, n, 3, 50);
    int lab[] = {60, 63};
    make_labels(labels, n, lab, 2);
    double gates[4] = {-0.5, 1.5, 0.5, 0.5}, grad[4], gates_clamped[4] = {0, 1, 0.5, 0.5}, grad2[4];
    duo_step_opts o = {2, 8, ATTN_STREAM_SDPA, 1};
    duo_step_ctx_f64 *c = duo_step_create_f64(&m, &o, &err);
    duo_step_result r1, r2;
    int ok = c && !duo_step_run_f64(c, ids, labels, n, gates, &r1, grad, &err) &&
             !duo_step_run_f64(c, ids, labels, n, gates_clamped, &r2, grad2, &err);
    duo_step_free_f64(c);
    random_model_free(&m);
    CHECK_MSG(ok, "%.300s", err.msg);
    CHECK(grad[0] == 0 && grad[1] == 0);
    CHECK(grad[2] != 0 && grad[3] != 0);
    CHECK(r1.distill == r2.distill); /* the clamp is applied to the forward */
}

/* sink + recent >= n: the streaming mask is then causal full attention, so student == teacher. */
TEST(window_covering_the_sample_is_full_attention) {
    duo_model_config cfg = tiny_cfg(2, 4, 2, 4);
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(random_model_create(&cfg, DUO_F32, 6, 1.0, &m, &err) == 0, "%.300s", err.msg);
    size_t n = 50;
    int32_t ids[50], labels[50];
    make_ids(ids, n, 4, 50);
    int lab[] = {40, 49};
    make_labels(labels, n, lab, 2);
    double gates[4] = {0.1, 0.2, 0.3, 0.4}, grad[4];
    duo_step_opts o = {10, 40, ATTN_STREAM_SDPA, 1};
    duo_step_ctx_f64 *c = duo_step_create_f64(&m, &o, &err);
    duo_step_result r;
    int ok = c && !duo_step_run_f64(c, ids, labels, n, gates, &r, grad, &err);
    duo_step_free_f64(c);
    random_model_free(&m);
    CHECK_MSG(ok, "%.300s", err.msg);
    CHECK(r.distill < 1e-20);
    for (int i = 0; i < 4; i++) CHECK(fabs(grad[i]) < 1e-12);
}

TEST(bad_input_is_an_error) {
    duo_model_config cfg = tiny_cfg(2, 4, 2, 4);
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(random_model_create(&cfg, DUO_F32, 8, 1.0, &m, &err) == 0, "%.300s", err.msg);
    duo_step_opts bad = {4, 0, ATTN_STREAM_SDPA, 1};
    duo_step_ctx *c = duo_step_create(&m, &bad, NULL, &err);
    CHECK(c == NULL);
    CHECK(strstr(err.msg, "recent_size") != NULL);
    duo_step_opts o = {4, 8, ATTN_STREAM_BLOCKSPARSE, 1};
    c = duo_step_create(&m, &o, NULL, &err);
    CHECK_MSG(c != NULL, "%.300s", err.msg);
    int32_t ids[20], labels[20];
    make_ids(ids, 20, 1, 50);
    make_labels(labels, 20, NULL, 0);
    float gates[4] = {0.5f, 0.5f, 0.5f, 0.5f}, grad[4];
    duo_step_result r;
    int rc_nolabel = duo_step_run(c, ids, labels, 20, gates, &r, grad, &err);
    int nolabel_msg = strstr(err.msg, "label") != NULL;
    labels[19] = 3;
    gates[2] = NAN;
    int rc_nan = duo_step_run(c, ids, labels, 20, gates, &r, grad, &err);
    int nan_msg = strstr(err.msg, "gate") != NULL;
    gates[2] = 0.5f;
    ids[3] = 50; /* outside the vocabulary */
    int rc_id = duo_step_run(c, ids, labels, 20, gates, &r, grad, &err);
    int id_msg = strstr(err.msg, "position 3") != NULL;
    ids[3] = 1;
    int rc_ok = duo_step_run(c, ids, labels, 20, gates, &r, grad, &err);
    duo_step_free(c);
    random_model_free(&m);
    CHECK(rc_nolabel == -1 && nolabel_msg);
    CHECK(rc_nan == -1 && nan_msg);
    CHECK(rc_id == -1 && id_msg);
    CHECK_MSG(rc_ok == 0, "%.300s", err.msg);
}

/* A non-finite loss (here: weights that overflow float32) is reported, not returned as a number. */
TEST(non_finite_loss_is_an_error) {
    duo_model_config cfg = tiny_cfg(2, 4, 2, 4);
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(random_model_create(&cfg, DUO_F32, 9, 1e30, &m, &err) == 0, "%.300s", err.msg);
    duo_step_opts o = {4, 8, ATTN_STREAM_SDPA, 1};
    duo_step_ctx *c = duo_step_create(&m, &o, NULL, &err);
    int32_t ids[20], labels[20];
    make_ids(ids, 20, 2, 50);
    int lab[] = {19};
    make_labels(labels, 20, lab, 1);
    float gates[4] = {0.5f, 0.5f, 0.5f, 0.5f}, grad[4];
    duo_step_result r;
    int rc = c ? duo_step_run(c, ids, labels, 20, gates, &r, grad, &err) : 0;
    duo_step_free(c);
    random_model_free(&m);
    CHECK(rc == -1);
    CHECK_MSG(strstr(err.msg, "not finite") != NULL, "%.300s", err.msg);
}

/* The real loader path (f16 / bf16 checkpoints converted per layer): FD in double, and float vs double. */
static void checkpoint_case(test_ctx *t, const char *dir, duo_attn_kind impl, int sink, int recent, size_t n) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%.300s", err.msg);
    int lab[] = {(int)n - 40, (int)n - 39, (int)n - 20, (int)n - 1};
    double distill = 0;
    double rel = fd_check(&m, impl, sink, recent, n, lab, 4, 1, &distill, &err);
    /* float path vs double path on the same sample */
    int G = m.cfg.num_hidden_layers * m.cfg.num_key_value_heads;
    int32_t *ids = malloc(n * sizeof *ids), *labels = malloc(n * sizeof *labels);
    make_ids(ids, n, 555, 50);
    for (size_t i = 0; i < n; i++) ids[i] %= m.cfg.vocab_size;
    make_labels(labels, n, lab, 4);
    float *gf = malloc(G * sizeof *gf), *grf = malloc(G * sizeof *grf);
    double *gd = malloc(G * sizeof *gd), *grd = malloc(G * sizeof *grd);
    for (int i = 0; i < G; i++) gd[i] = gf[i] = 0.25f + 0.5f * (float)(i % 3) / 2;
    duo_step_opts o = {sink, recent, impl, 1};
    duo_step_ctx *cf = duo_step_create(&m, &o, NULL, &err);
    duo_step_ctx_f64 *cd = duo_step_create_f64(&m, &o, &err);
    duo_step_result rf, rd;
    int ok = cf && cd && !duo_step_run(cf, ids, labels, n, gf, &rf, grf, &err) &&
             !duo_step_run_f64(cd, ids, labels, n, gd, &rd, grd, &err);
    double maxg = 0, maxd = 0;
    for (int i = 0; ok && i < G; i++) {
        maxg = fmax(maxg, fabs(grd[i]));
        maxd = fmax(maxd, fabs(grd[i] - grf[i]));
    }
    duo_step_free(cf);
    duo_step_free_f64(cd);
    model_close(&m);
    free(ids); free(labels); free(gf); free(grf); free(gd); free(grd);
    CHECK_MSG(rel >= 0, "%s: %.300s", dir, err.msg);
    CHECK_MSG(ok, "%.300s", err.msg);
    if (getenv("DUO_TEST_VERBOSE"))
        fprintf(stderr, "  %s: distill %.6g FD rel err %.3g, f32 vs f64: distill %.3g rel, grad %.3g rel\n", dir,
                distill, rel, fabs(rf.distill - rd.distill) / rd.distill, maxd / maxg);
    CHECK_MSG(distill > 1e-10, "distill %g", distill);
    CHECK_MSG(rel <= 1e-6, "%s: FD relative error %.3g > 1e-6", dir, rel);
    CHECK_CLOSE(rf.distill / rd.distill, 1.0, 1e-4);
    CHECK_MSG(maxd <= 1e-3 * maxg, "float vs double gradient: %.3g of max %.3g", maxd, maxg);
}

TEST(checkpoint_mistral_f16_blocksparse) { checkpoint_case(t, "tests/fixtures/models/tiny-mistral-gqa-f16", ATTN_STREAM_BLOCKSPARSE, 20, 100, 300); }
/* Qwen: the q/k/v biases and the per-head q/k norms are frozen weights the gradient flows through. */
TEST(checkpoint_qwen2_bias_tied_sdpa) { checkpoint_case(t, "tests/fixtures/models/tiny-qwen2-gqa-bf16-tied", ATTN_STREAM_SDPA, 6, 40, 200); }
TEST(checkpoint_qwen3_qk_norm_blocksparse) { checkpoint_case(t, "tests/fixtures/models/tiny-qwen3-headdim", ATTN_STREAM_BLOCKSPARSE, 10, 100, 330); }
TEST(checkpoint_qwen3_qk_norm_sdpa_no_cone) {
    /* the recompute of the per-head norms off the cone too: same loss and gradient with the cone on or off */
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open("tests/fixtures/models/tiny-qwen3-headdim", &m, &err) == 0, "%.300s", err.msg);
    int lab[] = {150, 170, 199};
    double d_on = 0, d_off = 0;
    double rel_on = fd_check(&m, ATTN_STREAM_SDPA, 4, 30, 200, lab, 3, 1, &d_on, &err);
    double rel_off = rel_on >= 0 ? fd_check(&m, ATTN_STREAM_SDPA, 4, 30, 200, lab, 3, 0, &d_off, &err) : -1;
    model_close(&m);
    CHECK_MSG(rel_on >= 0 && rel_off >= 0, "%.300s", err.msg);
    CHECK_MSG(rel_on <= 1e-6 && rel_off <= 1e-6, "FD relative error %.3g (cone) %.3g (no cone)", rel_on, rel_off);
    CHECK_CLOSE(d_on, d_off, 1e-10);
}
TEST(checkpoint_llama_bf16_tied_sdpa) { checkpoint_case(t, "tests/fixtures/models/tiny-llama-mha-bf16-tied", ATTN_STREAM_SDPA, 8, 30, 150); }

TEST_MAIN()
