/* The float32 forward pass (model/forward.h) against Hugging Face transformers on the tiny checkpoints:
 * every hidden state (output_hidden_states, the last one after the final norm) and the logits.
 * References: tests/fixtures/forward_refs/ from scripts/gen_forward_refs.py.
 * Error measure per tensor (one hidden-state entry, or the logits): max |ours - ref| / max |ref| <= 1e-4. */
#include <jansson.h>
#include <stdint.h>

#include "data/fileio.h"
#include "data/model.h"
#include "model/forward.h"
#include "tests/harness.h"

#define REFS "tests/fixtures/forward_refs"

static double rel_err(const float *a, const float *ref, size_t count) {
    double maxd = 0, maxr = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (!(d <= maxd)) maxd = d; /* NaN propagates */
        if (fabs(ref[i]) > maxr) maxr = fabs(ref[i]);
    }
    return maxr > 0 ? maxd / maxr : maxd;
}

static float *read_f32(const char *path, size_t count) {
    size_t len = 0;
    duo_error err;
    char *buf = file_read_all(path, &len, &err);
    if (!buf || len != count * sizeof(float)) {
        free(buf);
        return NULL;
    }
    float *out = malloc(count * sizeof *out);
    memcpy(out, buf, len);
    free(buf);
    return out;
}

static void check_model(test_ctx *t, const char *name) {
    json_error_t jerr;
    json_t *index = json_load_file(REFS "/index.json", 0, &jerr);
    CHECK_MSG(index, "index.json: %s", jerr.text);
    json_t *entry = json_object_get(json_object_get(index, "models"), name);
    if (!entry) { json_decref(index); FAILF("no reference for %s", name); }
    json_t *jids = json_object_get(entry, "ids"), *hs = json_object_get(entry, "hidden_shape"),
           *ls = json_object_get(entry, "logits_shape");
    size_t n = json_array_size(jids);
    size_t layers1 = (size_t)json_integer_value(json_array_get(hs, 0)), d = (size_t)json_integer_value(json_array_get(hs, 2));
    size_t vocab = (size_t)json_integer_value(json_array_get(ls, 1));
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)json_integer_value(json_array_get(jids, i));
    json_decref(index);

    char dir[256], path[512];
    snprintf(dir, sizeof dir, "tests/fixtures/models/%s", name);
    duo_model m;
    duo_error err = {{0}};
    if (model_open(dir, &m, &err)) { free(ids); FAILF("%.300s", err.msg); }
    int shape_ok = (size_t)m.cfg.num_hidden_layers + 1 == layers1 && (size_t)m.cfg.hidden_size == d &&
                   (size_t)m.cfg.vocab_size == vocab;
    float *hidden = malloc(layers1 * n * d * sizeof *hidden), *logits = malloc(n * vocab * sizeof *logits);
    int rc = shape_ok ? duo_forward(&m, ids, n, hidden, logits, &err) : -1;
    model_close(&m);
    free(ids);
    snprintf(path, sizeof path, REFS "/%s.hidden.f32", name);
    float *rh = read_f32(path, layers1 * n * d);
    snprintf(path, sizeof path, REFS "/%s.logits.f32", name);
    float *rl = read_f32(path, n * vocab);
    double worst = 0;
    char what[64] = "";
    if (rc == 0 && rh && rl) {
        for (size_t l = 0; l < layers1; l++) {
            double e = rel_err(hidden + l * n * d, rh + l * n * d, n * d);
            if (!(e <= worst)) { worst = e; snprintf(what, sizeof what, "hidden state %zu", l); }
        }
        double e = rel_err(logits, rl, n * vocab);
        if (!(e <= worst)) { worst = e; snprintf(what, sizeof what, "logits"); }
    }
    free(hidden);
    free(logits);
    free(rh);
    free(rl);
    CHECK_MSG(shape_ok, "%s: config does not match the reference shapes", name);
    CHECK_MSG(rc == 0, "%.300s", err.msg);
    if (getenv("DUO_TEST_VERBOSE")) fprintf(stderr, "  %s: worst rel err %.3g (%s)\n", name, worst, what);
    CHECK_MSG(worst <= 1e-4, "%s: %s differs from transformers by %.3g (max abs diff / max abs ref)", name, what, worst);
}

TEST(llama_gqa_untied_f32) { check_model(t, "tiny-llama-gqa"); }
TEST(llama_mha_tied_bf16) { check_model(t, "tiny-llama-mha-bf16-tied"); }
TEST(llama_mqa_rope_linear_f16) { check_model(t, "tiny-llama-rope-linear"); }
TEST(llama3_rope_explicit_head_dim) { check_model(t, "tiny-llama3-rope-headdim"); }
TEST(mistral_gqa_f16) { check_model(t, "tiny-mistral-gqa-f16"); }
TEST(llama_sharded_bf16) { check_model(t, "tiny-llama-sharded"); }
TEST(qwen2_qkv_bias_tied_bf16) { check_model(t, "tiny-qwen2-gqa-bf16-tied"); }
TEST(qwen3_qk_norm_explicit_head_dim) { check_model(t, "tiny-qwen3-headdim"); }

TEST(bad_token_id_is_an_error) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open("tests/fixtures/models/tiny-llama-gqa", &m, &err) == 0, "%.300s", err.msg);
    int32_t ids[3] = {1, 256, 2};
    int rc = duo_forward(&m, ids, 3, NULL, NULL, &err);
    model_close(&m);
    CHECK(rc == -1);
    CHECK_MSG(strstr(err.msg, "position 1") != NULL, "%.300s", err.msg);
}

TEST_MAIN()
