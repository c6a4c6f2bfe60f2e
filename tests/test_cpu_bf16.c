/* The CPU backend with bf16 weight storage (--dtype bf16 --backend cpu, kernels/cpu/dense_bf16_impl.h):
 *   - every op case of tests/op_cases.h against the float32 backend within the cases' bf16 tolerance;
 *   - with weights that bf16 holds exactly, the weight-reading ops equal the float32 backend's (the same
 *     arithmetic on exactly widened weights): bit for bit where the float32 path runs the same calls,
 *     within float rounding where the weight is split into several tiles;
 *   - the inference path on the retrieval model (a bf16 checkpoint, so both backends hold the same
 *     values): the same greedy ids and logits, with half the weight bytes. */
#include <math.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/math/bf16.h"
#include "model/infer.h"
#include "model/weights.h"
#include "tests/harness.h"
#include "tests/op_cases.h"
#include "tests/tiny_model.h"

TEST(op_cases_cpu_bf16_vs_f32_within_bf16_tolerance) {
    duo_backend *ref = backend_cpu_create(0, NULL), *bf = backend_cpu_bf16_create(NULL);
    CHECK(ref && bf);
    CHECK(bf->weight_type == DUO_E_BF16 && bf->weight_size == 2 && bf->act_type == DUO_E_F32);
    for (size_t i = 0; i < OP_CASES_COUNT; i++) {
        oc_result r;
        int rc = op_case_run(&OP_CASES[i], ref, bf, &r);
        CHECK_MSG(rc == 0, "%s: %s", OP_CASES[i].name, r.why);
        CHECK_MSG(r.within, "%s: %s", OP_CASES[i].name, r.why);
    }
    backend_free(ref);
    backend_free(bf);
}

static float bf16_value(uint64_t *s) { /* a random bf16-representable float in about [-1, 1) */
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return duo_bf16_to_f32(duo_f32_to_bf16((float)((double)(*s >> 11) / 9007199254740992.0 * 2 - 1)));
}

/* max |a - b| / max |b| over n floats */
static double rel_diff(const float *a, const float *b, size_t n) {
    double d = 0, mag = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        mag = fmax(mag, fabs((double)b[i]));
    }
    return d / (mag > 0 ? mag : 1);
}

/* linear and linear_bwd, m rows, W [nout][k] bf16-exact: the bf16 backend vs the float32 one. */
static int compare_linear(int m, int k, int nout, double beta, int bwd, double *diff) {
    duo_backend *f = backend_cpu_create(0, NULL), *b = backend_cpu_bf16_create(NULL);
    int kin = bwd ? nout : k, kout = bwd ? k : nout; /* bwd: dY[m][nout] W[nout][k] -> dX[m][k] */
    size_t nw = (size_t)nout * k;
    float *X = malloc((size_t)m * kin * sizeof *X), *Wf = malloc(nw * sizeof *Wf);
    float *Yf = malloc((size_t)m * kout * sizeof *Yf), *Yb = malloc((size_t)m * kout * sizeof *Yb);
    uint16_t *Wb = malloc(nw * sizeof *Wb);
    if (!f || !b || !X || !Wf || !Yf || !Yb || !Wb) return -1;
    uint64_t s = 7 + (uint64_t)m * 31 + (uint64_t)k * 7 + (uint64_t)nout;
    for (size_t i = 0; i < (size_t)m * kin; i++) X[i] = bf16_value(&s);
    for (size_t i = 0; i < nw; i++) {
        Wf[i] = bf16_value(&s) * 0.25f;
        Wb[i] = duo_f32_to_bf16(Wf[i]); /* exact */
    }
    for (size_t i = 0; i < (size_t)m * kout; i++) Yf[i] = Yb[i] = bf16_value(&s);
    if (bwd) {
        f->ops->linear_bwd(f, X, (size_t)m, nout, Wf, k, Yf, beta);
        b->ops->linear_bwd(b, X, (size_t)m, nout, Wb, k, Yb, beta);
    } else {
        f->ops->linear(f, X, (size_t)m, k, Wf, nout, Yf, beta);
        b->ops->linear(b, X, (size_t)m, k, Wb, nout, Yb, beta);
    }
    *diff = rel_diff(Yb, Yf, (size_t)m * kout);
    int rc = backend_check(f, NULL) || backend_check(b, NULL) ? -1 : 0;
    free(X), free(Wf), free(Yf), free(Yb), free(Wb);
    backend_free(f);
    backend_free(b);
    return rc;
}

TEST(bf16_linear_equals_f32_on_exact_weights) {
    static const int shapes[][3] = {{1, 37, 23}, {1, 256, 130}, {2, 64, 5}, {37, 29, 23}, {300, 256, 512}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int bwd = 0; bwd <= 1; bwd++)
            for (int beta = 0; beta <= 1; beta++) {
                if (bwd && shapes[i][0] == 1) continue; /* one-row backward: the same BLAS call as m > 1 */
                double d;
                CHECK(!compare_linear(shapes[i][0], shapes[i][1], shapes[i][2], beta, bwd, &d));
                CHECK_MSG(d == 0, "m %d k %d nout %d %s beta %d: %.3g", shapes[i][0], shapes[i][1], shapes[i][2],
                          bwd ? "bwd" : "fwd", beta, d);
            }
}

/* 4096 x 1100 weights are two tiles of widened rows (the second short): the forward splits the output
 * columns (each column's sum as before), the backward splits the sum over nout (float rounding). */
TEST(bf16_linear_over_several_tiles) {
    double d;
    CHECK(!compare_linear(3, 4096, 1100, 1, 0, &d));
    CHECK_MSG(d <= 1e-6, "fwd: %.3g", d);
    for (int beta = 0; beta <= 1; beta++) { /* beta applies to the first tile only */
        CHECK(!compare_linear(3, 4096, 1100, beta, 1, &d));
        CHECK_MSG(d <= 1e-5, "bwd beta %d: %.3g", beta, d);
    }
    CHECK(!compare_linear(1, 4096, 1100, 0, 0, &d)); /* one row, big enough to be split over threads */
    CHECK_MSG(d == 0, "one row: %.3g", d);
}

TEST(bf16_norms_and_bias_equal_f32_on_exact_weights) {
    duo_backend *f = backend_cpu_create(0, NULL), *b = backend_cpu_bf16_create(NULL);
    CHECK(f && b);
    enum { M = 9, D = 67 };
    float X[M * D], dY[M * D], Yf[M * D], Yb[M * D], wf[D];
    uint16_t wb[D];
    uint64_t s = 5;
    for (int i = 0; i < M * D; i++) X[i] = bf16_value(&s) * 3, dY[i] = bf16_value(&s);
    for (int i = 0; i < D; i++) wf[i] = bf16_value(&s), wb[i] = duo_f32_to_bf16(wf[i]);
    f->ops->rmsnorm(f, X, M, D, wf, 1e-5, Yf);
    b->ops->rmsnorm(b, X, M, D, wb, 1e-5, Yb);
    CHECK_MSG(rel_diff(Yb, Yf, M * D) == 0, "rmsnorm");
    for (int acc = 0; acc <= 1; acc++) {
        for (int i = 0; i < M * D; i++) Yf[i] = Yb[i] = dY[i] * 0.5f;
        f->ops->rmsnorm_bwd(f, X, M, D, wf, 1e-5, dY, Yf, acc);
        b->ops->rmsnorm_bwd(b, X, M, D, wb, 1e-5, dY, Yb, acc);
        CHECK_MSG(rel_diff(Yb, Yf, M * D) == 0, "rmsnorm_bwd accumulate %d", acc);
    }
    memcpy(Yf, X, sizeof X);
    memcpy(Yb, X, sizeof X);
    f->ops->add_bias_rows(f, Yf, M, D, wf);
    b->ops->add_bias_rows(b, Yb, M, D, wb);
    CHECK_MSG(rel_diff(Yb, Yf, M * D) == 0, "add_bias_rows");
    CHECK(!backend_check(f, NULL) && !backend_check(b, NULL));
    backend_free(f);
    backend_free(b);
}

/* Greedy ids and logits of the inference path (prefill, decoding simulation, generation) on one backend. */
static int run_infer(const duo_model *m, duo_backend *be, const int32_t *prompt, size_t n, duo_infer_result *r,
                     duo_error *err) {
    int G = m->cfg.num_hidden_layers * m->cfg.num_key_value_heads;
    uint8_t full[256];
    for (int i = 0; i < G && i < 256; i++) full[i] = (uint8_t)(i % 2);
    duo_infer_opts o = {.sink_size = 4, .recent_size = 16, .prefilling_chunk_size = 64, .decoding_simulation_length = 5,
                        .max_new_tokens = 8, .max_prompt = n};
    duo_infer *ctx = infer_create(m, be, full, &o, err);
    int32_t eos = -1;
    int rc = ctx ? infer_generate(ctx, prompt, n, &eos, 1, NULL, NULL, 9, r, err) : -1;
    infer_free(ctx);
    return rc;
}

TEST(bf16_inference_matches_f32_on_a_bf16_checkpoint_with_half_the_weights) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open("tests/fixtures/retrieval-model", &m, &err) == 0, "%.300s", err.msg);
    size_t n = 150;
    int32_t prompt[150];
    make_ids(prompt, n, 77, m.cfg.vocab_size);
    duo_backend *f = backend_cpu_create(0, &err), *b = backend_cpu_bf16_create(&err);
    duo_infer_result rf, rb;
    memset(&rf, 0, sizeof rf);
    memset(&rb, 0, sizeof rb);
    int ok = f && b && !run_infer(&m, f, prompt, n, &rf, &err) && !run_infer(&m, b, prompt, n, &rb, &err);
    char failure[400] = "";
    if (!ok) snprintf(failure, sizeof failure, "%.300s", err.msg);
    else if (rf.n != rb.n || rf.n == 0 || memcmp(rf.ids, rb.ids, rf.n * sizeof *rf.ids))
        snprintf(failure, sizeof failure, "greedy ids differ (%zu vs %zu ids)", rf.n, rb.n);
    else if (rf.logits_rows != rb.logits_rows || rf.logits_rows == 0)
        snprintf(failure, sizeof failure, "logits rows %zu vs %zu", rf.logits_rows, rb.logits_rows);
    else {
        double d = rel_diff(rb.logits, rf.logits, rf.logits_rows * (size_t)m.cfg.vocab_size);
        if (d > 1e-6) snprintf(failure, sizeof failure, "logits differ by %.3g relative", d);
    }
    if (!failure[0]) { /* resident weight bytes: bf16 holds half of float32's */
        duo_weights *wf = weights_create(&m, f, 1, &err), *wb = wf ? weights_create(&m, b, 1, &err) : NULL;
        if (!wf || !wb || !weights_lm_head(wf, &err) || !weights_lm_head(wb, &err) ||
            !weights_layer(wf, 0, &err) || !weights_layer(wb, 0, &err))
            snprintf(failure, sizeof failure, "weights: %.300s", err.msg);
        else if (2 * weights_bytes(wb) != weights_bytes(wf))
            snprintf(failure, sizeof failure, "weight bytes bf16 %zu, float32 %zu", weights_bytes(wb), weights_bytes(wf));
        weights_free(wf);
        weights_free(wb);
    }
    infer_result_free(&rf);
    infer_result_free(&rb);
    backend_free(f);
    backend_free(b);
    model_close(&m);
    CHECK_MSG(!failure[0], "%s", failure);
}

TEST_MAIN()
