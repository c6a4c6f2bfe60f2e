/* The LongBench task's per-record loop (eval/longbench_run.h). */
#include "eval/longbench_run.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "eval/sweep_report.h"

int longbench_begin(const sweep_opts *o, longbench_run **out, duo_error *err) {
    longbench_run *lr = calloc(1, sizeof *lr);
    if (!lr) return duo_fail(err, "out of memory");
    if (longbench_load(&o->longbench, o->dataset, o->model_dir, &lr->data, err)) {
        longbench_end(lr);
        return -1;
    }
    if (o->longbench.max_length && o->longbench.max_length < lr->data.max_gen) {
        duo_fail(err, "--max_length %d is smaller than the generation length %d (dataset2maxlen)",
                 o->longbench.max_length, lr->data.max_gen);
        longbench_end(lr);
        return -1;
    }
    lr->num_sparsities = o->num_sparsities;
    lr->seeds = o->random_patterns > 1 ? o->random_patterns : 1;
    lr->output_dir = o->output_dir;
    *out = lr;
    return 0;
}

void longbench_end(longbench_run *lr) {
    if (!lr) return;
    longbench_free(&lr->data);
    free(lr->res);
    free(lr);
}

lb_result *longbench_result(longbench_run *lr, int s, int b, int seed, size_t i) {
    size_t P = lr->data.num_prompts;
    return &lr->res[(((size_t)s * SWEEP_NUM_BASELINES + (size_t)b) * (size_t)lr->seeds + (size_t)seed) * P + i];
}

int longbench_build_prompts(longbench_run *lr, const sweep_opts *o, const duo_model *m, const duo_tokenizer *tok,
                            sweep_prompts *ps, int *max_new_tokens, duo_error *err) {
    int positions = m->cfg.max_position_embeddings, gen = lr->data.max_gen;
    if (*max_new_tokens && *max_new_tokens < gen) gen = *max_new_tokens;
    lr->max_length = o->longbench.max_length ? o->longbench.max_length : positions - lr->data.max_gen;
    if (lr->max_length < gen)
        return duo_fail(err, "%s has %d positions: no prompt budget is left beside the generation length %d (give "
                             "--max_length, or fewer datasets)", m->dir, positions, lr->data.max_gen);
    if (longbench_prompts(&lr->data, lr->max_length, tok, ps, err)) return -1;
    if (!*max_new_tokens) *max_new_tokens = lr->data.max_gen;
    /* re-encoding the two halves and the chat wrapper can add a few tokens to a truncated prompt */
    for (size_t i = 0; i < ps->n; i++)
        if (ps->p[i].n + (size_t)*max_new_tokens > (size_t)positions) {
            const lb_dataset *d = &lr->data.d[lr->data.prompt_dataset[i]];
            return duo_fail(err, "%s:%d: the prompt has %zu tokens (--max_length %d%s); with %d new tokens it exceeds "
                                 "%s's %d positions: give a smaller --max_length", d->path,
                            d->r[lr->data.prompt_record[i]].line, ps->p[i].n, lr->max_length,
                            lr->data.truncated[i] ? ", truncated in the middle and re-encoded" : "", *max_new_tokens,
                            m->dir, positions);
        }
    size_t n = (size_t)lr->num_sparsities * SWEEP_NUM_BASELINES * (size_t)lr->seeds * lr->data.num_prompts;
    lr->res = calloc(n ? n : 1, sizeof *lr->res);
    if (!lr->res) return duo_fail(err, "out of memory for %zu LongBench results", n);
    return 0;
}

/* pred.py's loop: the first generated token never ends it; after that an EOS id does (and is kept);
 * max_gen tokens at most. */
typedef struct {
    size_t max_gen;
    const int32_t *eos;
    int num_eos;
} lb_stop_ctx;

static int lb_stop(void *v, const int32_t *ids, size_t n) {
    const lb_stop_ctx *s = v;
    if (n >= s->max_gen) return 1;
    for (int e = 0; n >= 2 && e < s->num_eos; e++)
        if (ids[n - 1] == s->eos[e]) return 1;
    return 0;
}

static json_t *string_array(const char *const *s, size_t n) {
    if (!s) return json_null();
    json_t *a = json_array();
    for (size_t k = 0; a && k < n; k++) json_array_append_new(a, json_string(s[k]));
    return a;
}

/* The pattern's pred folder: longbench_pred/<baseline>[-seed<k>]-sp-<sparsity>/. */
static void pred_dir(const longbench_run *lr, const sweep_opts *o, int s, int b, int seed, char *out, size_t cap) {
    char name[128], sub[4300];
    if (lr->seeds > 1 && b == 1)
        snprintf(name, sizeof name, "%s-seed%d-sp-%g", SWEEP_BASELINE_NAMES[b], seed, o->sparsities[s]);
    else snprintf(name, sizeof name, "%s-sp-%g", SWEEP_BASELINE_NAMES[b], o->sparsities[s]);
    path_join(sub, sizeof sub, lr->output_dir, "longbench_pred");
    path_join(out, cap, sub, name);
}

static int write_line(FILE *f, json_t *obj, const char *what, duo_error *err) {
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    int rc = !text || fprintf(f, "%s\n", text) < 0 || fflush(f) ? duo_fail(err, "cannot write %s", what) : 0;
    free(text);
    return rc;
}

int longbench_run_pattern(longbench_run *lr, const sweep_opts *o, const lb_run_env *env, int s, int b, int seed,
                          double achieved, duo_error *err) {
    longbench *lb = &lr->data;
    char dir[4400], path[4600];
    pred_dir(lr, o, s, b, seed, dir, sizeof dir);
    if (make_dirs(dir, err)) return -1;
    FILE *pred = NULL;
    int pred_dataset = -1, rc = 0;
    for (size_t i = 0; i < env->ps->n && !rc; i++) {
        const sweep_prompt *p = &env->ps->p[i];
        const lb_dataset *d = &lb->d[lb->prompt_dataset[i]];
        const lb_record *rec = &d->r[lb->prompt_record[i]];
        /* eval.py scores every record of a file with the all_classes of the file's last record */
        const lb_record *last = &d->r[d->n - 1];
        if (lb->prompt_dataset[i] != pred_dataset) { /* the records come dataset by dataset */
            if (pred && fclose(pred)) {
                pred = NULL;
                rc = duo_fail(err, "%s: cannot write", path);
                break;
            }
            char file[128];
            snprintf(file, sizeof file, "%s-duo_attn.jsonl", d->name);
            pred = fopen(path_join(path, sizeof path, dir, file), "w");
            if (!pred) {
                rc = duo_fail(err, "%s: cannot create", path);
                break;
            }
            pred_dataset = lb->prompt_dataset[i];
        }
        lb_stop_ctx st = {(size_t)(d->max_gen < env->max_new_tokens ? d->max_gen : env->max_new_tokens), env->eos,
                          env->num_eos};
        duo_infer_result res;
        if (infer_generate(env->ctx, p->ids, p->n, NULL, 0, lb_stop, &st, 0, &res, err)) {
            duo_error_prefix(err, "%s:%d (%zu prompt tokens)", d->path, rec->line, p->n);
            rc = -1;
            break;
        }
        char *raw = tokenizer_decode_len(env->tok, res.ids, res.n, 1, NULL);
        char *text = raw ? longbench_post_process(raw, lb->model_name) : NULL;
        free(raw);
        lb_result *out = longbench_result(lr, s, b, seed, i);
        if (!text) rc = duo_fail(err, "out of memory decoding a prediction");
        else
            rc = lb_record_score(d->name, d->metric, 0, text, rec->answers, rec->n_answers, last->all_classes,
                                 last->n_classes, &out->score, err) ||
                 lb_record_score(d->name, d->metric, 1, text, rec->answers, rec->n_answers, last->all_classes,
                                 last->n_classes, &out->score_e, err);
        if (rc) duo_error_prefix(err, "%s:%d: scoring", d->path, rec->line);
        if (!rc) {
            out->done = 1;
            out->achieved = achieved;
            out->prompt_tokens = (double)p->n;
            out->kv_bytes = (double)res.kv_bytes;
            out->kv_full_bytes = (double)res.kv_bytes_full;
            out->prefill_s = res.prefill_s;
            out->decode_ms_per_token = res.decode_tokens ? 1000 * res.decode_s / (double)res.decode_tokens : 0;
            /* the reference's pred file line */
            json_t *pl = json_pack("{s:s, s:o, s:o, s:I}", "pred", text, "answers",
                                   string_array(rec->answers, rec->n_answers), "all_classes",
                                   string_array(rec->all_classes, rec->n_classes), "length", (json_int_t)rec->length);
            rc = write_line(pred, pl, path, err);
            json_decref(pl);
        }
        if (!rc) {
            json_t *line = json_pack(
                "{s:s, s:s, s:f, s:f, s:s, s:i, s:I, s:s, s:s, s:o, s:o, s:I, s:f, s:f, s:I, s:b, s:I, s:f, s:f}",
                "task", "longbench", "dataset", d->name, "sparsity", o->sparsities[s], "achieved_sparsity", achieved,
                "baseline", SWEEP_BASELINE_NAMES[b], "seed", seed, "index", (json_int_t)lb->prompt_record[i], "_id",
                rec->id, "pred", text, "answers", string_array(rec->answers, rec->n_answers), "all_classes",
                string_array(rec->all_classes, rec->n_classes), "length", (json_int_t)rec->length, "score",
                out->score, "score_e", out->score_e, "prompt_tokens", (json_int_t)p->n, "truncated",
                (int)lb->truncated[i], "kv_bytes", (json_int_t)res.kv_bytes, "prefill_s", res.prefill_s,
                "decode_ms_per_token", out->decode_ms_per_token);
            json_t *gen = json_array();
            for (size_t k = 0; gen && k < res.n; k++) json_array_append_new(gen, json_integer(res.ids[k]));
            if (line) json_object_set_new(line, "generated_ids", gen);
            else json_decref(gen);
            rc = write_line(env->jsonl, line, "responses.jsonl", err);
            json_decref(line);
        }
        free(text);
        infer_result_free(&res);
        if (rc) break;
        ++*env->done;
        if (env->bar)
            progress_update(env->bar, *env->done, "sparsity %.2f %s %s", o->sparsities[s], SWEEP_BASELINE_NAMES[b],
                            d->name);
    }
    if (pred && fclose(pred) && !rc) rc = duo_fail(err, "%s: cannot write", path);
    return rc ? -1 : 0;
}
