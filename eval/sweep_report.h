/* The sweep's results per cell (sparsity x baseline x context length x depth) and how they are shown: a
 * table on stdout, sweep.csv, and PNG plots (accuracy against sparsity per baseline; for NIAH a depth x
 * length heat map per sparsity, as the reference's plot). */
#ifndef DUO_EVAL_SWEEP_REPORT_H
#define DUO_EVAL_SWEEP_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "eval/sweep.h"

#define SWEEP_NUM_BASELINES 3 /* pattern, random, inverted */
#define SWEEP_MAX_BASELINES (SWEEP_NUM_BASELINES + SWEEP_MAX_COMPARE) /* then the --compare folders */

typedef struct {
    long count;           /* prompts (x random patterns) averaged */
    double achieved;      /* achieved sparsity (share of streaming heads), mean */
    double accuracy;      /* passkey: exact match; niah: ROUGE-1 F (results-file score / 10) */
    double words;         /* passkey: fraction of passkey words right; niah: the plot's word overlap / 12 */
    double rouge_x10;     /* niah: ROUGE-1 F x 10 (the reference's results-file score) */
    double prompt_tokens; /* tokens of the prompts, mean */
    double kv_bytes, kv_full_bytes, prefill_s, decode_ms_per_token;
} sweep_cell;

typedef struct {
    const sweep_opts *o;
    int num_depths;       /* 1 for passkey */
    sweep_cell *cells;    /* [sparsity][SWEEP_MAX_BASELINES][context][depth] (sums until sweep_report_finish) */
    const char *prefill_name;
} sweep_report;

extern const char *const SWEEP_BASELINE_NAMES[SWEEP_NUM_BASELINES];
/* Baseline b's name: a built-in one, or the name of --compare folder b - SWEEP_NUM_BASELINES. */
const char *sweep_baseline_name(const sweep_opts *o, int b);
/* 1 when baseline b runs in this sweep. */
int sweep_baseline_on(const sweep_opts *o, int b);
/* A reused response (--reuse_identical): a copy of src, the line of an earlier job with the same mask
 * (key src_key), relabelled with job jb's sparsity, baseline and seed and marked reused_from.  NULL when
 * out of memory. */
json_t *sweep_reused_line(const sweep_opts *o, const sweep_job *jb, const json_t *src, const char *src_key);

sweep_cell *sweep_report_cell(sweep_report *r, int sparsity, int baseline, int ctx, int depth);
/* Turns the sums into means. */
void sweep_report_finish(sweep_report *r);
void sweep_report_table(const sweep_report *r, FILE *f);
int sweep_report_csv(const sweep_report *r, const char *path, duo_error *err);
/* The plots into dir; *written gets how many files. */
int sweep_report_plots(const sweep_report *r, const char *dir, int *written, duo_error *err);

#endif
