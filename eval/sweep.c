#include "eval/sweep.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json.h"
#include "data/model.h"
#include "data/tokenizer.h"
#include "eval/generation.h"
#include "eval/longbench_run.h"
#include "eval/scores.h"
#include "eval/sweep_output.h"
#include "eval/sweep_prompts.h"
#include "eval/sweep_report.h"
#include "kernels/backend.h"
#include "kernels/gate.h"
#include "model/infer.h"
#include "pattern/export.h"
#include "synth/context_bound.h"
#include "util/format.h"
#include "util/interrupt.h"
#include "util/progress.h"

void sweep_opts_default(sweep_opts *o) {
    memset(o, 0, sizeof *o);
    const double sp[] = {0, 0.25, 0.5, 0.75, 1};
    memcpy(o->sparsities, sp, sizeof sp);
    o->num_sparsities = 5;
    o->context_lengths[0] = 1000;
    o->num_context_lengths = 1;
    const double depths[] = {0, 25, 50, 75, 100};
    memcpy(o->depths, depths, sizeof depths);
    o->num_depths = 5;
    o->samples = 10;
    o->sink_size = o->recent_size = -1;
    o->prefilling_chunk_size = 0;
    o->decoding_simulation_length = 50;
    o->prefill = PREFILL_REFERENCE;
    o->seed = 42;
    o->baselines = SWEEP_BASE_PATTERN | SWEEP_BASE_RANDOM | SWEEP_BASE_INVERTED;
    o->random_patterns = 1;
    o->backend = "auto";
    o->precision = DUO_PREC_DEFAULT;
    o->output_dir = "sweep_out";
    o->show_progress = 1;
    o->share_prefill = o->reuse_identical = 1;
    synth_params_default(&o->passkey);
    o->passkey.context_flag = "--context_lengths"; /* sweep's spelling in the builder's messages */
    o->passkey.repeat_flag = NULL;                 /* sweep never repeats a corpus */
    niah_params_default(&o->niah);
}

/* splitmix64: the seeded random patterns' gates. */
static double unit_random(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

/* The pattern's sink_size / recent_size (config.json next to its TSV), where the user gave none. */
static int pattern_windows(const char *dir, int *sink, int *recent, duo_error *err) {
    char path[4200];
    path_join(path, sizeof path, dir, "config.json");
    json_t *root = duo_json_load_file(path, 0, err);
    if (!root) {
        duo_error_prefix(err, "the pattern's settings (give --sink_size and --recent_size instead)");
        return -1;
    }
    const char *keys[2] = {"sink_size", "recent_size"};
    int *dst[2] = {sink, recent};
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        if (*dst[k] >= 0) continue;
        json_t *v = json_object_get(root, keys[k]);
        if (!json_is_integer(v) || json_integer_value(v) < (k ? 1 : 0) || json_integer_value(v) > (1 << 30))
            rc = duo_fail(err, "%s: no usable \"%s\" (give --%s)", path, keys[k], keys[k]);
        else *dst[k] = (int)json_integer_value(v);
    }
    json_decref(root);
    return rc;
}

/* --compare folder k's gates, refused unless it holds a pattern of the model's shape (L x KVH). */
static int compare_gates(const sweep_opts *o, int k, int L, int KVH, const char *model, double **out, duo_error *err) {
    char path[4200];
    int rows = 0, cols = 0;
    path_join(path, sizeof path, o->compare_dirs[k], "full_attention_heads.tsv");
    if (!path_exists(path))
        return duo_fail(err, "--compare %s: %s holds no pattern (no full_attention_heads.tsv)", o->compare_names[k],
                        o->compare_dirs[k]);
    if (export_read_tsv(path, out, &rows, &cols, err)) {
        duo_error_prefix(err, "--compare %s", o->compare_names[k]);
        return -1;
    }
    if (rows != L || cols != KVH)
        return duo_fail(err, "--compare %s: %s is a pattern of another shape: %d x %d gates, %s has %d layers x %d KV heads",
                        o->compare_names[k], path, rows, cols, model, L, KVH);
    return 0;
}

static char *strip_copy(const char *s, size_t len) {
    while (len && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = 0;
    }
    return out;
}

/* One prompt's numbers, summed into its cell: the same for a prompt just run and one read back from
 * responses.jsonl (--resume), so a resumed sweep's table equals an uninterrupted one's. */
typedef struct {
    double achieved, acc, words, rouge, tokens, kv, kv_full, prefill_s, decode_ms;
} prompt_numbers;

static void add_to_cell(sweep_cell *c, const prompt_numbers *x) {
    c->count++;
    c->achieved += x->achieved;
    c->accuracy += x->acc;
    c->words += x->words;
    c->rouge_x10 += x->rouge;
    c->prompt_tokens += x->tokens;
    c->kv_bytes += x->kv;
    c->kv_full_bytes += x->kv_full;
    c->prefill_s += x->prefill_s;
    c->decode_ms_per_token += x->decode_ms;
}

typedef struct {
    const sweep_opts *o;
    const duo_tokenizer *tok;
    duo_infer *ctx;
    const sweep_prompts *ps;
    sweep_report *rep;
    sweep_output *out;
    duo_progress *bar;
    long done;
    int interrupted; /* the signal that stopped the sweep after a prompt */
    int32_t eos[8];
    int num_eos;
    longbench_run *lb;  /* --task longbench */
    /* passkey and NIAH: prompt-major over the jobs (run_prompts) */
    const sweep_job *jobs;
    int num_jobs;
    size_t G;           /* layers * kv heads */
    int set_job;        /* the job whose pattern ctx holds; -1: none yet */
    prompt_numbers *num; /* [job][prompt] the numbers of each response, summed into the cells at the end */
    uint8_t *have;      /* [job][prompt] 1 when num holds that response */
    sweep_share_stats st; /* this run's prefill, for the summary */
} sweep_run_ctx;

/* A resumed line's numbers; refuses a line of another sweep's prompts (another seed, other templates). */
static int resumed_numbers(const sweep_run_ctx *r, const sweep_prompt *p, const json_t *line, const char *key,
                           prompt_numbers *x, duo_error *err) {
    const char *exp = json_string_value(json_object_get(line, "expected"));
    json_t *tokens = json_object_get(line, "prompt_tokens");
    if (!exp || strcmp(exp, p->expected) || !json_is_integer(tokens) || json_integer_value(tokens) != (json_int_t)p->n)
        return duo_fail(err, "%s: the response of %s was made with other options (expected \"%.60s\", %lld prompt tokens; "
                             "this run's prompt: \"%.60s\", %zu tokens); resume with the same options or pass --overwrite",
                        r->out->responses, key, exp ? exp : "?", json_is_integer(tokens) ? (long long)json_integer_value(tokens) : -1LL,
                        p->expected, p->n);
    const char *names[] = {"achieved_sparsity", "accuracy", r->o->task == SWEEP_PASSKEY ? "word_accuracy" : "overlap",
                           "rouge1_x10", "kv_bytes", "kv_bytes_full", "prefill_s", "decode_ms_per_token"};
    double *dst[] = {&x->achieved, &x->acc, &x->words, &x->rouge, &x->kv, &x->kv_full, &x->prefill_s, &x->decode_ms};
    for (int i = 0; i < 8; i++) {
        json_t *v = json_object_get(line, names[i]);
        if (i == 3 && r->o->task == SWEEP_PASSKEY) { *dst[i] = 0; continue; }
        if (!json_is_number(v))
            return duo_fail(err, "%s: the response of %s has no number \"%s\" (written by an older duo-train?); pass "
                                 "--overwrite", r->out->responses, key, names[i]);
        *dst[i] = json_number_value(v);
    }
    x->tokens = (double)p->n;
    return 0;
}

static char *prompt_key(const sweep_run_ctx *r, int s, int b, int seed_index, const sweep_prompt *p, char *buf, size_t cap) {
    const sweep_opts *o = r->o;
    return sweep_prompt_key(buf, cap, o->sparsities[s], sweep_baseline_name(o, b), seed_index,
                            o->context_lengths[p->ctx_index], o->task == SWEEP_NIAH ? o->depths[p->depth_index] : NAN,
                            p->sample, NULL);
}

static int job_key(const sweep_run_ctx *r, int j, const sweep_prompt *p, char *buf, size_t cap) {
    const sweep_job *jb = &r->jobs[j];
    return prompt_key(r, jb->s, jb->b, jb->k, p, buf, cap) ? 0 : -1;
}

/* Job j's response line for prompt p from its generated ids res (response: their text, scored). */
static json_t *response_line(const sweep_run_ctx *r, int j, const sweep_prompt *p, const duo_infer_result *res,
                             const char *response, double acc, double words, double rouge, double decode_ms) {
    const sweep_opts *o = r->o;
    const sweep_job *jb = &r->jobs[j];
    json_t *line = json_pack("{s:f, s:f, s:s, s:i, s:i, s:i, s:I, s:s, s:s, s:f, s:f, s:I, s:I, s:f, s:f}",
                             "sparsity", o->sparsities[jb->s], "achieved_sparsity", jb->achieved, "baseline",
                             sweep_baseline_name(o, jb->b), "seed", jb->k, "context_length",
                             o->context_lengths[p->ctx_index], "sample", p->sample, "prompt_tokens", (json_int_t)p->n,
                             "expected", p->expected, "response", response, "accuracy", acc,
                             o->task == SWEEP_PASSKEY ? "word_accuracy" : "overlap", words, "kv_bytes",
                             (json_int_t)res->kv_bytes, "kv_bytes_full", (json_int_t)res->kv_bytes_full, "prefill_s",
                             res->prefill_s, "decode_ms_per_token", decode_ms);
    if (!line) return NULL;
    if (o->task == SWEEP_NIAH) {
        json_object_set_new(line, "depth_percent", json_real(o->depths[p->depth_index]));
        json_object_set_new(line, "rouge1_x10", json_real(rouge));
    }
    if (res->shared_prefill) { /* prefill_s is what this pattern added; the first forward was shared */
        json_object_set_new(line, "shared_prefill_s", json_real(res->shared_prefill_s));
        json_object_set_new(line, "shared_prefill", json_string(res->shared_prefill == 1 ? "computed" : "restored"));
    }
    json_t *gen = json_array();
    for (size_t k = 0; gen && k < res->n; k++) json_array_append_new(gen, json_integer(res->ids[k]));
    if (!gen || json_object_set_new(line, "generated_ids", gen)) {
        json_decref(line);
        return NULL;
    }
    return line;
}

/* Appends line (job j's response to prompt i, key) to responses.jsonl. */
static int append_line(sweep_run_ctx *r, const json_t *line, const char *key, duo_error *err) {
    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    int rc = text ? sweep_output_append(r->out, text, err)
                  : duo_fail(err, "out of memory formatting the response line of %s", key);
    free(text);
    return rc;
}

/* Job j on prompt i: generated, scored, appended; *line gets the response line (the caller's). */
static int run_prompt(sweep_run_ctx *r, int j, size_t i, const char *key, json_t **line, duo_error *err) {
    const sweep_opts *o = r->o;
    const sweep_prompt *p = &r->ps->p[i];
    const sweep_job *jb = &r->jobs[j];
    /* a pattern equal to the one ctx holds is not set again (its caches are rebuilt on every set) */
    if (r->set_job < 0 || memcmp(r->jobs[r->set_job].full, jb->full, r->G)) {
        if (infer_set_pattern(r->ctx, jb->full, err)) return -1;
    }
    r->set_job = j;
    passkey_stop_ctx sc = {r->tok, o->passkey.passkey_length};
    duo_infer_result res;
    if (infer_generate(r->ctx, p->ids, p->n, r->eos, r->num_eos, o->task == SWEEP_PASSKEY ? passkey_answer_stop : NULL,
                       &sc, 0, &res, err)) {
        duo_error_prefix(err, "prompt %zu (%zu tokens)", i, p->n);
        return -1;
    }
    size_t len = 0;
    char *raw = tokenizer_decode_len(r->tok, res.ids, res.n, 1, &len);
    char *response = raw ? strip_copy(raw, len) : NULL;
    free(raw);
    if (!response) {
        infer_result_free(&res);
        return duo_fail(err, "out of memory decoding a response (%zu ids)", res.n);
    }
    double acc = 0, words = 0, rouge = 0;
    int rc = 0;
    if (o->task == SWEEP_PASSKEY) {
        duo_passkey_score ps;
        rc = duo_score_passkey(response, p->expected, &ps, err);
        acc = ps.exact;
        words = ps.fraction;
    } else {
        rc = duo_niah_rouge_score(p->needle, response, &rouge, err) ||
             duo_niah_overlap_score(response, p->expected, &words, err);
        acc = rouge / 10;
    }
    double decode_ms = res.decode_tokens ? 1000 * res.decode_s / (double)res.decode_tokens : 0;
    if (!rc) {
        *line = response_line(r, j, p, &res, response, acc, words, rouge, decode_ms);
        rc = *line ? append_line(r, *line, key, err) : duo_fail(err, "out of memory formatting the response line of %s", key);
    }
    if (!rc) {
        size_t at = (size_t)j * r->ps->n + i;
        r->num[at] = (prompt_numbers){jb->achieved, acc, words, rouge, (double)p->n, (double)res.kv_bytes,
                                      (double)res.kv_bytes_full, res.prefill_s, decode_ms};
        r->have[at] = 1;
        r->st.computed += res.shared_prefill == 1;
        r->st.restored += res.shared_prefill == 2;
        r->st.shared_s += res.shared_prefill == 1 ? res.shared_prefill_s : 0;
        r->st.added_s += res.prefill_s;
    }
    free(response);
    infer_result_free(&res);
    return rc;
}

/* Job j's mask equals job jb->same_as's: its response to prompt i is that job's line (src, whose key
 * is src_key) with this job's identity, marked reused_from -- the same computation, not run twice. */
static int reuse_prompt(sweep_run_ctx *r, int j, size_t i, const json_t *src, const char *src_key, const char *key,
                        json_t **line, duo_error *err) {
    const sweep_opts *o = r->o;
    const sweep_job *jb = &r->jobs[j];
    *line = sweep_reused_line(o, jb, src, src_key);
    if (!*line) return duo_fail(err, "out of memory formatting the response line of %s", key);
    if (append_line(r, *line, key, err)) return -1;
    size_t at = (size_t)j * r->ps->n + i, from = (size_t)jb->same_as * r->ps->n + i;
    r->num[at] = r->num[from];
    r->num[at].achieved = jb->achieved;
    r->have[at] = 1;
    r->st.reused++;
    return 0;
}

/* Passkey and NIAH: for each prompt, every job (the prompt's first forward is computed once and
 * restored for the other patterns; a job whose mask repeats an earlier one's reuses its response);
 * a prompt whose line --resume read back is not run.  The cells are summed at the end in the table's
 * order (job, then prompt), whatever order the responses came in.  1 when a signal asked to stop. */
static int run_prompts(sweep_run_ctx *r, duo_error *err) {
    const sweep_opts *o = r->o;
    int J = r->num_jobs, rc = 0;
    json_t **lines = calloc((size_t)J, sizeof *lines); /* [job] this prompt's responses (for reuse) */
    char (*keys)[512] = malloc((size_t)J * sizeof *keys);
    if (!lines || !keys) rc = duo_fail(err, "out of memory for %d response lines", J);
    for (size_t i = 0; i < r->ps->n && !rc; i++) {
        const sweep_prompt *p = &r->ps->p[i];
        for (int j = 0; j < J && !rc; j++) {
            const sweep_job *jb = &r->jobs[j];
            rc = job_key(r, j, p, keys[j], sizeof keys[j]);
            if (rc) {
                rc = duo_fail(err, "the key of a response does not fit %zu bytes", sizeof keys[j]);
                break;
            }
            json_t *old = sweep_output_resumed(r->out, keys[j]);
            if (old) { /* --resume: done in the interrupted run */
                size_t at = (size_t)j * r->ps->n + i;
                rc = resumed_numbers(r, p, old, keys[j], &r->num[at], err);
                r->have[at] = !rc;
                lines[j] = json_incref(old);
                r->done++;
                continue;
            }
            if (jb->same_as >= 0 && lines[jb->same_as])
                rc = reuse_prompt(r, j, i, lines[jb->same_as], keys[jb->same_as], keys[j], &lines[j], err);
            else rc = run_prompt(r, j, i, keys[j], &lines[j], err);
            if (rc) break;
            r->done++;
            if (r->bar)
                progress_update(r->bar, r->done, "ctx %d sample %d: sparsity %.2f %s", o->context_lengths[p->ctx_index],
                                p->sample, o->sparsities[jb->s], sweep_baseline_name(o, jb->b));
            if (interrupt_requested()) {
                r->interrupted = interrupt_requested();
                rc = 1;
            }
        }
        for (int j = 0; lines && j < J; j++) {
            json_decref(lines[j]);
            lines[j] = NULL;
        }
    }
    free(lines);
    free(keys);
    for (int j = 0; j < J; j++) /* the table's order: each cell's sum as a pattern-major run adds it */
        for (size_t i = 0; i < r->ps->n; i++) {
            size_t at = (size_t)j * r->ps->n + i;
            const sweep_prompt *p = &r->ps->p[i];
            if (r->have[at])
                add_to_cell(sweep_report_cell(r->rep, r->jobs[j].s, r->jobs[j].b, p->ctx_index, p->depth_index),
                            &r->num[at]);
        }
    return rc;
}

/* What this run's prefill cost: the shared first forwards once, what the patterns added, and the
 * responses reused from an identical pattern. */
static void sweep_prefill_summary(const sweep_share_stats *r, FILE *f) {
    if (r->computed || r->restored)
        fprintf(f, "duo-train sweep: prefill shared across patterns: %ld first forward%s computed once per prompt (%.3f s "
                   "in all), restored %ld time%s; the patterns added %.3f s of prefill in all (responses.jsonl: "
                   "prefill_s is what a pattern added, shared_prefill_s the shared part)\n",
                r->computed, r->computed == 1 ? "" : "s", r->shared_s, r->restored, r->restored == 1 ? "" : "s",
                r->added_s);
    if (r->reused)
        fprintf(f, "duo-train sweep: %ld response%s reused from an identical pattern's at the same prompt (the same "
                   "computation; marked reused_from in responses.jsonl, with that response's timings)\n",
                r->reused, r->reused == 1 ? "" : "s");
}

/* LongBench: every record on every job, record-major as run_prompts (eval/longbench_run.c).  1 when a
 * signal asked to stop after a record. */
static int run_longbench(sweep_run_ctx *r, duo_error *err) {
    const sweep_opts *o = r->o;
    lb_run_env env = {r->ctx, r->tok, r->ps, r->jobs, r->num_jobs, r->G, r->eos, r->num_eos, o->max_new_tokens,
                      r->out, r->bar, &r->done, &r->st};
    int rc = longbench_run_jobs(r->lb, o, &env, err);
    if (rc > 0) r->interrupted = rc;
    return rc > 0 ? 1 : rc;
}
/* --resume: every line read back must be a prompt of this run, else the final files would mix two
 * sweeps; checked before any prompt runs. */
static int check_resumed(sweep_run_ctx *r, duo_error *err) {
    const sweep_opts *o = r->o;
    if (!r->out->num_done) return 0;
    for (int s = 0; s < o->num_sparsities; s++)
        for (int b = 0; b < SWEEP_MAX_BASELINES; b++) {
            if (!sweep_baseline_on(o, b)) continue;
            for (int k = 0; k < (b == 1 ? o->random_patterns : 1); k++)
                for (size_t i = 0; i < r->ps->n; i++) {
                    char key[512];
                    if (r->lb) longbench_prompt_key(r->lb, o, s, b, k, i, key, sizeof key);
                    else prompt_key(r, s, b, k, &r->ps->p[i], key, sizeof key);
                    sweep_output_resumed(r->out, key);
                }
        }
    const char *example = NULL;
    size_t n = sweep_output_unmatched(r->out, &example);
    if (n)
        return duo_fail(err, "%s holds %zu responses this sweep would not run (%s): another sweep's options; resume "
                             "with its options or pass --overwrite", r->out->responses, n, example);
    for (size_t i = 0; i < r->out->num_done; i++) r->out->done[i].used = 0;
    return 0;
}

static int check_opts(const sweep_opts *o, const duo_model *m, duo_error *err) {
    if (o->num_sparsities < 1 || o->num_context_lengths < 1 || (o->task == SWEEP_NIAH && o->num_depths < 1))
        return duo_fail(err, "nothing to sweep: give at least one sparsity, context length and depth");
    for (int s = 0; s < o->num_sparsities; s++)
        if (!(o->sparsities[s] >= 0 && o->sparsities[s] <= 1))
            return duo_fail(err, "sparsity %s is outside [0, 1]", format_double(o->sparsities[s], (char[40]){0}, 40));
    for (int c = 0; c < o->num_context_lengths; c++)
        if (o->context_lengths[c] < 1 || o->context_lengths[c] >= m->cfg.max_position_embeddings)
            return duo_fail(err, "context length %d is outside what %s can read (1 .. %d positions)",
                            o->context_lengths[c], m->dir, m->cfg.max_position_embeddings - 1);
    /* the prompts are built before the model runs: bounded as synth bounds its samples */
    for (int c = 0; c < o->num_context_lengths; c++)
        if (synth_check_context_memory(o->context_lengths[c], "context_lengths", err)) return -1;
    if (!o->baselines) return duo_fail(err, "no baseline to run (--baselines pattern,random,inverted)");
    return 0;
}

int sweep_run(const sweep_opts *opts, duo_error *err) {
    sweep_opts o = *opts;
    longbench_run *lb = NULL; /* LongBench's files are read and checked before any model work */
    if (o.task == SWEEP_LONGBENCH && longbench_begin(&o, &lb, err)) return -1;
    duo_model m;
    if (model_open(o.model_dir, &m, err)) {
        longbench_end(lb);
        return -1;
    }
    duo_tokenizer *tok = NULL;
    duo_backend *be = NULL;
    duo_infer *ctx = NULL;
    double *gates = NULL, *bin = NULL, *aux = NULL, *cmp[SWEEP_MAX_COMPARE] = {0};
    uint8_t *full = NULL, *jobs_full = NULL, *have = NULL;
    sweep_job *jobs = NULL;
    prompt_numbers *nums = NULL;
    sweep_prompts ps = {0};
    sweep_report rep = {0};
    sweep_output out;
    int out_open = 0;
    int rc = -1, L = m.cfg.num_hidden_layers, KVH = m.cfg.num_key_value_heads;
    size_t G = (size_t)L * (size_t)KVH;
    char path[4200];
    if (check_opts(&o, &m, err)) goto done;
    /* the pattern: real-valued gates of this model's shape */
    int rows = 0, cols = 0;
    path_join(path, sizeof path, o.pattern_dir, "full_attention_heads.tsv");
    if (export_read_tsv(path, &gates, &rows, &cols, err)) goto done;
    if (rows != L || cols != KVH) {
        duo_fail(err, "%s is a pattern of another shape: %d x %d gates, %s has %d layers x %d KV heads", path, rows, cols,
                 m.dir, L, KVH);
        goto done;
    }
    for (int k = 0; k < o.num_compare; k++) /* --compare folders: each a pattern of the same shape */
        if (compare_gates(&o, k, L, KVH, m.dir, &cmp[k], err)) goto done;
    if ((o.sink_size < 0 || o.recent_size < 0) && pattern_windows(o.pattern_dir, &o.sink_size, &o.recent_size, err))
        goto done;
    /* the output folder: checked and locked before any work (after the cheap checks of the
     * pattern folders, so a bad --pattern or --compare leaves no folder behind) (eval/sweep_output.h) */
    if (sweep_output_open(&out, o.output_dir, o.resume, o.overwrite, err)) {
        sweep_output_close(&out);
        goto done;
    }
    out_open = 1;
    if (lb) { /* LongBench's own files: checked as the others are, before any work */
        const char *names[] = {SWEEP_LONGBENCH_SUMMARY, "longbench.png", "longbench_average.png"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            if (file_check_output(path_join(path, sizeof path, o.output_dir, names[i]), err)) goto done;
    }
    tok = tokenizer_load(o.model_dir, err);
    if (!tok) goto done;
    if (lb && longbench_build_prompts(lb, &o, &m, tok, &ps, &o.max_new_tokens, err)) goto done;
    if (!o.max_new_tokens) o.max_new_tokens = o.task == SWEEP_PASSKEY ? 4 * o.passkey.passkey_length + 8 : 50;
    if (!lb && sweep_prompts_build(&o, tok, o.model_dir, &ps, err)) goto done;
    if (ps.longest + (size_t)o.max_new_tokens > (size_t)m.cfg.max_position_embeddings) {
        duo_fail(err, "the longest prompt (%zu tokens) plus %d new tokens exceeds %s's %d positions", ps.longest,
                 o.max_new_tokens, m.dir, m.cfg.max_position_embeddings);
        goto done;
    }
    be = backend_open_prec(o.backend, o.precision, err);
    if (!be) goto done;
    bin = malloc(G * sizeof *bin);
    aux = malloc(G * sizeof *aux);
    full = malloc(G);
    rep.o = &o;
    rep.num_depths = o.task == SWEEP_NIAH ? o.num_depths : 1;
    rep.prefill_name = o.prefill == PREFILL_STREAMING ? "streaming" : "reference";
    rep.cells = calloc((size_t)o.num_sparsities * SWEEP_MAX_BASELINES * (size_t)o.num_context_lengths *
                           (size_t)rep.num_depths, sizeof *rep.cells);
    if (!bin || !aux || !full || !rep.cells) {
        duo_fail(err, "out of memory for %zu gates and %zu result cells", G,
                 (size_t)o.num_sparsities * SWEEP_MAX_BASELINES * (size_t)o.num_context_lengths * (size_t)rep.num_depths);
        goto done;
    }
    for (size_t i = 0; i < G; i++) full[i] = 1;
    duo_infer_opts io = {.sink_size = o.sink_size, .recent_size = o.recent_size,
                         .prefilling_chunk_size = o.prefilling_chunk_size,
                         .decoding_simulation_length = o.decoding_simulation_length, .prefill = o.prefill,
                         .max_new_tokens = o.max_new_tokens, .max_prompt = ps.longest,
                         .share_prefill = o.share_prefill};
    ctx = infer_create(&m, be, full, &io, err);
    if (!ctx) goto done;
    int per_sparsity = ((o.baselines & SWEEP_BASE_PATTERN) != 0) + ((o.baselines & SWEEP_BASE_INVERTED) != 0) +
                       ((o.baselines & SWEEP_BASE_RANDOM) ? o.random_patterns : 0) + o.num_compare;
    /* every binary pattern (job), in the table's order; a job repeating an earlier one's mask reuses it */
    int J = o.num_sparsities * per_sparsity, nj = 0;
    jobs = calloc((size_t)J, sizeof *jobs);
    jobs_full = malloc((size_t)J * G);
    nums = calloc((size_t)J * (ps.n ? ps.n : 1), sizeof *nums);
    have = calloc((size_t)J * (ps.n ? ps.n : 1), 1);
    if (!jobs || !jobs_full || !nums || !have) {
        duo_fail(err, "out of memory for %d patterns of %zu heads and their %zu responses", J, G, (size_t)J * ps.n);
        goto done;
    }
    for (int s = 0; s < o.num_sparsities; s++)
        for (int b = 0; b < SWEEP_MAX_BASELINES; b++) {
            if (!sweep_baseline_on(&o, b)) continue;
            int seeds = b == 1 ? o.random_patterns : 1;
            for (int k = 0; k < seeds; k++, nj++) {
                if (b == 0) memcpy(aux, gates, G * sizeof *aux);
                if (b >= SWEEP_NUM_BASELINES) memcpy(aux, cmp[b - SWEEP_NUM_BASELINES], G * sizeof *aux);
                if (b == 2) /* inverted: the heads the pattern ranks lowest stay full */
                    for (size_t i = 0; i < G; i++) aux[i] = 1 - gate_clamp(gates[i]);
                if (b == 1) { /* random: seeded uniform gates, the same draw at every sparsity */
                    uint64_t st = o.seed * 1000003ull + (uint64_t)k;
                    for (size_t i = 0; i < G; i++) aux[i] = unit_random(&st);
                }
                double achieved = export_binarise_sparsity(aux, G, o.sparsities[s], bin);
                if (achieved < 0) {
                    duo_fail(err, "out of memory binarising %zu gates", G);
                    goto done;
                }
                uint8_t *f = jobs_full + (size_t)nj * G;
                for (size_t i = 0; i < G; i++) f[i] = bin[i] != 0;
                jobs[nj] = (sweep_job){s, b, k, achieved, f, -1};
                for (int e = 0; o.reuse_identical && e < nj && jobs[nj].same_as < 0; e++)
                    if (!memcmp(jobs[e].full, f, G)) jobs[nj].same_as = e;
            }
        }
    sweep_run_ctx r = {&o, tok, ctx, &ps, &rep, &out, NULL, 0, 0, {0}, 0, lb, jobs, nj, G, -1, nums, have, {0}};
    if (check_resumed(&r, err)) goto done;
    r.num_eos = generation_eos_ids(&m, r.eos, 8);
    duo_progress bar;
    if (o.show_progress) {
        progress_start(&bar, "sweep", (long)((size_t)o.num_sparsities * (size_t)per_sparsity * ps.n));
        r.bar = &bar;
    }
    fprintf(stderr, "duo-train sweep: %zu %s prompts (%zu tokens at most), %d sparsities x %d patterns, sink %d recent %d, "
                    "prefill %s on the %s backend\n",
            ps.n, o.task == SWEEP_NIAH ? "needle" : o.task == SWEEP_LONGBENCH ? "LongBench" : "passkey", ps.longest,
            o.num_sparsities, per_sparsity, o.sink_size, o.recent_size, rep.prefill_name, be->name);
    if (o.share_prefill && o.prefill == PREFILL_REFERENCE && !infer_shares_prefill(ctx))
        fprintf(stderr, "duo-train sweep: the machine has no room for a copy of the first forward's keys and values: "
                        "every pattern computes its own prefill\n");
    rc = 0;
    rc = lb ? run_longbench(&r, err) : run_prompts(&r, err);
    if (o.show_progress) progress_end(&bar);
    if (rc < 0) goto done;
    sweep_prefill_summary(&r.st, stderr);
    if (lb) { /* LongBench's table, sweep.csv, summary and plots; sweep.partial.csv when interrupted */
        rc = longbench_report(lb, &o, r.interrupted != 0, err);
        if (!rc && r.interrupted) {
            fprintf(stderr, "duo-train sweep: interrupted after %ld records of %ld; %s/%s holds them and %s/%s their "
                            "summary; rerun with --resume to finish\n", r.done,
                    (long)((size_t)o.num_sparsities * (size_t)per_sparsity * ps.n), o.output_dir, SWEEP_RESPONSES,
                    o.output_dir, SWEEP_PARTIAL_CSV);
            rc = r.interrupted;
        } else if (!rc) sweep_output_finished(&out);
        goto done;
    }
    sweep_report_finish(&rep);
    sweep_report_table(&rep, stdout);
    if (r.interrupted) { /* what is done, marked partial; --resume runs the rest */
        rc = sweep_report_csv(&rep, path_join(path, sizeof path, o.output_dir, SWEEP_PARTIAL_CSV), err);
        if (!rc) {
            fprintf(stderr, "duo-train sweep: interrupted after %ld prompts of %ld; %s/%s holds them and %s their "
                            "summary; rerun with --resume to finish\n", r.done,
                    (long)((size_t)o.num_sparsities * (size_t)per_sparsity * ps.n), o.output_dir, SWEEP_RESPONSES, path);
            rc = r.interrupted;
        }
        goto done;
    }
    int plots = 0;
    rc = sweep_report_csv(&rep, path_join(path, sizeof path, o.output_dir, SWEEP_CSV), err) ||
                 sweep_report_plots(&rep, o.output_dir, &plots, err) ? -1 : 0;
    if (!rc) {
        sweep_output_finished(&out);
        printf("sweep: %s/sweep.csv, %s/responses.jsonl and %d plot%s in %s\n", o.output_dir, o.output_dir, plots,
               plots == 1 ? "" : "s", o.output_dir);
    }
done:
    if (out_open) sweep_output_close(&out);
    longbench_end(lb);
    infer_free(ctx);
    backend_free(be);
    sweep_prompts_free(&ps);
    tokenizer_free(tok);
    free(rep.cells);
    free(gates);
    for (int k = 0; k < SWEEP_MAX_COMPARE; k++) free(cmp[k]);
    free(bin);
    free(aux);
    free(full);
    free(jobs);
    free(jobs_full);
    free(nums);
    free(have);
    model_close(&m);
    return rc < 0 ? -1 : rc;
}
