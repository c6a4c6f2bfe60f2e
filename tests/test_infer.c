/* The DuoAttention inference path (model/infer.h) against independent oracles:
 *   - the PyTorch restatement of the reference's one-way reordered forward (scripts/duo_infer_reference.py,
 *     committed outputs in tests/fixtures/infer_refs/): 21 cases over chunked prefill, eviction, the
 *     decoding simulation, both prefill modes, GQA groups 1-3 and mixed patterns: greedy ids exactly,
 *     logits rows within 1e-4 of the largest reference logit;
 *   - Hugging Face generate (greedy) at sparsity 0, token for token;
 *   - properties: at sparsity 0 the chunk size changes nothing; streaming heads whose window covers the
 *     sequence equal full heads; the KV cache holds what the formula says. */
#include <jansson.h>
#include <stdint.h>

#include "data/fileio.h"
#include "data/model.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/infer.h"
#include "tests/harness.h"

#define REFS "tests/fixtures/infer_refs"

static int32_t *json_ids(json_t *a, size_t *n) {
    *n = json_array_size(a);
    int32_t *ids = malloc((*n ? *n : 1) * sizeof *ids);
    for (size_t i = 0; i < *n; i++) ids[i] = (int32_t)json_integer_value(json_array_get(a, i));
    return ids;
}

typedef struct {
    int32_t *ids;
    size_t n;
    float *logits;
    size_t rows;
} run_out;

/* Runs one prompt with a pattern (full: [L][KVH], NULL = every head full). */
static int run(const duo_model *m, const uint8_t *full, const duo_infer_opts *o, const int32_t *prompt, size_t n,
               const int32_t *eos, int neos, size_t keep, run_out *out, duo_error *err) {
    int G = m->cfg.num_hidden_layers * m->cfg.num_key_value_heads;
    uint8_t *all = malloc((size_t)G);
    memset(all, 1, (size_t)G);
    duo_backend *be = backend_cpu_create(0, err);
    duo_infer *ctx = be ? infer_create(m, be, full ? full : all, o, err) : NULL;
    duo_infer_result r;
    int rc = ctx ? infer_generate(ctx, prompt, n, eos, neos, NULL, NULL, keep, &r, err) : -1;
    if (!rc) {
        out->ids = r.ids;
        out->n = r.n;
        out->logits = r.logits;
        out->rows = r.logits_rows;
    }
    infer_free(ctx);
    backend_free(be);
    free(all);
    return rc;
}

static double row_err(const float *a, const float *ref, size_t vocab) {
    double maxd = 0, maxr = 0;
    for (size_t i = 0; i < vocab; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (!(d <= maxd)) maxd = d;
        if (fabs(ref[i]) > maxr) maxr = fabs(ref[i]);
    }
    return maxr > 0 ? maxd / maxr : maxd;
}

TEST(restatement_cases) {
    json_error_t je;
    json_t *index = json_load_file(REFS "/index.json", 0, &je);
    CHECK_MSG(index, "index.json: %s", je.text);
    json_t *cases = json_object_get(index, "cases");
    CHECK(json_array_size(cases) >= 20);
    char failure[600] = "";
    double worst = 0;
    for (size_t k = 0; k < json_array_size(cases) && !failure[0]; k++) {
        json_t *c = json_array_get(cases, k);
        const char *name = json_string_value(json_object_get(c, "name"));
        duo_model m;
        duo_error err = {{0}};
        if (model_open(json_string_value(json_object_get(c, "model")), &m, &err)) {
            snprintf(failure, sizeof failure, "%s: %.400s", name, err.msg);
            break;
        }
        size_t n, ngen, neos;
        int32_t *prompt = json_ids(json_object_get(c, "prompt_ids"), &n);
        int32_t *want = json_ids(json_object_get(c, "generated_ids"), &ngen);
        int32_t *eos = json_ids(json_object_get(c, "eos_token_ids"), &neos);
        int L = m.cfg.num_hidden_layers, KVH = m.cfg.num_key_value_heads;
        uint8_t *full = malloc((size_t)(L * KVH));
        json_t *pat = json_object_get(c, "pattern");
        for (int l = 0; l < L; l++)
            for (int g = 0; g < KVH; g++)
                full[l * KVH + g] = (uint8_t)json_integer_value(json_array_get(json_array_get(pat, (size_t)l), (size_t)g));
        json_t *chunk = json_object_get(c, "prefilling_chunk_size");
        duo_infer_opts o = {
            .sink_size = (int)json_integer_value(json_object_get(c, "sink_size")),
            .recent_size = (int)json_integer_value(json_object_get(c, "recent_size")),
            .prefilling_chunk_size = json_is_null(chunk) ? 0 : (int)json_integer_value(chunk),
            .decoding_simulation_length = (int)json_integer_value(json_object_get(c, "decoding_simulation_length")),
            .prefill = strcmp(json_string_value(json_object_get(c, "prefill")), "streaming") ? PREFILL_REFERENCE
                                                                                            : PREFILL_STREAMING,
            .max_new_tokens = (int)json_integer_value(json_object_get(c, "max_new_tokens")),
            .max_prompt = n};
        json_t *shape = json_object_get(json_object_get(c, "logits"), "shape");
        size_t rows = (size_t)json_integer_value(json_array_get(shape, 0)),
               vocab = (size_t)json_integer_value(json_array_get(shape, 1));
        char path[512];
        snprintf(path, sizeof path, REFS "/%s", json_string_value(json_object_get(json_object_get(c, "logits"), "file")));
        size_t len = 0;
        char *ref = file_read_all(path, &len, &err);
        run_out out = {0};
        if (!ref || len != rows * vocab * sizeof(float)) {
            snprintf(failure, sizeof failure, "%s: %s is not %zu x %zu float32", name, path, rows, vocab);
        } else if (run(&m, full, &o, prompt, n, eos, (int)neos, rows, &out, &err)) {
            snprintf(failure, sizeof failure, "%s: %.400s", name, err.msg);
        } else if (out.n != ngen || memcmp(out.ids, want, ngen * sizeof *want)) {
            snprintf(failure, sizeof failure, "%s: generated %zu ids, first %d; the reference %zu, first %d", name, out.n,
                     out.n ? out.ids[0] : -1, ngen, want[0]);
        } else {
            for (size_t r = 0; r < rows && !failure[0]; r++) {
                double e = row_err(out.logits + r * vocab, (const float *)(const void *)ref + r * vocab, vocab);
                worst = fmax(worst, e);
                if (!(e <= 1e-4)) snprintf(failure, sizeof failure, "%s: logits row %zu rel err %.3g", name, r, e);
            }
        }
        free(out.ids);
        free(out.logits);
        free(ref);
        free(prompt);
        free(want);
        free(eos);
        free(full);
        model_close(&m);
    }
    json_decref(index);
    if (getenv("DUO_TEST_VERBOSE")) fprintf(stderr, "  worst logits rel err %.3g\n", worst);
    CHECK_MSG(!failure[0], "%s", failure);
}

TEST(hf_generate_at_sparsity_0) {
    json_error_t je;
    json_t *root = json_load_file(REFS "/hf_generate.json", 0, &je);
    CHECK_MSG(root, "hf_generate.json: %s", je.text);
    json_t *runs = json_object_get(root, "runs");
    CHECK(json_array_size(runs) >= 4);
    char failure[600] = "";
    for (size_t k = 0; k < json_array_size(runs) && !failure[0]; k++) {
        json_t *c = json_array_get(runs, k);
        const char *dir = json_string_value(json_object_get(c, "model"));
        duo_model m;
        duo_error err = {{0}};
        if (model_open(dir, &m, &err)) {
            snprintf(failure, sizeof failure, "%.500s", err.msg);
            break;
        }
        size_t n, ngen, neos;
        int32_t *prompt = json_ids(json_object_get(c, "prompt_ids"), &n);
        int32_t *want = json_ids(json_object_get(c, "generated_ids"), &ngen);
        int32_t *eos = json_ids(json_object_get(c, "eos_token_ids"), &neos);
        /* HF generate: one forward over the prompt, then one token at a time */
        duo_infer_opts o = {.sink_size = 4, .recent_size = 8, .max_new_tokens = (int)json_integer_value(
                                json_object_get(c, "max_new_tokens")), .max_prompt = n};
        run_out out = {0};
        if (run(&m, NULL, &o, prompt, n, eos, (int)neos, 0, &out, &err))
            snprintf(failure, sizeof failure, "%s: %.400s", dir, err.msg);
        else if (out.n != ngen || memcmp(out.ids, want, ngen * sizeof *want))
            snprintf(failure, sizeof failure, "%s: %zu ids differ from HF generate's %zu", dir, out.n, ngen);
        free(out.ids);
        free(prompt);
        free(want);
        free(eos);
        model_close(&m);
    }
    json_decref(root);
    CHECK_MSG(!failure[0], "%s", failure);
}

static void make_prompt(int32_t *ids, size_t n, int vocab, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        ids[i] = (int32_t)((seed >> 8) % (uint32_t)vocab);
    }
}

/* Properties that need no reference: chunking at sparsity 0, windows covering the sequence, cache bytes. */
TEST(chunking_windows_and_cache_bytes) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open("tests/fixtures/models/tiny-mistral-gqa-f16", &m, &err) == 0, "%.300s", err.msg);
    size_t n = 137;
    int32_t prompt[137];
    make_prompt(prompt, n, m.cfg.vocab_size, 99);
    int L = m.cfg.num_hidden_layers, KVH = m.cfg.num_key_value_heads;
    uint8_t mixed[64];
    for (int i = 0; i < L * KVH; i++) mixed[i] = (uint8_t)(i % 3 == 0);
    duo_infer_opts base = {.sink_size = 4, .recent_size = 12, .decoding_simulation_length = 9, .max_new_tokens = 6,
                           .max_prompt = n};
    run_out ref = {0}, got = {0};
    CHECK_MSG(run(&m, NULL, &base, prompt, n, NULL, 0, 6, &ref, &err) == 0, "%.300s", err.msg);
    int chunks[] = {1, 7, 64, 128, 1000};
    double worst = 0;
    for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
        duo_infer_opts o = base;
        o.prefilling_chunk_size = chunks[k];
        CHECK_MSG(run(&m, NULL, &o, prompt, n, NULL, 0, 6, &got, &err) == 0, "%.300s", err.msg);
        int same = got.n == ref.n && !memcmp(got.ids, ref.ids, ref.n * sizeof *ref.ids);
        for (size_t r = 0; r < got.rows; r++)
            worst = fmax(worst, row_err(got.logits + r * m.cfg.vocab_size, ref.logits + r * m.cfg.vocab_size,
                                        (size_t)m.cfg.vocab_size));
        free(got.ids);
        free(got.logits);
        CHECK_MSG(same, "chunk %d: other ids at sparsity 0", chunks[k]);
    }
    CHECK_MSG(worst < 1e-5, "chunking moved the logits by %.3g", worst);
    /* a mixed pattern whose window covers the whole sequence equals all-full, in both prefill modes */
    for (int mode = 0; mode < 2; mode++) {
        duo_infer_opts o = base;
        o.sink_size = 3;
        o.recent_size = 200;
        o.prefilling_chunk_size = 50;
        o.prefill = mode ? PREFILL_STREAMING : PREFILL_REFERENCE;
        CHECK_MSG(run(&m, mixed, &o, prompt, n, NULL, 0, 6, &got, &err) == 0, "%.300s", err.msg);
        double e = 0;
        for (size_t r = 0; r < got.rows; r++)
            e = fmax(e, row_err(got.logits + r * m.cfg.vocab_size, ref.logits + r * m.cfg.vocab_size,
                                (size_t)m.cfg.vocab_size));
        int same = got.n == ref.n && !memcmp(got.ids, ref.ids, ref.n * sizeof *ref.ids);
        free(got.ids);
        free(got.logits);
        CHECK_MSG(same && e < 1e-5, "mode %d: window covering the sequence differs from full (%.3g)", mode, e);
    }
    /* ... and a window that does not cover it changes the output */
    {
        duo_infer_opts o = base;
        CHECK_MSG(run(&m, mixed, &o, prompt, n, NULL, 0, 6, &got, &err) == 0, "%.300s", err.msg);
        double e = row_err(got.logits, ref.logits, (size_t)m.cfg.vocab_size);
        free(got.ids);
        free(got.logits);
        CHECK_MSG(e > 1e-3, "a streaming window of 16 on %zu tokens changed nothing (%.3g)", n, e);
    }
    free(ref.ids);
    free(ref.logits);
    /* the cache after the prompt holds what the formula says */
    duo_backend *be = backend_cpu_create(0, &err);
    duo_infer_opts o = base;
    duo_infer *ctx = infer_create(&m, be, mixed, &o, &err);
    CHECK_MSG(ctx, "%.300s", err.msg);
    duo_infer_result r;
    CHECK_MSG(infer_generate(ctx, prompt, n, NULL, 0, NULL, NULL, 0, &r, &err) == 0, "%.300s", err.msg);
    size_t nf = 0;
    for (int i = 0; i < L * KVH; i++) nf += mixed[i];
    size_t want = 2 * (size_t)m.cfg.head_dim * sizeof(float) * (nf * n + ((size_t)(L * KVH) - nf) * 16);
    size_t want_full = 2 * (size_t)m.cfg.head_dim * sizeof(float) * (size_t)(L * KVH) * n;
    CHECK_EQ_INT(r.kv_bytes, want);
    CHECK_EQ_INT(r.kv_bytes_full, want_full);
    CHECK_EQ_INT(r.decode_tokens, 9 + r.n - 1);
    infer_result_free(&r);
    infer_free(ctx);
    backend_free(be);
    model_close(&m);
}

TEST(bad_input_is_an_error) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open("tests/fixtures/models/tiny-llama-gqa", &m, &err) == 0, "%.300s", err.msg);
    uint8_t full[16];
    memset(full, 1, sizeof full);
    duo_backend *be = backend_cpu_create(0, &err);
    duo_infer_opts o = {.sink_size = 4, .recent_size = 0, .max_new_tokens = 4, .max_prompt = 10};
    CHECK(infer_create(&m, be, full, &o, &err) == NULL);
    o.recent_size = 8;
    o.max_prompt = (size_t)m.cfg.max_position_embeddings;
    CHECK(infer_create(&m, be, full, &o, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "positions"), "%.300s", err.msg);
    o.max_prompt = 10;
    duo_infer *ctx = infer_create(&m, be, full, &o, &err);
    CHECK_MSG(ctx, "%.300s", err.msg);
    int32_t ids[12] = {1, 2, 3, 9999};
    duo_infer_result r;
    CHECK(infer_generate(ctx, ids, 4, NULL, 0, NULL, NULL, 0, &r, &err) == -1);
    CHECK_MSG(strstr(err.msg, "vocabulary"), "%.300s", err.msg);
    CHECK(infer_generate(ctx, ids, 12, NULL, 0, NULL, NULL, 0, &r, &err) == -1);
    CHECK(infer_generate(ctx, ids, 0, NULL, 0, NULL, NULL, 0, &r, &err) == -1);
    infer_free(ctx);
    backend_free(be);
    model_close(&m);
}

TEST_MAIN()
