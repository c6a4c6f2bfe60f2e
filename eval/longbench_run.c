/* The LongBench task's per-record loop (eval/longbench_run.h). */
#include "eval/longbench_run.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "eval/sweep_report.h"
#include "util/format.h"
#include "util/interrupt.h"

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
    return &lr->res[(((size_t)s * SWEEP_MAX_BASELINES + (size_t)b) * (size_t)lr->seeds + (size_t)seed) * P + i];
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
    size_t n = (size_t)lr->num_sparsities * SWEEP_MAX_BASELINES * (size_t)lr->seeds * lr->data.num_prompts;
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

/* The pattern's pred folder: longbench_pred/<baseline>[-seed<k>]-sp-<sparsity>/ (the sparsity's shortest
 * round-trip digits: distinct values, distinct folders). */
static void pred_dir(const longbench_run *lr, const sweep_opts *o, int s, int b, int seed, char *out, size_t cap) {
    char name[400], sub[4300], sp[40];
    format_double(o->sparsities[s], sp, sizeof sp);
    if (lr->seeds > 1 && b == 1) snprintf(name, sizeof name, "%s-seed%d-sp-%s", sweep_baseline_name(o, b), seed, sp);
    else snprintf(name, sizeof name, "%s-sp-%s", sweep_baseline_name(o, b), sp);
    path_join(sub, sizeof sub, lr->output_dir, SWEEP_LONGBENCH_PRED);
    path_join(out, cap, sub, name);
}

char *longbench_prompt_key(const longbench_run *lr, const sweep_opts *o, int s, int b, int seed, size_t i, char *buf,
                           size_t cap) {
    const longbench *lb = &lr->data;
    return sweep_prompt_key(buf, cap, o->sparsities[s], sweep_baseline_name(o, b), seed, lr->max_length, NAN,
                            lb->prompt_record[i], lb->d[lb->prompt_dataset[i]].name);
}

/* One dataset's pred file as it grows: [len] bytes of JSON lines. */
typedef struct {
    char *text;
    size_t len, cap;
} pred_text;

static int pred_add(pred_text *t, json_t *obj, duo_error *err) {
    char *line = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    size_t n = line ? strlen(line) : 0;
    if (line && t->len + n + 2 > t->cap) {
        size_t cap = 2 * t->cap + n + 2;
        char *grown = realloc(t->text, cap);
        if (!grown) {
            free(line);
            line = NULL;
        } else t->text = grown, t->cap = cap;
    }
    if (!line) return duo_fail(err, "out of memory formatting a pred file line");
    memcpy(t->text + t->len, line, n);
    t->text[t->len + n] = '\n';
    t->len += n + 1;
    free(line);
    return 0;
}

/* The reference's pred file line: pred, answers, all_classes, length -- one function for a record just
 * run and one read back, so a resumed sweep's pred files equal an uninterrupted run's. */
static int pred_add_record(pred_text *t, const char *pred, const lb_record *rec, duo_error *err) {
    json_t *pl = json_pack("{s:s, s:o, s:o, s:I}", "pred", pred, "answers", string_array(rec->answers, rec->n_answers),
                           "all_classes", string_array(rec->all_classes, rec->n_classes), "length",
                           (json_int_t)rec->length);
    int rc = pred_add(t, pl, err);
    json_decref(pl);
    return rc;
}

/* --resume: record i's result from its line; refused when the line is another record's or another
 * prompt's (other data, another --max_length). */
static int restore_record(const sweep_output *out, const json_t *line, const char *key, const lb_record *rec,
                          const sweep_prompt *p, lb_result *x, const char **pred, duo_error *err) {
    const char *id = json_string_value(json_object_get(line, "_id"));
    json_t *tokens = json_object_get(line, "prompt_tokens");
    *pred = json_string_value(json_object_get(line, "pred"));
    if (!id || strcmp(id, rec->id) || !json_is_integer(tokens) || json_integer_value(tokens) != (json_int_t)p->n || !*pred)
        return duo_fail(err, "%s: the response of %s was made with other data or options (_id \"%.60s\", %lld prompt "
                             "tokens; this run's record: _id \"%.60s\", %zu tokens); resume with the same options or "
                             "pass --overwrite", out->responses, key, id ? id : "?",
                        json_is_integer(tokens) ? (long long)json_integer_value(tokens) : -1LL, rec->id, p->n);
    const char *names[] = {"score", "score_e", "achieved_sparsity", "kv_bytes", "kv_bytes_full", "prefill_s",
                           "decode_ms_per_token"};
    double *dst[] = {&x->score, &x->score_e, &x->achieved, &x->kv_bytes, &x->kv_full_bytes, &x->prefill_s,
                     &x->decode_ms_per_token};
    for (int k = 0; k < 7; k++) {
        json_t *v = json_object_get(line, names[k]);
        if (!json_is_number(v))
            return duo_fail(err, "%s: the response of %s has no number \"%s\" (written by an older duo-train?); pass "
                                 "--overwrite", out->responses, key, names[k]);
        *dst[k] = json_number_value(v);
    }
    x->prompt_tokens = (double)p->n;
    x->done = 1;
    return 0;
}

/* Writes the pred file of the dataset under way (atomically) and empties t. */
static int pred_flush(pred_text *t, const char *dir, const lb_dataset *d, duo_error *err) {
    char file[160], path[4600];
    snprintf(file, sizeof file, "%s-duo_attn.jsonl", d->name);
    int rc = file_write_atomic(path_join(path, sizeof path, dir, file), t->text ? t->text : "", t->len, err);
    t->len = 0;
    return rc;
}

/* Job j on record i: generated, post-processed, scored, its line appended (*line: the caller's) and
 * *pred (the caller's) the post-processed prediction. */
static int run_record(longbench_run *lr, const sweep_opts *o, const lb_run_env *env, int j, size_t i, const char *key,
                      int *set_job, json_t **line, char **pred, duo_error *err) {
    longbench *lb = &lr->data;
    const sweep_job *jb = &env->jobs[j];
    const sweep_prompt *p = &env->ps->p[i];
    const lb_dataset *d = &lb->d[lb->prompt_dataset[i]];
    const lb_record *rec = &d->r[lb->prompt_record[i]];
    /* eval.py scores every record of a file with the all_classes of the file's last record */
    const lb_record *last = &d->r[d->n - 1];
    lb_result *out = longbench_result(lr, jb->s, jb->b, jb->k, i);
    /* a pattern equal to the one ctx holds is not set again (its caches are rebuilt on every set) */
    if (*set_job < 0 || memcmp(env->jobs[*set_job].full, jb->full, env->G)) {
        if (infer_set_pattern(env->ctx, jb->full, err)) return -1;
    }
    *set_job = j;
    lb_stop_ctx st = {(size_t)(d->max_gen < env->max_new_tokens ? d->max_gen : env->max_new_tokens), env->eos,
                      env->num_eos};
    duo_infer_result res;
    if (infer_generate(env->ctx, p->ids, p->n, NULL, 0, lb_stop, &st, 0, &res, err)) {
        duo_error_prefix(err, "%s:%d (%zu prompt tokens)", d->path, rec->line, p->n);
        return -1;
    }
    char *raw = tokenizer_decode_len(env->tok, res.ids, res.n, 1, NULL);
    char *text = raw ? longbench_post_process(raw, lb->model_name) : NULL;
    free(raw);
    int rc = 0;
    if (!text) rc = duo_fail(err, "out of memory decoding a prediction");
    else
        rc = lb_record_score(d->name, d->metric, 0, text, rec->answers, rec->n_answers, last->all_classes,
                             last->n_classes, &out->score, err) ||
             lb_record_score(d->name, d->metric, 1, text, rec->answers, rec->n_answers, last->all_classes,
                             last->n_classes, &out->score_e, err);
    if (rc) duo_error_prefix(err, "%s:%d: scoring", d->path, rec->line);
    if (!rc) {
        out->achieved = jb->achieved;
        out->prompt_tokens = (double)p->n;
        out->kv_bytes = (double)res.kv_bytes;
        out->kv_full_bytes = (double)res.kv_bytes_full;
        out->prefill_s = res.prefill_s;
        out->decode_ms_per_token = res.decode_tokens ? 1000 * res.decode_s / (double)res.decode_tokens : 0;
        *line = json_pack(
            "{s:s, s:s, s:f, s:f, s:s, s:i, s:i, s:I, s:I, s:s, s:s, s:o, s:o, s:I, s:f, s:f, s:I, s:b, s:I, "
            "s:I, s:f, s:f}",
            "task", "longbench", "dataset", d->name, "sparsity", o->sparsities[jb->s], "achieved_sparsity", jb->achieved,
            "baseline", sweep_baseline_name(o, jb->b), "seed", jb->k, "context_length", lr->max_length, "sample",
            (json_int_t)lb->prompt_record[i], "index", (json_int_t)lb->prompt_record[i], "_id", rec->id,
            "pred", text, "answers", string_array(rec->answers, rec->n_answers), "all_classes",
            string_array(rec->all_classes, rec->n_classes), "length", (json_int_t)rec->length, "score",
            out->score, "score_e", out->score_e, "prompt_tokens", (json_int_t)p->n, "truncated",
            (int)lb->truncated[i], "kv_bytes", (json_int_t)res.kv_bytes, "kv_bytes_full",
            (json_int_t)res.kv_bytes_full, "prefill_s", res.prefill_s, "decode_ms_per_token",
            out->decode_ms_per_token);
        if (*line && res.shared_prefill) { /* prefill_s is what this pattern added; the first forward was shared */
            json_object_set_new(*line, "shared_prefill_s", json_real(res.shared_prefill_s));
            json_object_set_new(*line, "shared_prefill", json_string(res.shared_prefill == 1 ? "computed" : "restored"));
        }
        json_t *gen = json_array();
        for (size_t k = 0; gen && k < res.n; k++) json_array_append_new(gen, json_integer(res.ids[k]));
        if (*line) json_object_set_new(*line, "generated_ids", gen);
        else json_decref(gen);
        char *jl = *line ? json_dumps(*line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (!jl) rc = duo_fail(err, "out of memory formatting the response line of %s", key);
        else rc = sweep_output_append(env->out, jl, err);
        free(jl);
    }
    if (!rc) {
        out->done = 1;
        env->st->computed += res.shared_prefill == 1;
        env->st->restored += res.shared_prefill == 2;
        env->st->shared_s += res.shared_prefill == 1 ? res.shared_prefill_s : 0;
        env->st->added_s += res.prefill_s;
        *pred = text;
    } else free(text);
    infer_result_free(&res);
    return rc;
}

/* Job j's mask equals job same_as's: its response to record i is that job's line (src, key src_key)
 * with this job's identity, marked reused_from -- the same computation, not run twice. */
static int reuse_record(longbench_run *lr, const sweep_opts *o, const lb_run_env *env, int j, size_t i,
                        const json_t *src, const char *src_key, const char *key, json_t **line, duo_error *err) {
    const sweep_job *jb = &env->jobs[j];
    *line = sweep_reused_line(o, jb, src, src_key);
    if (!*line) return duo_fail(err, "out of memory formatting the response line of %s", key);
    char *jl = json_dumps(*line, JSON_COMPACT | JSON_ENSURE_ASCII);
    int rc = jl ? sweep_output_append(env->out, jl, err) : duo_fail(err, "out of memory formatting the response line of %s", key);
    free(jl);
    if (rc) return -1;
    const sweep_job *from = &env->jobs[jb->same_as];
    lb_result *out = longbench_result(lr, jb->s, jb->b, jb->k, i);
    *out = *longbench_result(lr, from->s, from->b, from->k, i);
    out->achieved = jb->achieved;
    env->st->reused++;
    return 0;
}

int longbench_run_jobs(longbench_run *lr, const sweep_opts *o, const lb_run_env *env, duo_error *err) {
    longbench *lb = &lr->data;
    int J = env->num_jobs, rc = 0, stop = 0, set_job = -1;
    char (*dirs)[4400] = malloc((size_t)J * sizeof *dirs);   /* [job] its pred folder */
    char (*keys)[512] = malloc((size_t)J * sizeof *keys);    /* [job] this record's keys */
    pred_text *pt = calloc((size_t)J, sizeof *pt);            /* [job] the dataset under way's pred file */
    json_t **lines = calloc((size_t)J, sizeof *lines);        /* [job] this record's lines (for reuse) */
    if (!dirs || !keys || !pt || !lines) rc = duo_fail(err, "out of memory for %d patterns' records", J);
    for (int j = 0; !rc && j < J; j++) {
        pred_dir(lr, o, env->jobs[j].s, env->jobs[j].b, env->jobs[j].k, dirs[j], sizeof dirs[j]);
        rc = make_dirs(dirs[j], err);
    }
    for (size_t i = 0; i < env->ps->n && !rc && !stop; i++) {
        const sweep_prompt *p = &env->ps->p[i];
        const lb_dataset *d = &lb->d[lb->prompt_dataset[i]];
        const lb_record *rec = &d->r[lb->prompt_record[i]];
        for (int j = 0; j < J && !rc && !stop; j++) {
            const sweep_job *jb = &env->jobs[j];
            longbench_prompt_key(lr, o, jb->s, jb->b, jb->k, i, keys[j], sizeof keys[j]);
            json_t *old = sweep_output_resumed(env->out, keys[j]);
            const char *pred = NULL;
            char *made = NULL;
            if (old) { /* --resume: done in the interrupted run */
                rc = restore_record(env->out, old, keys[j], rec, p, longbench_result(lr, jb->s, jb->b, jb->k, i), &pred,
                                    err);
                lines[j] = json_incref(old);
            } else if (jb->same_as >= 0 && lines[jb->same_as]) {
                rc = reuse_record(lr, o, env, j, i, lines[jb->same_as], keys[jb->same_as], keys[j], &lines[j], err);
                if (!rc) pred = json_string_value(json_object_get(lines[j], "pred"));
                if (!rc && !pred) rc = duo_fail(err, "%s: no pred to reuse", keys[jb->same_as]);
            } else {
                rc = run_record(lr, o, env, j, i, keys[j], &set_job, &lines[j], &made, err);
                pred = made;
            }
            if (!rc) rc = pred_add_record(&pt[j], pred, rec, err);
            free(made);
            if (rc) break;
            ++*env->done;
            if (env->bar)
                progress_update(env->bar, *env->done, "%s record %zu: sparsity %.2f %s", d->name, (size_t)lb->prompt_record[i],
                                o->sparsities[jb->s], sweep_baseline_name(o, jb->b));
            if (!old && interrupt_requested()) stop = interrupt_requested(); /* finish the record, then stop */
        }
        for (int j = 0; j < J; j++) {
            json_decref(lines[j]);
            lines[j] = NULL;
        }
        /* the records come dataset by dataset: each job's pred file of a dataset is written once the
         * dataset is whole (or the sweep stops) */
        if (!rc && (stop || i + 1 == env->ps->n || lb->prompt_dataset[i + 1] != lb->prompt_dataset[i]))
            for (int j = 0; j < J && !rc; j++) rc = pred_flush(&pt[j], dirs[j], d, err);
    }
    for (int j = 0; pt && j < J; j++) free(pt[j].text);
    free(pt);
    free(dirs);
    free(keys);
    free(lines);
    return rc ? -1 : stop;
}
