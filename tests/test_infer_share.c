/* The shared first forward (model/infer.h, share_prefill): one context running several patterns on a
 * prompt restores the first forward it computed for the first pattern; every pattern's generated ids,
 * logits rows (bit for bit) and KV bytes must equal a fresh context's without sharing (the oracle:
 * the unshared path, which computes every forward).  Settings: the whole prefill in one forward, a
 * chunk shorter than the prompt (only the first chunk is shared), a chunk longer than the prompt, with
 * and without the decoding simulation; a prompt sharing only its first chunk with the remembered one;
 * prefill streaming and the argmax hook (sharing off). */
#include <stdint.h>

#include "data/model.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/infer.h"
#include "tests/harness.h"

#define NPAT 5
#define MAXG 64

static void make_prompt(int32_t *ids, size_t n, int vocab, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        ids[i] = (int32_t)((seed >> 8) % (uint32_t)vocab);
    }
}

/* Pattern k of NPAT over G heads: all full, all streaming, and three mixed ones. */
static void make_pattern(uint8_t *full, int G, int k) {
    for (int i = 0; i < G; i++)
        full[i] = k == 0 ? 1 : k == 1 ? 0 : k == 2 ? (uint8_t)(i % 3 == 0) : k == 3 ? (uint8_t)(i % 2) : (uint8_t)(i < G / 2);
}

/* A fresh context without sharing: the oracle's result of one pattern on one prompt. */
static int fresh(const duo_model *m, duo_backend *be, const uint8_t *full, duo_infer_opts o, const int32_t *p, size_t n,
                 size_t keep, duo_infer_result *r, duo_error *err) {
    o.share_prefill = 0;
    duo_infer *ctx = infer_create(m, be, full, &o, err);
    int rc = ctx ? infer_generate(ctx, p, n, NULL, 0, NULL, NULL, keep, r, err) : -1;
    infer_free(ctx);
    return rc;
}

/* "" when a and b are the same outputs, else what differs. */
static const char *differs(const duo_infer_result *a, const duo_infer_result *b, size_t vocab) {
    if (a->n != b->n || memcmp(a->ids, b->ids, a->n * sizeof *a->ids)) return "generated ids";
    if (a->logits_rows != b->logits_rows || memcmp(a->logits, b->logits, a->logits_rows * vocab * sizeof *a->logits))
        return "logits rows";
    if (a->kv_bytes != b->kv_bytes || a->kv_bytes_full != b->kv_bytes_full) return "kv bytes";
    if (a->decode_tokens != b->decode_tokens) return "decode tokens";
    return "";
}

static void noop_argmax(void *ctx, int layer, int32_t pos, const int32_t *key_pos) {
    (void)ctx, (void)layer, (void)pos, (void)key_pos;
}

/* Every pattern on prompts a, a (again), b (= a but its tail) with one sharing context against fresh
 * unshared ones; want_share: whether the context should share at all. */
static const char *check_setting(const duo_model *m, duo_infer_opts o, int want_share, char *why, size_t cap) {
    duo_error err = {{0}};
    int L = m->cfg.num_hidden_layers, KVH = m->cfg.num_key_value_heads, G = L * KVH;
    size_t n = o.max_prompt, vocab = (size_t)m->cfg.vocab_size, keep = 4;
    int32_t a[200], b[200];
    make_prompt(a, n, m->cfg.vocab_size, 7);
    memcpy(b, a, n * sizeof *a);
    make_prompt(b + n - 20, 20, m->cfg.vocab_size, 11); /* the same first 20 + ... tokens, another tail */
    uint8_t full[MAXG];
    duo_backend *be = backend_cpu_create(0, &err);
    make_pattern(full, G, 0);
    o.share_prefill = 1;
    duo_infer *ctx = be ? infer_create(m, be, full, &o, &err) : NULL;
    if (!ctx) {
        snprintf(why, cap, "create: %.300s", err.msg);
        backend_free(be);
        return why;
    }
    why[0] = 0;
    if (infer_shares_prefill(ctx) != want_share) snprintf(why, cap, "shares %d, expected %d", infer_shares_prefill(ctx), want_share);
    const int32_t *prompts[3] = {a, a, b};
    for (int q = 0; q < 3 && !why[0]; q++)
        for (int k = 0; k < NPAT && !why[0]; k++) {
            make_pattern(full, G, k);
            duo_infer_result got, want;
            if (infer_set_pattern(ctx, full, &err) ||
                infer_generate(ctx, prompts[q], n, NULL, 0, NULL, NULL, keep, &got, &err)) {
                snprintf(why, cap, "prompt %d pattern %d (shared): %.300s", q, k, err.msg);
                break;
            }
            if (fresh(m, be, full, o, prompts[q], n, keep, &want, &err)) {
                snprintf(why, cap, "prompt %d pattern %d (fresh): %.300s", q, k, err.msg);
                infer_result_free(&got);
                break;
            }
            const char *d = differs(&got, &want, vocab);
            /* computed by the very first call only; restored after (b shares a's first forward unless
             * that forward reaches into b's other tail) */
            size_t sim = (size_t)o.decoding_simulation_length < n ? (size_t)o.decoding_simulation_length : n - 1;
            size_t pre = n - sim, chunk = o.prefilling_chunk_size > 0 ? (size_t)o.prefilling_chunk_size : pre;
            size_t m0 = pre < chunk ? pre : chunk;
            int b_new = q == 2 && k == 0 && m0 > n - 20;
            int flag = !want_share ? 0 : (q == 0 && k == 0) || b_new ? 1 : 2;
            if (d[0]) snprintf(why, cap, "prompt %d pattern %d: %s differ from the unshared path", q, k, d);
            else if (got.shared_prefill != flag)
                snprintf(why, cap, "prompt %d pattern %d: shared_prefill %d, expected %d", q, k, got.shared_prefill, flag);
            else if (want.shared_prefill != 0 || want.shared_prefill_s != 0)
                snprintf(why, cap, "the unshared path reports sharing");
            else if (flag == 2 && !(got.shared_prefill_s > 0))
                snprintf(why, cap, "a restored first forward reports no shared seconds");
            infer_result_free(&got);
            infer_result_free(&want);
        }
    infer_free(ctx);
    backend_free(be);
    return why[0] ? why : NULL;
}

TEST(shared_first_forward_equals_unshared) {
    const char *models[] = {"tests/fixtures/models/tiny-mistral-gqa-f16", "tests/fixtures/models/tiny-llama-gqa"};
    for (size_t mi = 0; mi < sizeof models / sizeof *models; mi++) {
        duo_model m;
        duo_error err = {{0}};
        CHECK_MSG(model_open(models[mi], &m, &err) == 0, "%.300s", err.msg);
        CHECK(m.cfg.num_hidden_layers * m.cfg.num_key_value_heads <= MAXG);
        struct { int chunk, sim; } set[] = {{0, 0}, {0, 9}, {37, 0}, {37, 9}, {500, 5}, {1, 3}};
        for (size_t s = 0; s < sizeof set / sizeof *set; s++) {
            duo_infer_opts o = {.sink_size = 4, .recent_size = 12, .prefilling_chunk_size = set[s].chunk,
                                .decoding_simulation_length = set[s].sim, .max_new_tokens = 6, .max_prompt = 120};
            char why[600];
            const char *bad = check_setting(&m, o, 1, why, sizeof why);
            CHECK_MSG(!bad, "%s chunk %d sim %d: %s", models[mi], set[s].chunk, set[s].sim, bad);
        }
        model_close(&m);
    }
}

TEST(streaming_prefill_and_argmax_hook_do_not_share) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open("tests/fixtures/models/tiny-mistral-gqa-f16", &m, &err) == 0, "%.300s", err.msg);
    duo_infer_opts o = {.sink_size = 4, .recent_size = 12, .prefilling_chunk_size = 37, .decoding_simulation_length = 5,
                        .max_new_tokens = 6, .max_prompt = 120, .prefill = PREFILL_STREAMING};
    char why[600];
    const char *bad = check_setting(&m, o, 0, why, sizeof why);
    CHECK_MSG(!bad, "prefill streaming: %s", bad);
    o.prefill = PREFILL_REFERENCE;
    o.argmax_fn = noop_argmax;
    bad = check_setting(&m, o, 0, why, sizeof why);
    CHECK_MSG(!bad, "argmax hook: %s", bad);
    model_close(&m);
}

TEST_MAIN()
