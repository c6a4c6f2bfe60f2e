/* The LongBench task's results: a table on stdout, sweep.csv rows (task=longbench), longbench_summary.csv
 * (the average over datasets per sparsity and baseline), longbench.png (score against sparsity, a line
 * per dataset and baseline) and longbench_<dataset>.png (the pattern against its baselines). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "eval/longbench_run.h"
#include "eval/sweep_output.h"
#include "eval/sweep_report.h"
#include "pattern/plot.h"
#include "util/format.h"

/* One (sparsity, baseline, dataset) row: seeds' dataset scores averaged. */
typedef struct {
    int present;
    size_t records;
    double score, bucket[3];     /* eval.py scorer(); scorer_e()'s 0-4k / 4-8k / 8k+ (NaN: no record) */
    double achieved, prompt_tokens, kv_bytes, kv_full_bytes, prefill_s, decode_ms_per_token;
} lb_row;

static int row_of(longbench_run *lr, int s, int b, size_t k, lb_row *row, duo_error *err) {
    memset(row, 0, sizeof *row);
    longbench *lb = &lr->data;
    size_t n = lb->d[k].n, first = 0;
    for (size_t i = 0; i < lb->num_prompts && lb->prompt_dataset[i] != (int)k; i++) first++;
    int seeds = b == 1 ? lr->seeds : 1;
    double *score = malloc((n + 1) * sizeof *score), *bucket[3];
    for (int q = 0; q < 3; q++) bucket[q] = malloc((n + 1) * sizeof(double));
    if (!score || !bucket[0] || !bucket[1] || !bucket[2]) {
        free(score);
        for (int q = 0; q < 3; q++) free(bucket[q]);
        return duo_fail(err, "out of memory");
    }
    for (int seed = 0; seed < seeds; seed++) {
        size_t nb[3] = {0, 0, 0}, got = 0;
        for (size_t r = 0; r < n; r++) {
            const lb_result *x = longbench_result(lr, s, b, seed, first + r);
            if (!x->done) continue;
            score[got++] = x->score;
            int q = lb_length_bucket(lb->d[k].r[r].length);
            bucket[q][nb[q]++] = x->score_e;
            row->achieved += x->achieved;
            row->prompt_tokens += x->prompt_tokens;
            row->kv_bytes += x->kv_bytes;
            row->kv_full_bytes += x->kv_full_bytes;
            row->prefill_s += x->prefill_s;
            row->decode_ms_per_token += x->decode_ms_per_token;
        }
        if (!got) continue;
        row->present = 1;
        row->records += got;
        row->score += lb_dataset_score(score, got) / seeds;
        for (int q = 0; q < 3; q++) row->bucket[q] += lb_bucket_score(bucket[q], nb[q]) / seeds;
    }
    if (row->records) {
        double c = (double)row->records;
        row->achieved /= c, row->prompt_tokens /= c, row->kv_bytes /= c, row->kv_full_bytes /= c;
        row->prefill_s /= c, row->decode_ms_per_token /= c;
        row->records /= (size_t)seeds;
    }
    free(score);
    for (int q = 0; q < 3; q++) free(bucket[q]);
    return 0;
}

static void fmt_score(char *buf, size_t cap, double v) {
    if (isnan(v)) snprintf(buf, cap, "%s", "");
    else snprintf(buf, cap, "%.2f", v);
}

/* f's text (an open_memstream) written atomically to path, then freed. */
static int write_text(FILE *f, char **text, size_t *len, const char *path, duo_error *err) {
    int bad = fflush(f) != 0;
    fclose(f);
    int rc = bad || !*text ? duo_fail(err, "%s: out of memory formatting the file", path)
                           : file_write_atomic(path, *text, *len, err);
    free(*text);
    *text = NULL;
    return rc;
}

int longbench_report(longbench_run *lr, const sweep_opts *o, int partial, duo_error *err) {
    longbench *lb = &lr->data;
    int S = o->num_sparsities, E = lb->longbench_e;
    size_t D = lb->n;
    lb_row *rows = calloc((size_t)S * SWEEP_MAX_BASELINES * D + 1, sizeof *rows);
    if (!rows) return duo_fail(err, "out of memory");
#define ROW(s, b, k) rows[((size_t)(s) * SWEEP_MAX_BASELINES + (size_t)(b)) * D + (k)]
    int rc = 0;
    for (int s = 0; s < S && !rc; s++)
        for (int b = 0; b < SWEEP_MAX_BASELINES && !rc; b++)
            for (size_t k = 0; k < D && !rc; k++) rc = row_of(lr, s, b, k, &ROW(s, b, k), err);
    char path[4200], *text = NULL;
    size_t text_len = 0;
    path_join(path, sizeof path, o->output_dir, partial ? SWEEP_PARTIAL_CSV : SWEEP_CSV);
    FILE *csv = rc ? NULL : open_memstream(&text, &text_len);
    if (!rc && !csv) rc = duo_fail(err, "%s: out of memory formatting the file", path);
    if (!rc) {
        printf("%-20s %8s %9s %-9s %7s %9s %7s%s %8s %9s %11s   (LongBench%s, model name \"%s\", chat wrapper %s)\n",
               "dataset", "sparsity", "achieved", "baseline", "records", "prompt", "score",
               E ? "    0-4k    4-8k     8k+" : "", "kv", "prefill_s", "decode_ms/t", E ? "-E" : "", lb->model_name,
               lb->chat ? "[INST]" : "none");
        fprintf(csv, "task,dataset,sparsity,achieved_sparsity,baseline,records,prompt_tokens,score,score_0_4k,"
                     "score_4_8k,score_8k_plus,kv_bytes,kv_full_bytes,kv_ratio,prefill_s,decode_ms_per_token\n");
        for (int s = 0; s < S; s++)
            for (int b = 0; b < SWEEP_MAX_BASELINES; b++)
                for (size_t k = 0; k < D; k++) {
                    const lb_row *r = &ROW(s, b, k);
                    if (!r->present) continue;
                    char bk[3][32], sp[40];
                    format_double(o->sparsities[s], sp, sizeof sp); /* distinct values, distinct labels */
                    for (int q = 0; q < 3; q++) fmt_score(bk[q], sizeof bk[q], E ? r->bucket[q] : NAN);
                    double ratio = r->kv_full_bytes > 0 ? r->kv_bytes / r->kv_full_bytes : 0;
                    printf("%-20s %8s %9.3f %-9s %7zu %9.0f %7.2f", lb->d[k].name, sp, r->achieved,
                           sweep_baseline_name(o, b), r->records, r->prompt_tokens, r->score);
                    if (E) printf(" %7s %7s %7s", bk[0], bk[1], bk[2]);
                    printf(" %7.1f%% %9.3f %11.2f\n", 100 * ratio, r->prefill_s, r->decode_ms_per_token);
                    fprintf(csv, "longbench,%s,%s,%.6f,%s,%zu,%.2f,%.2f,%s,%s,%s,%.0f,%.0f,%.6f,%.6f,%.4f\n",
                            lb->d[k].name, sp, r->achieved, sweep_baseline_name(o, b), r->records,
                            r->prompt_tokens, r->score, bk[0], bk[1], bk[2], r->kv_bytes, r->kv_full_bytes, ratio,
                            r->prefill_s, r->decode_ms_per_token);
                }
        rc = write_text(csv, &text, &text_len, path, err);
    }
    if (partial) { /* an interrupted sweep: the rows of the records done, marked partial by the file's name */
        free(rows);
        return rc ? -1 : 0;
    }
    /* the average over datasets */
    path_join(path, sizeof path, o->output_dir, SWEEP_LONGBENCH_SUMMARY);
    FILE *sum = rc ? NULL : open_memstream(&text, &text_len);
    if (!rc && !sum) rc = duo_fail(err, "%s: out of memory formatting the file", path);
    double *avg = calloc((size_t)S * SWEEP_MAX_BASELINES + 1, sizeof *avg);
    if (!rc && !avg) rc = duo_fail(err, "out of memory");
    if (!rc) {
        fprintf(sum, "sparsity,achieved_sparsity,baseline,datasets,average_score,average_0_4k,average_4_8k,"
                     "average_8k_plus\n");
        printf("\n%-8s %-9s %8s %13s\n", "sparsity", "baseline", "datasets", "average score");
        for (int s = 0; s < S; s++)
            for (int b = 0; b < SWEEP_MAX_BASELINES; b++) {
                double a = 0, ach = 0, bsum[3] = {0, 0, 0};
                size_t n = 0, nb[3] = {0, 0, 0};
                for (size_t k = 0; k < D; k++) {
                    const lb_row *r = &ROW(s, b, k);
                    if (!r->present) continue;
                    a += r->score, ach += r->achieved, n++;
                    for (int q = 0; q < 3; q++)
                        if (!isnan(r->bucket[q])) bsum[q] += r->bucket[q], nb[q]++;
                }
                avg[s * SWEEP_MAX_BASELINES + b] = n ? a / (double)n : NAN;
                if (!n) continue;
                char bk[3][32], sp[40];
                format_double(o->sparsities[s], sp, sizeof sp);
                for (int q = 0; q < 3; q++) fmt_score(bk[q], sizeof bk[q], E && nb[q] ? bsum[q] / (double)nb[q] : NAN);
                fprintf(sum, "%s,%.6f,%s,%zu,%.2f,%s,%s,%s\n", sp, ach / (double)n, sweep_baseline_name(o, b), n,
                        a / (double)n, bk[0], bk[1], bk[2]);
                printf("%8s %-9s %8zu %13.2f\n", sp, sweep_baseline_name(o, b), n, a / (double)n);
            }
        rc = write_text(sum, &text, &text_len, path, err);
    } else if (sum) {
        fclose(sum);
        free(text);
    }
    /* plots: score (0..100) against sparsity */
    double *x = malloc(((size_t)S + 1) * sizeof *x);
    double *y = malloc(((size_t)S * SWEEP_MAX_BASELINES * (D + 1) + 1) * sizeof *y);
    plot_series *series = malloc((SWEEP_MAX_BASELINES * (D + 1) + 1) * sizeof *series);
    char (*labels)[320] = malloc((SWEEP_MAX_BASELINES * (D + 1) + 1) * sizeof *labels);
    if (!rc && (!x || !y || !series || !labels)) rc = duo_fail(err, "out of memory");
    for (int s = 0; !rc && s < S; s++) x[s] = o->sparsities[s];
    int ns = 0, *ds_first = calloc(D + 1, sizeof *ds_first), *ds_count = calloc(D + 1, sizeof *ds_count);
    if (!rc && (!ds_first || !ds_count)) rc = duo_fail(err, "out of memory");
    for (size_t k = 0; !rc && k < D; k++)
        for (int b = 0; b < SWEEP_MAX_BASELINES; b++) {
            if (b == 0) ds_first[k] = ns;
            if (!ROW(0, b, k).present) continue;
            double *yy = y + (size_t)ns * (size_t)S;
            for (int s = 0; s < S; s++) yy[s] = ROW(s, b, k).present ? ROW(s, b, k).score : NAN;
            snprintf(labels[ns], sizeof labels[ns], "%s %s", lb->d[k].name, sweep_baseline_name(o, b));
            series[ns] = (plot_series){labels[ns], x, yy, S};
            ns++;
            ds_count[k]++;
        }
    if (!rc)
        rc = plot_lines_png(path_join(path, sizeof path, o->output_dir, "longbench.png"),
                            E ? "LongBench-E score against sparsity" : "LongBench score against sparsity", "sparsity",
                            "score", 0, 1, 0, 100, series, ns, err);
    for (size_t k = 0; !rc && k < D; k++) { /* one plot per dataset: the pattern against its baselines */
        char file[128], title[160];
        snprintf(file, sizeof file, "longbench_%s.png", lb->d[k].name);
        snprintf(title, sizeof title, "%s (%s)", lb->d[k].name, LB_METRIC_NAMES[lb->d[k].metric]);
        rc = plot_lines_png(path_join(path, sizeof path, o->output_dir, file), title, "sparsity", "score", 0, 1, 0, 100,
                            series + ds_first[k], ds_count[k], err);
    }
    if (!rc) {
        ns = 0;
        for (int b = 0; b < SWEEP_MAX_BASELINES; b++) {
            if (!sweep_baseline_on(o, b)) continue;
            double *yy = y + (size_t)ns * (size_t)S;
            for (int s = 0; s < S; s++) yy[s] = avg[s * SWEEP_MAX_BASELINES + b];
            series[ns] = (plot_series){sweep_baseline_name(o, b), x, yy, S};
            ns++;
        }
        rc = plot_lines_png(path_join(path, sizeof path, o->output_dir, "longbench_average.png"),
                            "LongBench: average over datasets", "sparsity", "score", 0, 1, 0, 100, series, ns, err);
    }
    if (!rc)
        printf("sweep: %s/sweep.csv, longbench_summary.csv, responses.jsonl, longbench*.png; eval.py's input in "
               "%s/longbench_pred/<baseline>-sp-<sparsity>/ (python eval.py%s --results_path DIR/)\n",
               o->output_dir, o->output_dir, E ? " --e" : "");
#undef ROW
    free(rows);
    free(avg);
    free(x);
    free(y);
    free(series);
    free(labels);
    free(ds_first);
    free(ds_count);
    return rc ? -1 : 0;
}
