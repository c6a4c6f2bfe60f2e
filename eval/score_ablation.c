/* The ablation score (eval/score.h): passkey accuracy with every head full, and with each KV head alone
 * streaming, on the DuoAttention inference path; L x KVH + 1 passes over the prompts. */
#include <stdlib.h>
#include <string.h>

#include "eval/generation.h"
#include "eval/score_impl.h"
#include "eval/scores.h"
#include "eval/sweep_prompts.h"
#include "model/infer.h"

/* Mean exact-match accuracy of the prompts on the current pattern. */
static int accuracy(duo_infer *ctx, const sweep_prompts *sp, const int32_t *eos, int num_eos, passkey_stop_ctx *st,
                    duo_progress *bar, long *done, const char *what, double *acc, duo_error *err) {
    double sum = 0;
    for (size_t i = 0; i < sp->n; i++) {
        duo_infer_result res;
        if (infer_generate(ctx, sp->p[i].ids, sp->p[i].n, eos, num_eos, passkey_answer_stop, st, 0, &res, err)) {
            duo_error_prefix(err, "passkey prompt %zu (%zu tokens)", i, sp->p[i].n);
            return -1;
        }
        char *text = tokenizer_decode(st->tok, res.ids, res.n, 1);
        infer_result_free(&res);
        if (!text) return duo_fail(err, "out of memory");
        duo_passkey_score ps;
        int rc = duo_score_passkey(text, sp->p[i].expected, &ps, err);
        free(text);
        if (rc) return -1;
        sum += ps.exact;
        if (bar) progress_update(bar, ++*done, "%s", what);
    }
    *acc = sum / (double)sp->n;
    return 0;
}

int score_ablation_run(const score_opts *o, const duo_model *m, duo_backend *be, const duo_tokenizer *tok,
                       double *values, json_t *cfg, duo_error *err) {
    sweep_opts so = o->eval;
    so.task = SWEEP_PASSKEY;
    so.samples = o->samples;
    so.seed = o->seed;
    so.dataset = o->dataset;
    sweep_prompts sp;
    if (sweep_prompts_build(&so, tok, o->model_dir, &sp, err)) return -1;
    int L = m->cfg.num_hidden_layers, KVH = m->cfg.num_key_value_heads;
    size_t G = (size_t)L * (size_t)KVH;
    int max_new = o->max_new_tokens ? o->max_new_tokens : 4 * so.passkey.passkey_length + 8;
    uint8_t *full = malloc(G);
    double *acc = malloc(G * sizeof *acc);
    duo_infer *ctx = NULL;
    int rc = full && acc ? 0 : duo_fail(err, "out of memory");
    if (!rc && sp.longest + (size_t)max_new > (size_t)m->cfg.max_position_embeddings)
        rc = duo_fail(err, "the longest prompt (%zu tokens) plus %d new tokens exceeds %s's %d positions", sp.longest,
                      max_new, m->dir, m->cfg.max_position_embeddings);
    if (!rc) {
        memset(full, 1, G);
        duo_infer_opts io = {.sink_size = o->sink_size, .recent_size = o->recent_size,
                             .prefilling_chunk_size = so.prefilling_chunk_size,
                             .decoding_simulation_length = so.decoding_simulation_length, .prefill = so.prefill,
                             .max_new_tokens = max_new, .max_prompt = sp.longest};
        ctx = infer_create(m, be, full, &io, err);
        if (!ctx) rc = -1;
    }
    double acc_full = 0;
    if (!rc) {
        int32_t eos[8];
        int num_eos = generation_eos_ids(m, eos, 8);
        passkey_stop_ctx st = {tok, so.passkey.passkey_length};
        fprintf(stderr, "duo-train score ablation: %zu passkey prompts (%zu tokens at most) x %zu patterns (all full, "
                        "then each KV head alone streaming), sink %d recent %d\n",
                sp.n, sp.longest, G + 1, o->sink_size, o->recent_size);
        duo_progress bar;
        long done = 0;
        if (o->show_progress) progress_start(&bar, "score ablation", (long)((G + 1) * sp.n));
        duo_progress *b = o->show_progress ? &bar : NULL;
        rc = accuracy(ctx, &sp, eos, num_eos, &st, b, &done, "every head full", &acc_full, err);
        for (size_t i = 0; i < G && !rc; i++) {
            memset(full, 1, G);
            full[i] = 0;
            char what[96];
            snprintf(what, sizeof what, "layer %zu KV head %zu streaming", i / (size_t)KVH, i % (size_t)KVH);
            rc = infer_set_pattern(ctx, full, err) ||
                 accuracy(ctx, &sp, eos, num_eos, &st, b, &done, what, &acc[i], err);
        }
        if (o->show_progress) progress_end(&bar);
    }
    if (!rc) {
        for (size_t i = 0; i < G; i++) {
            double drop = acc_full - acc[i];
            values[i] = drop < 0 ? 0 : drop > 1 ? 1 : drop;
        }
        json_t *lens = json_array();
        for (int c = 0; c < so.num_context_lengths; c++) json_array_append_new(lens, json_integer(so.context_lengths[c]));
        json_object_set_new(cfg, "context_lengths", lens);
        json_object_set_new(cfg, "num_samples", json_integer(o->samples));
        json_object_set_new(cfg, "seed", json_integer((json_int_t)o->seed));
        json_object_set_new(cfg, "num_passkeys", json_integer(so.passkey.num_passkeys));
        json_object_set_new(cfg, "passkey_length", json_integer(so.passkey.passkey_length));
        json_object_set_new(cfg, "prefill", json_string(so.prefill == PREFILL_STREAMING ? "streaming" : "reference"));
        json_object_set_new(cfg, "decoding_simulation_length", json_integer(so.decoding_simulation_length));
        json_object_set_new(cfg, "accuracy_full", json_real(acc_full));
        json_object_set_new(cfg, "accuracy_exact", score_json_matrix(acc, L, KVH));
        json_object_set_new(cfg, "mapping", json_string("full_attention_heads = the accuracy drop when that KV head "
                                                        "alone streams, clipped to [0, 1]"));
    }
    infer_free(ctx);
    free(full);
    free(acc);
    sweep_prompts_free(&sp);
    return rc;
}
