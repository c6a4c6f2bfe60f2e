/* `duo-train sweep --task longbench` (issue 17): the reference's pred.py on the DuoAttention inference
 * path, at every sparsity and baseline of the sweep, scored as its eval.py scores.
 *
 * sweep_run (eval/sweep.c) drives it: longbench_begin reads and checks the user's LongBench files before
 * any model work; longbench_build_prompts builds every record's prompt (eval/longbench_data.h) and the
 * generation cap; longbench_run_pattern generates and scores every prompt on one binary pattern
 * (greedy, up to the dataset's dataset2maxlen tokens, ending at an EOS id after the first token as
 * pred.py's loop does), post-processes by model name, scores as eval.py does (with the all_classes of
 * the dataset's last record, which eval.py applies to the whole file), writes responses.jsonl lines and the pattern's
 * pred files (longbench_pred/<baseline>-sp-<sparsity>/<dataset>-duo_attn.jsonl: pred, answers,
 * all_classes, length, which eval.py --results_path reads unchanged); longbench_report writes the
 * table, sweep.csv, longbench_summary.csv and the plots (eval/longbench_report.c).
 *
 * Where this differs from pred.py: the tokenizer is tokenizer.json's (the fast tokenizer; pred.py loads
 * use_fast=False, which needs a sentencepiece model); a prompt of n <= decoding_simulation_length tokens
 * prefills its first token and simulates the rest (pred.py's negative slice start n - 50 prefills
 * 2n - 50 tokens and simulates 50 - n, or fails for n <= 25; LongBench's prompts are thousands of
 * tokens); random baselines with --random_patterns K > 1 report
 * the mean of the K seeds' dataset scores, each seed's pred files in their own folder. */
#ifndef DUO_EVAL_LONGBENCH_RUN_H
#define DUO_EVAL_LONGBENCH_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "data/model.h"
#include "data/tokenizer.h"
#include "eval/longbench_data.h"
#include "eval/sweep.h"
#include "eval/sweep_output.h"
#include "eval/sweep_prompts.h"
#include "model/infer.h"
#include "util/progress.h"

/* One record's outcome on one pattern. */
typedef struct {
    int done;
    double score, score_e;       /* eval.py scorer()'s and scorer_e()'s record score (0..1) */
    double achieved;             /* the pattern's achieved sparsity */
    double prompt_tokens, kv_bytes, kv_full_bytes, prefill_s, decode_ms_per_token;
} lb_result;

typedef struct longbench_run {
    longbench data;
    int max_length;
    int num_sparsities, seeds;   /* seeds: random patterns per sparsity (other baselines use slot 0) */
    lb_result *res;              /* [sparsity][SWEEP_MAX_BASELINES][seeds][prompt] */
    const char *output_dir;
} longbench_run;

int longbench_begin(const sweep_opts *o, longbench_run **out, duo_error *err);
/* The prompts into ps; sets *max_new_tokens (when 0) to the largest dataset2maxlen.  Checks max_length
 * against the generation lengths and the model's positions. */
int longbench_build_prompts(longbench_run *lr, const sweep_opts *o, const duo_model *m, const duo_tokenizer *tok,
                            sweep_prompts *ps, int *max_new_tokens, duo_error *err);

typedef struct {
    duo_infer *ctx;
    const duo_tokenizer *tok;
    const sweep_prompts *ps;
    const sweep_job *jobs;       /* [num_jobs] the sweep's patterns, each set on ctx before a record runs on it */
    int num_jobs;
    size_t G;                    /* layers * kv heads */
    const int32_t *eos;
    int num_eos;
    int max_new_tokens;
    sweep_output *out;           /* responses.jsonl (eval/sweep_output.h): appended, and read back by --resume */
    duo_progress *bar;
    long *done;
    sweep_share_stats *st;       /* the shared prefill's and reused responses' counts, added to */
} lb_run_env;

/* Record i's prompt identity on one pattern (sweep_prompt_key with the dataset's name, the record's index
 * as the sample and --max_length as the context length): what --resume matches its lines by. */
char *longbench_prompt_key(const longbench_run *lr, const sweep_opts *o, int sparsity, int baseline, int seed, size_t i,
                           char *buf, size_t cap);
/* Every record on every job, record by record (each record's first forward computed once and restored
 * for the other patterns; a job whose mask repeats an earlier one's reuses its response, marked
 * reused_from; a record whose line --resume read back is restored, not run); each job's pred file of a
 * dataset is written atomically once the dataset's records are done.  0, -1 with err, or the signal
 * number when an interrupt asked to stop after a record (the pred files of the dataset under way then
 * hold the records done). */
int longbench_run_jobs(longbench_run *lr, const sweep_opts *o, const lb_run_env *env, duo_error *err);
/* The table, sweep.csv, longbench_summary.csv and the plots, each written atomically; partial (an
 * interrupted sweep): the table and sweep.partial.csv of the records done, nothing else. */
int longbench_report(longbench_run *lr, const sweep_opts *o, int partial, duo_error *err);
void longbench_end(longbench_run *lr);

lb_result *longbench_result(longbench_run *lr, int sparsity, int baseline, int seed, size_t prompt);

#endif
