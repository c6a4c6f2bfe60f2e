/* The retrieval score (eval/score.h, Wu et al. 2024): greedy decoding of needle prompts with every head
 * full; the inference path's argmax hook (kernels/ops.h attn_argmax) says, per layer and query head,
 * which key each decoding query weighs most. */
#include <stdlib.h>
#include <string.h>

#include "eval/generation.h"
#include "eval/score_impl.h"
#include "eval/sweep_prompts.h"
#include "model/infer.h"
#include "model/layer.h"

void score_trace_free(score_trace *t) {
    free(t->ids);
    free(t->argmax);
    memset(t, 0, sizeof *t);
}

/* Bytes of decode(ids[0..i)). */
static long prefix_bytes(const duo_tokenizer *tok, const int32_t *ids, size_t i) {
    size_t len = 0;
    char *s = tokenizer_decode_len(tok, ids, i, 0, &len);
    if (!s) return -1;
    free(s);
    return (long)len;
}

int score_find_span(const duo_tokenizer *tok, const int32_t *ids, size_t n, const char *text, size_t *start,
                    size_t *end, duo_error *err) {
    size_t tl = strlen(text);
    while (tl && strchr(" \t\r\n", *text)) text++, tl--;
    while (tl && strchr(" \t\r\n", text[tl - 1])) tl--;
    if (!tl) return duo_fail(err, "the needle text is empty");
    size_t len = 0;
    char *all = tokenizer_decode_len(tok, ids, n, 0, &len);
    if (!all) return duo_fail(err, "out of memory");
    char *hit = memmem(all, len, text, tl);
    long b0 = hit ? (long)(hit - all) : -1, b1 = b0 + (long)tl;
    free(all);
    if (!hit) return duo_fail(err, "the needle \"%.*s\" is not in the prompt's text", (int)(tl < 60 ? tl : 60), text);
    /* first token ending past b0; first prefix reaching b1 (prefix lengths grow with the token count) */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        long b = prefix_bytes(tok, ids, mid + 1);
        if (b < 0) return duo_fail(err, "out of memory");
        if (b > b0) hi = mid;
        else lo = mid + 1;
    }
    *start = lo;
    lo = *start, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        long b = prefix_bytes(tok, ids, mid);
        if (b < 0) return duo_fail(err, "out of memory");
        if (b >= b1) hi = mid;
        else lo = mid + 1;
    }
    *end = lo > *start ? lo : *start + 1;
    return 0;
}

/* The hook's record of one prompt: argmax[t][L][H] for the forward producing generated token t, whose last
 * query is at position base + t. */
typedef struct {
    int L, H;
    size_t base, max_new;
    int32_t *argmax;
} argmax_record;

static void record_argmax(void *ctx, int layer, int32_t query_pos, const int32_t *key_pos) {
    argmax_record *r = ctx;
    if (query_pos < 0 || (size_t)query_pos < r->base || (size_t)query_pos - r->base >= r->max_new) return;
    size_t t = (size_t)query_pos - r->base;
    memcpy(r->argmax + (t * (size_t)r->L + (size_t)layer) * (size_t)r->H, key_pos, (size_t)r->H * sizeof *key_pos);
}

int score_retrieval_prompts(const duo_model *m, duo_backend *be, const score_needle_prompt *ps, int np,
                            int max_new_tokens, const int32_t *eos, int num_eos, double *head_scores,
                            double *kv_scores, int *prompts_used, score_trace *traces, duo_progress *bar,
                            duo_error *err) {
    duo_dims dm;
    if (dims_of(m, &dm, err)) return -1;
    if (np < 1 || max_new_tokens < 1) return duo_fail(err, "retrieval needs at least one prompt and one new token");
    size_t longest = 0;
    for (int p = 0; p < np; p++) {
        if (ps[p].n < 1 || ps[p].needle_start >= ps[p].needle_end || ps[p].needle_end > ps[p].n)
            return duo_fail(err, "needle prompt %d: needle span [%zu, %zu) is not inside its %zu tokens", p,
                            ps[p].needle_start, ps[p].needle_end, ps[p].n);
        if (ps[p].n > longest) longest = ps[p].n;
    }
    size_t LH = (size_t)dm.L * (size_t)dm.H;
    argmax_record rec = {dm.L, dm.H, 0, (size_t)max_new_tokens, malloc((size_t)max_new_tokens * LH * sizeof(int32_t))};
    double *hits = calloc(LH, sizeof *hits);
    uint8_t *full = malloc((size_t)dm.L * (size_t)dm.KVH);
    if (!rec.argmax || !hits || !full) {
        free(rec.argmax);
        free(hits);
        free(full);
        return duo_fail(err, "out of memory");
    }
    memset(full, 1, (size_t)dm.L * (size_t)dm.KVH);
    /* every head full, the prompt in one forward: the first generated token's query is the prompt's last */
    duo_infer_opts io = {.sink_size = 0, .recent_size = 1, .prefilling_chunk_size = 0, .decoding_simulation_length = 0,
                         .prefill = PREFILL_REFERENCE, .max_new_tokens = max_new_tokens, .max_prompt = longest,
                         .argmax_fn = record_argmax, .argmax_ctx = &rec};
    duo_infer *ctx = infer_create(m, be, full, &io, err);
    int rc = ctx ? 0 : -1, used = 0;
    memset(head_scores, 0, LH * sizeof *head_scores);
    for (int p = 0; p < np && !rc; p++) {
        const score_needle_prompt *q = &ps[p];
        rec.base = q->n - 1;
        for (size_t i = 0; i < (size_t)max_new_tokens * LH; i++) rec.argmax[i] = -1;
        duo_infer_result res;
        if (infer_generate(ctx, q->ids, q->n, eos, num_eos, NULL, NULL, 0, &res, err)) {
            duo_error_prefix(err, "needle prompt %d (%zu tokens)", p, q->n);
            rc = -1;
            break;
        }
        /* copied tokens: generated ids among the needle's; a head hits when its key is a needle position
         * holding that id */
        memset(hits, 0, LH * sizeof *hits);
        size_t copied = 0;
        for (size_t t = 0; t < res.n; t++) {
            int32_t g = res.ids[t];
            int is_copy = 0;
            for (size_t j = q->needle_start; j < q->needle_end && !is_copy; j++) is_copy = q->ids[j] == g;
            if (!is_copy) continue;
            copied++;
            for (size_t i = 0; i < LH; i++) {
                int32_t a = rec.argmax[t * LH + i];
                if (a >= 0 && (size_t)a >= q->needle_start && (size_t)a < q->needle_end && q->ids[a] == g) hits[i]++;
            }
        }
        if (copied) {
            used++;
            for (size_t i = 0; i < LH; i++) head_scores[i] += hits[i] / (double)copied;
        }
        if (traces) {
            traces[p].ids = res.ids;
            traces[p].n = res.n;
            traces[p].argmax = malloc((res.n ? res.n : 1) * LH * sizeof(int32_t));
            res.ids = NULL;
            if (!traces[p].argmax) rc = duo_fail(err, "out of memory");
            else memcpy(traces[p].argmax, rec.argmax, res.n * LH * sizeof(int32_t));
        }
        infer_result_free(&res);
        if (bar) progress_update(bar, p + 1, "prompt %d of %d (%zu tokens, %zu copied)", p + 1, np, q->n, copied);
    }
    if (!rc) {
        int group = dm.H / dm.KVH;
        for (size_t i = 0; i < LH; i++) head_scores[i] = used ? head_scores[i] / used : 0;
        for (int l = 0; l < dm.L; l++)
            for (int g = 0; g < dm.KVH; g++) {
                double s = 0;
                for (int t = 0; t < group; t++) s += head_scores[(size_t)l * dm.H + (size_t)(g * group + t)];
                kv_scores[l * dm.KVH + g] = s / group;
            }
        *prompts_used = used;
    }
    infer_free(ctx);
    free(rec.argmax);
    free(hits);
    free(full);
    return rc;
}

int score_retrieval_run(const score_opts *o, const duo_model *m, duo_backend *be, const duo_tokenizer *tok,
                        double *values, json_t *cfg, duo_error *err) {
    sweep_opts so = o->eval;
    so.task = o->prompts == SCORE_PROMPTS_NIAH ? SWEEP_NIAH : SWEEP_PASSKEY;
    so.samples = o->samples;
    so.seed = o->seed;
    so.dataset = o->dataset;
    sweep_prompts sp;
    if (sweep_prompts_build(&so, tok, o->model_dir, &sp, err)) return -1;
    int L = m->cfg.num_hidden_layers, H = m->cfg.num_attention_heads, KVH = m->cfg.num_key_value_heads;
    score_needle_prompt *ps = calloc(sp.n, sizeof *ps);
    double *head = malloc((size_t)L * (size_t)H * sizeof *head);
    int rc = ps && head ? 0 : duo_fail(err, "out of memory");
    size_t longest_needle = 0;
    for (size_t i = 0; i < sp.n && !rc; i++) {
        const sweep_prompt *p = &sp.p[i];
        ps[i] = (score_needle_prompt){p->ids, p->n, 0, 0};
        rc = score_find_span(tok, p->ids, p->n, so.task == SWEEP_NIAH ? p->needle : p->expected, &ps[i].needle_start,
                             &ps[i].needle_end, err);
        if (rc) duo_error_prefix(err, "prompt %zu (context length %d)", i, so.context_lengths[p->ctx_index]);
        else if (ps[i].needle_end - ps[i].needle_start > longest_needle)
            longest_needle = ps[i].needle_end - ps[i].needle_start;
    }
    int max_new = o->max_new_tokens ? o->max_new_tokens : (int)longest_needle + 8;
    if (!rc && sp.longest + (size_t)max_new > (size_t)m->cfg.max_position_embeddings)
        rc = duo_fail(err, "the longest prompt (%zu tokens) plus %d new tokens exceeds %s's %d positions", sp.longest,
                      max_new, m->dir, m->cfg.max_position_embeddings);
    int used = 0;
    if (!rc) {
        int32_t eos[8];
        int num_eos = generation_eos_ids(m, eos, 8);
        fprintf(stderr, "duo-train score retrieval: %zu %s prompts (%zu tokens at most), %d new tokens each\n", sp.n,
                so.task == SWEEP_NIAH ? "needle" : "passkey", sp.longest, max_new);
        duo_progress bar;
        if (o->show_progress) progress_start(&bar, "score retrieval", (long)sp.n);
        rc = score_retrieval_prompts(m, be, ps, (int)sp.n, max_new, eos, num_eos, head, values, &used, NULL,
                                     o->show_progress ? &bar : NULL, err);
        if (o->show_progress) progress_end(&bar);
    }
    if (!rc) {
        if (!used)
            fprintf(stderr, "duo-train score retrieval: warning: no prompt's answer copied a needle token; every score "
                            "is 0 (the model does not retrieve these needles)\n");
        json_t *lens = json_array(), *depths = json_array();
        for (int c = 0; c < so.num_context_lengths; c++) json_array_append_new(lens, json_integer(so.context_lengths[c]));
        for (int d = 0; so.task == SWEEP_NIAH && d < so.num_depths; d++) json_array_append_new(depths, json_real(so.depths[d]));
        json_object_set_new(cfg, "prompts", json_string(so.task == SWEEP_NIAH ? "niah" : "passkey"));
        json_object_set_new(cfg, "context_lengths", lens);
        if (so.task == SWEEP_NIAH) json_object_set_new(cfg, "depths", depths);
        else json_decref(depths);
        if (so.task == SWEEP_PASSKEY) json_object_set_new(cfg, "num_samples", json_integer(o->samples));
        json_object_set_new(cfg, "seed", json_integer((json_int_t)o->seed));
        json_object_set_new(cfg, "max_new_tokens", json_integer(max_new));
        json_object_set_new(cfg, "num_prompts", json_integer((json_int_t)sp.n));
        json_object_set_new(cfg, "prompts_copying", json_integer(used));
        json_object_set_new(cfg, "mapping", json_string("full_attention_heads = retrieval score, the mean over each KV "
                                                        "head's query heads"));
        json_object_set_new(cfg, "query_head_scores", score_json_matrix(head, L, H));
    }
    (void)KVH;
    free(ps);
    free(head);
    sweep_prompts_free(&sp);
    return rc;
}
