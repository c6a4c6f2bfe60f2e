/* duo-train score's methods (eval/score.h) against independent oracles, committed by
 * scripts/gen_head_score_refs.py in tests/fixtures/head_score_refs/:
 *   - otf: kvpress's own duo_attention_on_the_fly (the installed package, its BookSum loader and
 *     tokenizer replaced by the same token-id texts) on the tiny Llama and Qwen3 checkpoints and the
 *     bundled retrieval model, q_len 50 and 500: every score within 1e-5;
 *   - retrieval: a PyTorch restatement (transformers, eager attention, greedy decoding with a KV cache,
 *     argmax of each head's attention weights) on the bundled retrieval model's passkey prompts (it copies
 *     the passkey) and on the tiny Llama with planted needles: identical generated ids, identical argmax
 *     rows for every generated token, layer and query head, identical scores; and the needle span found
 *     from the passkey's text equals the passkey's token span. */
#include <jansson.h>
#include <stdint.h>

#include "data/json.h"
#include "data/model.h"
#include "data/tokenizer.h"
#include "eval/score.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/infer.h"
#include "tests/harness.h"

#define REFS "tests/fixtures/head_score_refs/head_score_refs.json"

static json_t *refs(void) {
    static json_t *root;
    if (!root) root = duo_json_load_file(REFS, 0, NULL);
    return root;
}

static int32_t *json_ids(json_t *a, size_t *n) {
    *n = json_array_size(a);
    int32_t *ids = malloc((*n ? *n : 1) * sizeof *ids);
    for (size_t i = 0; i < *n; i++) ids[i] = (int32_t)json_integer_value(json_array_get(a, i));
    return ids;
}

static double mat_at(json_t *m, int r, int c) { return json_number_value(json_array_get(json_array_get(m, r), c)); }

TEST(otf_equals_kvpress) {
    json_t *root = refs();
    if (!root) SKIP("no %s (scripts/gen_head_score_refs.py writes it)", REFS);
    json_t *cases = json_object_get(root, "otf");
    CHECK(json_array_size(cases) >= 6);
    duo_backend *be = backend_cpu_create(0, NULL);
    double worst = 0;
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *cs = json_array_get(cases, c);
        const char *dir = json_string_value(json_object_get(cs, "model"));
        duo_model m;
        duo_error err = {{0}};
        CHECK_MSG(model_open(dir, &m, &err) == 0, "%s: %.400s", dir, err.msg);
        json_t *texts = json_object_get(cs, "texts");
        int nt = (int)json_array_size(texts);
        int32_t *ids[8];
        size_t lens[8];
        for (int t = 0; t < nt; t++) ids[t] = json_ids(json_array_get(texts, t), &lens[t]);
        int L = m.cfg.num_hidden_layers, KVH = m.cfg.num_key_value_heads, q_len = (int)json_integer_value(json_object_get(cs, "q_len"));
        double *s = malloc((size_t)L * KVH * sizeof *s);
        int rc = score_otf_ids(&m, be, (const int32_t *const *)ids, lens, nt, q_len, NULL, s, &err);
        for (int t = 0; t < nt; t++) free(ids[t]);
        if (rc) {
            model_close(&m);
            free(s);
            FAILF("%s: %.400s", dir, err.msg);
        }
        json_t *want = json_object_get(cs, "scores");
        for (int l = 0; l < L; l++)
            for (int g = 0; g < KVH; g++) {
                double d = fabs(s[l * KVH + g] - mat_at(want, l, g));
                if (d > worst) worst = d;
                if (d > 1e-5) {
                    double got = s[l * KVH + g];
                    free(s);
                    model_close(&m);
                    FAILF("%s q_len %d layer %d KV head %d: %.9f, kvpress %.9f", dir, q_len, l, g, got, mat_at(want, l, g));
                }
            }
        free(s);
        model_close(&m);
    }
    backend_free(be);
    printf("# otf: largest difference from kvpress %.2e over %zu cases\n", worst, json_array_size(cases));
}

TEST(retrieval_equals_restatement) {
    json_t *root = refs();
    if (!root) SKIP("no %s", REFS);
    json_t *cases = json_object_get(root, "retrieval");
    CHECK(json_array_size(cases) >= 2);
    duo_backend *be = backend_cpu_create(0, NULL);
    long compared = 0, copied_total = 0;
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *cs = json_array_get(cases, c);
        const char *dir = json_string_value(json_object_get(cs, "model"));
        duo_model m;
        duo_error err = {{0}};
        CHECK_MSG(model_open(dir, &m, &err) == 0, "%s: %.400s", dir, err.msg);
        json_t *prompts = json_object_get(cs, "prompts"), *traces = json_object_get(cs, "traces");
        int np = (int)json_array_size(prompts), L = m.cfg.num_hidden_layers, H = m.cfg.num_attention_heads,
            KVH = m.cfg.num_key_value_heads;
        score_needle_prompt ps[8];
        int32_t *ids[8];
        for (int p = 0; p < np; p++) {
            json_t *pj = json_array_get(prompts, p);
            ps[p].ids = ids[p] = json_ids(json_object_get(pj, "ids"), &ps[p].n);
            ps[p].needle_start = (size_t)json_integer_value(json_object_get(pj, "needle_start"));
            ps[p].needle_end = (size_t)json_integer_value(json_object_get(pj, "needle_end"));
        }
        size_t neos;
        int32_t *eos = json_ids(json_object_get(cs, "eos_token_ids"), &neos);
        double *head = malloc((size_t)L * H * sizeof *head), *kv = malloc((size_t)L * KVH * sizeof *kv);
        score_trace tr[8] = {{0}};
        int used = -1;
        int rc = score_retrieval_prompts(&m, be, ps, np, (int)json_integer_value(json_object_get(cs, "max_new_tokens")),
                                         eos, (int)neos, head, kv, &used, tr, NULL, &err);
        char fail[512] = "";
        if (rc) snprintf(fail, sizeof fail, "%s: %.400s", dir, err.msg);
        for (int p = 0; !rc && !fail[0] && p < np; p++) {
            json_t *tj = json_array_get(traces, p);
            size_t ng;
            int32_t *gen = json_ids(json_object_get(tj, "generated_ids"), &ng);
            copied_total += (long)json_integer_value(json_object_get(tj, "copied"));
            if (ng != tr[p].n) snprintf(fail, sizeof fail, "%s prompt %d: %zu ids, restatement %zu", dir, p, tr[p].n, ng);
            for (size_t t = 0; !fail[0] && t < ng; t++) {
                if (gen[t] != tr[p].ids[t])
                    snprintf(fail, sizeof fail, "%s prompt %d: id %zu is %d, restatement %d", dir, p, t, tr[p].ids[t], gen[t]);
                json_t *rows = json_array_get(json_object_get(tj, "argmax"), t);
                for (int l = 0; !fail[0] && l < L; l++)
                    for (int h = 0; !fail[0] && h < H; h++) {
                        int want = (int)json_integer_value(json_array_get(json_array_get(rows, l), h));
                        int got = tr[p].argmax[(t * (size_t)L + (size_t)l) * (size_t)H + (size_t)h];
                        compared++;
                        if (got != want)
                            snprintf(fail, sizeof fail, "%s prompt %d token %zu layer %d head %d: key %d, restatement %d",
                                     dir, p, t, l, h, got, want);
                    }
            }
            free(gen);
        }
        if (!rc && !fail[0] && used != (int)json_integer_value(json_object_get(cs, "prompts_used")))
            snprintf(fail, sizeof fail, "%s: %d prompts copied, restatement %d", dir, used,
                     (int)json_integer_value(json_object_get(cs, "prompts_used")));
        for (int l = 0; !rc && !fail[0] && l < L; l++) {
            for (int h = 0; !fail[0] && h < H; h++)
                if (fabs(head[l * H + h] - mat_at(json_object_get(cs, "head_scores"), l, h)) > 1e-12)
                    snprintf(fail, sizeof fail, "%s head score (%d, %d): %.6f, restatement %.6f", dir, l, h, head[l * H + h],
                             mat_at(json_object_get(cs, "head_scores"), l, h));
            for (int g = 0; !fail[0] && g < KVH; g++)
                if (fabs(kv[l * KVH + g] - mat_at(json_object_get(cs, "kv_scores"), l, g)) > 1e-12)
                    snprintf(fail, sizeof fail, "%s KV head score (%d, %d): %.6f, restatement %.6f", dir, l, g,
                             kv[l * KVH + g], mat_at(json_object_get(cs, "kv_scores"), l, g));
        }
        /* the needle span from the passkey's text */
        duo_tokenizer *tok = NULL;
        for (int p = 0; !rc && !fail[0] && p < np; p++) {
            json_t *text = json_object_get(json_array_get(prompts, p), "passkey_text");
            if (!text) continue;
            if (!tok && !(tok = tokenizer_load(dir, &err))) {
                snprintf(fail, sizeof fail, "%s: %.400s", dir, err.msg);
                break;
            }
            size_t s = 0, e = 0;
            if (score_find_span(tok, ps[p].ids, ps[p].n, json_string_value(text), &s, &e, &err))
                snprintf(fail, sizeof fail, "%s prompt %d: %.400s", dir, p, err.msg);
            else if (s != ps[p].needle_start || e != ps[p].needle_end)
                snprintf(fail, sizeof fail, "%s prompt %d: span [%zu, %zu), the passkey's tokens [%zu, %zu)", dir, p, s, e,
                         ps[p].needle_start, ps[p].needle_end);
        }
        tokenizer_free(tok);
        for (int p = 0; p < np; p++) {
            free(ids[p]);
            score_trace_free(&tr[p]);
        }
        free(eos);
        free(head);
        free(kv);
        model_close(&m);
        if (fail[0]) {
            backend_free(be);
            FAILF("%.900s", fail);
        }
    }
    backend_free(be);
    CHECK_MSG(copied_total > 0, "no reference prompt copies a needle token: the scores are not exercised");
    printf("# retrieval: %ld argmax entries identical, %ld copied tokens\n", compared, copied_total);
}

/* A needle prompt whose span lies outside it, and no prompts, are refused before any decoding. */
TEST(retrieval_refuses_bad_spans) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open("tests/fixtures/models/tiny-llama-gqa", &m, &err) == 0, "%.400s", err.msg);
    duo_backend *be = backend_cpu_create(0, NULL);
    int32_t ids[10] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    score_needle_prompt p = {ids, 10, 8, 12};
    double head[8], kv[4];
    int used;
    int rc = score_retrieval_prompts(&m, be, &p, 1, 4, NULL, 0, head, kv, &used, NULL, NULL, &err);
    int named = strstr(err.msg, "[8, 12)") != NULL;
    int rc0 = score_retrieval_prompts(&m, be, &p, 0, 4, NULL, 0, head, kv, &used, NULL, NULL, &err);
    backend_free(be);
    model_close(&m);
    CHECK(rc == -1 && rc0 == -1);
    CHECK_MSG(named, "the error does not name the span");
}

/* The inference path's argmax hook on a mixed pattern (model/infer.h): per query head in the model's
 * order, a key position.  Layer 0 sees the same queries and keys under any pattern, so against the same
 * prompt with every head full: a full head's key is the same; a streaming head's key lies in what it
 * keeps (the sink, the recent window, itself) and is the same wherever the full-attention key lies there
 * (the largest of a subset holding the largest).  Checked on every decoding-simulation query. */
typedef struct {
    int H;
    int32_t lo, n;
    int32_t *pos; /* [n][H] layer 0's keys for queries lo .. lo + n - 1 */
} hook_rec;

static void hook_layer0(void *ctx, int layer, int32_t qpos, const int32_t *key_pos) {
    hook_rec *r = ctx;
    if (layer == 0 && qpos >= r->lo && qpos < r->lo + r->n) memcpy(r->pos + (size_t)(qpos - r->lo) * r->H, key_pos, (size_t)r->H * sizeof *key_pos);
}

TEST(infer_argmax_hook_maps_streaming_heads) {
    json_t *root = refs();
    if (!root) SKIP("no %s", REFS);
    json_t *cs = json_array_get(json_object_get(root, "retrieval"), 0);
    const char *dir = json_string_value(json_object_get(cs, "model"));
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%s: %.400s", dir, err.msg);
    size_t n;
    int32_t *ids = json_ids(json_object_get(json_array_get(json_object_get(cs, "prompts"), 0), "ids"), &n);
    int H = m.cfg.num_attention_heads, KVH = m.cfg.num_key_value_heads, L = m.cfg.num_hidden_layers, group = H / KVH;
    int sink = 16, recent = 64, sim = 50;
    uint8_t mixed[16] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0}, all[16];
    memset(all, 1, sizeof all);
    CHECK(L * KVH == 16);
    hook_rec rf = {H, (int32_t)(n - sim), sim, calloc((size_t)sim * H, sizeof(int32_t))};
    hook_rec rm = {H, (int32_t)(n - sim), sim, calloc((size_t)sim * H, sizeof(int32_t))};
    duo_backend *be = backend_cpu_create(0, NULL);
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        duo_infer_opts io = {.sink_size = sink, .recent_size = recent, .prefilling_chunk_size = 128,
                             .decoding_simulation_length = sim, .prefill = PREFILL_REFERENCE, .max_new_tokens = 2,
                             .max_prompt = n, .argmax_fn = hook_layer0, .argmax_ctx = pass ? &rm : &rf};
        duo_infer *ctx = infer_create(&m, be, pass ? mixed : all, &io, &err);
        duo_infer_result res;
        rc = !ctx || infer_generate(ctx, ids, n, NULL, 0, NULL, NULL, 0, &res, &err);
        if (!rc) infer_result_free(&res);
        infer_free(ctx);
    }
    backend_free(be);
    model_close(&m);
    free(ids);
    char fail[400] = "";
    long same = 0;
    if (rc) snprintf(fail, sizeof fail, "%.300s", err.msg);
    for (int q = 0; !fail[0] && q < sim; q++) {
        int32_t T = rf.lo + q;
        for (int h = 0; !fail[0] && h < H; h++) {
            int32_t f = rf.pos[q * H + h], s = rm.pos[q * H + h];
            int kept = s < sink || (s >= T - recent && s <= T), full_head = mixed[h / group];
            int f_kept = f < sink || (f >= T - recent && f <= T);
            if (full_head ? s != f : (!kept || (f_kept && s != f)))
                snprintf(fail, sizeof fail, "query %d head %d (%s): key %d, full attention's %d", T, h,
                         full_head ? "full" : "streaming", s, f);
            same += s == f;
        }
    }
    free(rf.pos);
    free(rm.pos);
    if (fail[0]) FAILF("%s", fail);
    printf("# hook: %ld of %d layer-0 keys equal full attention's\n", same, sim * H);
}

TEST_MAIN()
