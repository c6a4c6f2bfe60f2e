#include "eval/sweep_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "pattern/plot.h"
#include "util/format.h"

const char *const SWEEP_BASELINE_NAMES[SWEEP_NUM_BASELINES] = {"pattern", "random", "inverted"};

sweep_cell *sweep_report_cell(sweep_report *r, int s, int b, int c, int d) {
    const sweep_opts *o = r->o;
    return &r->cells[(((size_t)s * SWEEP_MAX_BASELINES + (size_t)b) * (size_t)o->num_context_lengths + (size_t)c) *
                         (size_t)r->num_depths + (size_t)d];
}

const char *sweep_baseline_name(const sweep_opts *o, int b) {
    return b < SWEEP_NUM_BASELINES ? SWEEP_BASELINE_NAMES[b] : o->compare_names[b - SWEEP_NUM_BASELINES];
}

int sweep_baseline_on(const sweep_opts *o, int b) {
    return b < SWEEP_NUM_BASELINES ? (o->baselines >> b) & 1 : b - SWEEP_NUM_BASELINES < o->num_compare;
}

json_t *sweep_reused_line(const sweep_opts *o, const sweep_job *jb, const json_t *src, const char *src_key) {
    json_t *line = json_deep_copy(src);
    if (line && (json_object_set_new(line, "sparsity", json_real(o->sparsities[jb->s])) ||
                 json_object_set_new(line, "achieved_sparsity", json_real(jb->achieved)) ||
                 json_object_set_new(line, "baseline", json_string(sweep_baseline_name(o, jb->b))) ||
                 json_object_set_new(line, "seed", json_integer(jb->k)) ||
                 json_object_set_new(line, "reused_from", json_string(src_key)))) {
        json_decref(line);
        return NULL;
    }
    return line;
}

void sweep_report_finish(sweep_report *r) {
    size_t n = (size_t)r->o->num_sparsities * SWEEP_MAX_BASELINES * (size_t)r->o->num_context_lengths * (size_t)r->num_depths;
    for (size_t i = 0; i < n; i++) {
        sweep_cell *c = &r->cells[i];
        if (!c->count) continue;
        double k = (double)c->count;
        c->achieved /= k;
        c->accuracy /= k;
        c->words /= k;
        c->rouge_x10 /= k;
        c->prompt_tokens /= k;
        c->kv_bytes /= k;
        c->kv_full_bytes /= k;
        c->prefill_s /= k;
        c->decode_ms_per_token /= k;
    }
}

void sweep_report_table(const sweep_report *r, FILE *f) {
    const sweep_opts *o = r->o;
    int niah = o->task == SWEEP_NIAH;
    fprintf(f, "%9s %9s %-9s %8s %7s %s%9s %9s %11s %7s %10s %11s   (prefill: %s)\n", "sparsity", "achieved",
            "baseline", "context", "tokens", niah ? "  depth " : "", niah ? "rouge-F" : "accuracy", niah ? "overlap" : "words", "KV cache",
            "of full", "prefill s", "decode ms/t", r->prefill_name);
    for (int s = 0; s < o->num_sparsities; s++)
        for (int b = 0; b < SWEEP_MAX_BASELINES; b++) {
            if (!sweep_baseline_on(o, b)) continue;
            for (int c = 0; c < o->num_context_lengths; c++)
                for (int d = 0; d < r->num_depths; d++) {
                    const sweep_cell *x = sweep_report_cell((sweep_report *)r, s, b, c, d);
                    if (!x->count) continue;
                    char kv[32], depth[16] = "";
                    format_bytes(x->kv_bytes, kv, sizeof kv);
                    if (niah) snprintf(depth, sizeof depth, "%6.1f%% ", o->depths[d]);
                    char sp[40]; /* every digit that tells two sparsities apart */
                    format_double(o->sparsities[s], sp, sizeof sp);
                    fprintf(f, "%9s %9.3f %-9s %8d %7.0f %s%9.3f %9.3f %11s %6.1f%% %10.3f %11.2f\n", sp,
                            x->achieved, sweep_baseline_name(o, b), o->context_lengths[c], x->prompt_tokens, depth, x->accuracy, x->words, kv,
                            x->kv_full_bytes > 0 ? 100 * x->kv_bytes / x->kv_full_bytes : 0, x->prefill_s,
                            x->decode_ms_per_token);
                }
        }
}

int sweep_report_csv(const sweep_report *r, const char *path, duo_error *err) {
    const sweep_opts *o = r->o;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return duo_fail(err, "out of memory");
    const char *head = "sparsity,achieved_sparsity,baseline,context_length,depth_percent,prompts,prompt_tokens,accuracy,"
                       "word_accuracy,rouge1_x10,kv_bytes,kv_ratio,prefill_s,decode_ms_per_token,prefill,task\n";
    len = (size_t)snprintf(buf, cap, "%s", head);
    for (int s = 0; s < o->num_sparsities; s++)
        for (int b = 0; b < SWEEP_MAX_BASELINES; b++)
            for (int c = 0; c < o->num_context_lengths; c++)
                for (int d = 0; d < r->num_depths; d++) {
                    const sweep_cell *x = sweep_report_cell((sweep_report *)r, s, b, c, d);
                    if (!x->count) continue;
                    char line[512], depth[40] = "", rouge[32] = "", sp[40];
                    format_double(o->sparsities[s], sp, sizeof sp); /* distinct values, distinct labels */
                    if (o->task == SWEEP_NIAH) {
                        format_double(o->depths[d], depth, sizeof depth);
                        snprintf(rouge, sizeof rouge, "%.6f", x->rouge_x10);
                    }
                    int k = snprintf(line, sizeof line, "%s,%.6f,%s,%d,%s,%ld,%.1f,%.6f,%.6f,%s,%.0f,%.6f,%.6f,%.4f,%s,%s\n",
                                     sp, x->achieved, sweep_baseline_name(o, b), o->context_lengths[c], depth,
                                     x->count, x->prompt_tokens, x->accuracy, x->words, rouge, x->kv_bytes,
                                     x->kv_full_bytes > 0 ? x->kv_bytes / x->kv_full_bytes : 0, x->prefill_s,
                                     x->decode_ms_per_token, r->prefill_name,
                                     o->task == SWEEP_NIAH ? "niah" : "passkey");
                    if (len + (size_t)k + 1 > cap) {
                        char *nb = realloc(buf, 2 * cap + (size_t)k);
                        if (!nb) {
                            free(buf);
                            return duo_fail(err, "out of memory");
                        }
                        buf = nb;
                        cap = 2 * cap + (size_t)k;
                    }
                    memcpy(buf + len, line, (size_t)k + 1);
                    len += (size_t)k;
                }
    int rc = file_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

int sweep_report_plots(const sweep_report *r, const char *dir, int *written, duo_error *err) {
    const sweep_opts *o = r->o;
    *written = 0;
    char path[4200];
    /* accuracy against sparsity, one line per baseline (mean over lengths and depths) */
    plot_series series[SWEEP_MAX_BASELINES];
    double xs[SWEEP_MAX_BASELINES][SWEEP_MAX_LIST], ys[SWEEP_MAX_BASELINES][SWEEP_MAX_LIST];
    int ns = 0;
    for (int b = 0; b < SWEEP_MAX_BASELINES; b++) {
        if (!sweep_baseline_on(o, b)) continue;
        for (int s = 0; s < o->num_sparsities; s++) {
            double sum = 0;
            long k = 0;
            for (int c = 0; c < o->num_context_lengths; c++)
                for (int d = 0; d < r->num_depths; d++) {
                    const sweep_cell *x = sweep_report_cell((sweep_report *)r, s, b, c, d);
                    if (x->count) {
                        sum += x->accuracy;
                        k++;
                    }
                }
            xs[ns][s] = o->sparsities[s];
            ys[ns][s] = k ? sum / (double)k : NAN;
        }
        series[ns] = (plot_series){sweep_baseline_name(o, b), xs[ns], ys[ns], o->num_sparsities};
        ns++;
    }
    char title[160];
    snprintf(title, sizeof title, "%s accuracy against sparsity (prefill %s)",
             o->task == SWEEP_NIAH ? "NIAH ROUGE-1" : "Passkey", r->prefill_name);
    if (plot_lines_png(path_join(path, sizeof path, dir, "accuracy_vs_sparsity.png"), title, "sparsity (share of streaming heads)",
                       o->task == SWEEP_NIAH ? "ROUGE-1 F" : "exact match", 0, 1, 0, 1, series, ns, err))
        return -1;
    (*written)++;
    if (o->task != SWEEP_NIAH || !sweep_baseline_on(o, 0)) return 0;
    /* NIAH: depth x length heat map of the plot's score per sparsity, the pattern's heads */
    char **rows = calloc((size_t)r->num_depths, sizeof *rows), **cols = calloc((size_t)o->num_context_lengths, sizeof *cols);
    double *v = malloc((size_t)r->num_depths * (size_t)o->num_context_lengths * sizeof *v);
    int rc = !rows || !cols || !v ? duo_fail(err, "out of memory") : 0;
    for (int d = 0; !rc && d < r->num_depths; d++) {
        rows[d] = malloc(16);
        if (rows[d]) snprintf(rows[d], 16, "%.0f%%", o->depths[d]);
    }
    for (int c = 0; !rc && c < o->num_context_lengths; c++) {
        cols[c] = malloc(16);
        if (cols[c]) {
            int L = o->context_lengths[c];
            if (L % 1000 == 0) snprintf(cols[c], 16, "%dK", L / 1000);
            else snprintf(cols[c], 16, "%d", L);
        }
    }
    for (int s = 0; !rc && s < o->num_sparsities; s++) {
        for (int d = 0; d < r->num_depths; d++)
            for (int c = 0; c < o->num_context_lengths; c++) {
                const sweep_cell *x = sweep_report_cell((sweep_report *)r, s, 0, c, d);
                v[(size_t)d * (size_t)o->num_context_lengths + (size_t)c] = x->count ? x->words : NAN;
            }
        char name[80], sp[40];
        format_double(o->sparsities[s], sp, sizeof sp); /* 0.9999999 and 1 get two files */
        snprintf(name, sizeof name, "niah_sparsity=%s.png", sp);
        snprintf(title, sizeof title, "Needle in a haystack, pattern at sparsity %s (score: word overlap / 12)", sp);
        rc = plot_heatmap_png(path_join(path, sizeof path, dir, name), title, "context length", "depth",
                              (const char *const *)rows, r->num_depths, (const char *const *)cols,
                              o->num_context_lengths, v, 0, 1, err);
        if (!rc) (*written)++;
    }
    for (int d = 0; rows && d < r->num_depths; d++) free(rows[d]);
    for (int c = 0; cols && c < o->num_context_lengths; c++) free(cols[c]);
    free(rows);
    free(cols);
    free(v);
    return rc;
}
