/* `duo-train score` (eval/score.h): checks, the method's run, and the pattern folder it writes. */
#include "eval/score.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output_guard.h"
#include "data/fileio.h"
#include "data/json.h"
#include "eval/score_impl.h"
#include "kernels/backend.h"
#include "pattern/export.h"
#include "pattern/heatmap.h"
#include "util/clock.h"

const char *score_method_name(score_method m) {
    return m == SCORE_OTF ? "otf" : m == SCORE_RETRIEVAL ? "retrieval" : "ablation";
}

void score_opts_default(score_opts *o) {
    memset(o, 0, sizeof *o);
    o->method = SCORE_OTF;
    o->samples = -1; /* the method's default: otf 50, retrieval (passkey) and ablation 10 */
    o->q_len = 500;
    o->seed = 42;
    o->sink_size = 128;
    o->recent_size = 256;
    o->backend = "auto";
    o->show_progress = 1;
    sweep_opts_default(&o->eval);
    o->eval.decoding_simulation_length = 50;
}

json_t *score_json_matrix(const double *v, int rows, int cols) {
    json_t *m = json_array();
    for (int r = 0; m && r < rows; r++) {
        json_t *row = json_array();
        for (int c = 0; row && c < cols; c++) json_array_append_new(row, json_real(v[(size_t)r * cols + c]));
        json_array_append_new(m, row);
    }
    return m;
}

/* Usage-level problems, before anything is loaded. */
static int check_opts(const score_opts *o, duo_error *err) {
    if (!o->model_dir || !o->dataset || !o->output_dir) return duo_fail(err, "--model, --dataset and --output_dir are required");
    if (o->samples < 1) return duo_fail(err, "--samples must be at least 1 (got %d)", o->samples);
    if (o->q_len < 1) return duo_fail(err, "--q_len must be at least 1 (got %d)", o->q_len);
    if (o->max_tokens < 0) return duo_fail(err, "--max_tokens must be >= 0 (got %d)", o->max_tokens);
    if (o->sink_size < 0 || o->recent_size < 1)
        return duo_fail(err, "--sink_size must be >= 0 and --recent_size >= 1 (got %d, %d)", o->sink_size, o->recent_size);
    if (o->method != SCORE_OTF && (o->eval.num_context_lengths < 1 || o->eval.num_depths < 1))
        return duo_fail(err, "give at least one context length (and depth)");
    if (!path_exists(o->dataset)) return duo_fail(err, "--dataset %s: no such file or folder", o->dataset);
    if (output_same_file(o->output_dir, o->model_dir))
        return duo_fail(err, "--output_dir %s is the model folder; give another folder", o->output_dir);
    char path[4200];
    if (path_exists(path_join(path, sizeof path, o->output_dir, "train_state.h5")))
        return duo_fail(err, "--output_dir %s holds a trained run (train_state.h5); score into another folder",
                        o->output_dir);
    return 0;
}

/* The heads by value, highest first (ties by index), printed next to their values. */
static void print_ranking(const double *v, int L, int KVH, FILE *f) {
    size_t G = (size_t)L * (size_t)KVH;
    int *order = malloc(G * sizeof *order);
    if (!order) return;
    for (size_t i = 0; i < G; i++) order[i] = (int)i;
    for (size_t i = 1; i < G; i++) /* insertion sort: stable, G is small */
        for (size_t j = i; j > 0 && v[order[j]] > v[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    fprintf(f, "rank  layer  kv_head   value\n");
    for (size_t r = 0; r < G; r++)
        fprintf(f, "%4zu  %5d  %7d  %6.4f\n", r + 1, order[r] / KVH, order[r] % KVH, v[order[r]]);
    free(order);
}

int score_run(const score_opts *opts, duo_error *err) {
    score_opts o = *opts;
    if (o.samples < 0) o.samples = o.method == SCORE_OTF ? 50 : 10;
    if (check_opts(&o, err)) return -1;
    duo_model m;
    if (model_open(o.model_dir, &m, err)) return -1;
    duo_tokenizer *tok = NULL;
    duo_backend *be = NULL;
    json_t *cfg = json_object();
    run_lock lock = {-1};
    int L = m.cfg.num_hidden_layers, KVH = m.cfg.num_key_value_heads, rc = -1;
    size_t G = (size_t)L * (size_t)KVH;
    double *values = calloc(G, sizeof *values);
    float *tsv = malloc(G * sizeof *tsv);
    char path[4200];
    if (!cfg || !values || !tsv) {
        duo_fail(err, "out of memory");
        goto done;
    }
    for (int c = 0; o.method != SCORE_OTF && c < o.eval.num_context_lengths; c++)
        if (o.eval.context_lengths[c] >= m.cfg.max_position_embeddings) {
            duo_fail(err, "context length %d is outside what %s can read (1 .. %d positions)", o.eval.context_lengths[c],
                     m.dir, m.cfg.max_position_embeddings - 1);
            goto done;
        }
    tok = tokenizer_load(o.model_dir, err);
    if (!tok) goto done;
    be = backend_open(o.backend, err);
    if (!be) goto done;
    /* the output folder, as train's: never a model folder, an earlier run or score only with --overwrite,
     * one writer at a time (cli/output_guard.h) */
    if (output_guard_score_dir(o.output_dir, o.model_dir, o.dataset, o.overwrite, &lock, err)) goto done;
    double t0 = clock_wall_s();
    int r = o.method == SCORE_OTF         ? score_otf_run(&o, &m, be, tok, values, cfg, err)
            : o.method == SCORE_RETRIEVAL ? score_retrieval_run(&o, &m, be, tok, values, cfg, err)
                                          : score_ablation_run(&o, &m, be, tok, values, cfg, err);
    double seconds = clock_wall_s() - t0;
    if (r) goto done;
    for (size_t i = 0; i < G; i++) tsv[i] = (float)values[i];
    json_object_set_new(cfg, "method", json_string(score_method_name(o.method)));
    json_object_set_new(cfg, "model", json_string(o.model_dir));
    json_object_set_new(cfg, "dataset", json_string(o.dataset));
    json_object_set_new(cfg, "sink_size", json_integer(o.sink_size));
    json_object_set_new(cfg, "recent_size", json_integer(o.recent_size));
    json_object_set_new(cfg, "backend", json_string(be->name));
    json_object_set_new(cfg, "seconds", json_real(seconds));
    if (export_write_tsv(path_join(path, sizeof path, o.output_dir, "full_attention_heads.tsv"), tsv, L, KVH, err) ||
        export_write_json(path_join(path, sizeof path, o.output_dir, "config.json"), cfg, err) ||
        heatmap_write_png(path_join(path, sizeof path, o.output_dir, "full_attention_heads.png"), tsv, L, KVH, err))
        goto done;
    printf("== %s scores of %s (higher = keep full attention)\n", score_method_name(o.method), m.dir);
    print_ranking(values, L, KVH, stdout);
    printf("score %s: %.2f s on the %s backend; %s/full_attention_heads.tsv, config.json and full_attention_heads.png\n",
           score_method_name(o.method), seconds, be->name, o.output_dir);
    rc = 0;
done:
    run_lock_release(&lock);
    json_decref(cfg);
    free(values);
    free(tsv);
    backend_free(be);
    tokenizer_free(tok);
    model_close(&m);
    return rc;
}
