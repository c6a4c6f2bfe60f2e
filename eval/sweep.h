/* `duo-train sweep` (DESIGN §4): what a pattern is worth.  For every sparsity, the pattern binarised as
 * `export` does and its baselines at the same sparsity (seeded random patterns, the inverted pattern)
 * run the task's prompts on the DuoAttention inference path (model/infer.h); per (sparsity, baseline,
 * context length[, depth]) the score, the KV-cache bytes against full attention, prefill seconds and
 * decode milliseconds per token go to a table on stdout, sweep.csv, responses.jsonl (every prompt's
 * response) and PNG plots. */
#ifndef DUO_EVAL_SWEEP_H
#define DUO_EVAL_SWEEP_H

#include <stdint.h>

#include "data/error.h"
#include "kernels/backend.h"
#include "eval/longbench_opts.h"
#include "model/infer.h"
#include "synth/niah.h"
#include "synth/params.h"

#define SWEEP_MAX_LIST 64
#define SWEEP_MAX_COMPARE 8 /* --compare folders */

typedef enum { SWEEP_PASSKEY = 0, SWEEP_NIAH, SWEEP_LONGBENCH } sweep_task;
enum { SWEEP_BASE_PATTERN = 1, SWEEP_BASE_RANDOM = 2, SWEEP_BASE_INVERTED = 4 };

typedef struct {
    const char *model_dir, *pattern_dir, *dataset, *output_dir, *backend;
    duo_precision precision; /* --dtype (DUO_PREC_DEFAULT: the backend's) */
    sweep_task task;
    double sparsities[SWEEP_MAX_LIST];
    int num_sparsities;
    int32_t context_lengths[SWEEP_MAX_LIST];
    int num_context_lengths;
    double depths[SWEEP_MAX_LIST]; /* NIAH depth percents */
    int num_depths;
    int samples;            /* passkey prompts per context length */
    int sink_size, recent_size; /* -1: the pattern's config.json */
    int prefilling_chunk_size, decoding_simulation_length, max_new_tokens; /* max_new_tokens 0: the task's */
    duo_prefill_mode prefill;
    uint64_t seed;
    unsigned baselines;     /* SWEEP_BASE_* */
    int random_patterns;    /* random baselines per sparsity (their mean is reported) */
    /* --compare: further pattern folders (full_attention_heads.tsv of the model's shape), each binarised at
     * every sparsity as the pattern is and reported under its name after the built-in baselines */
    const char *compare_dirs[SWEEP_MAX_COMPARE], *compare_names[SWEEP_MAX_COMPARE];
    int num_compare;
    synth_params passkey;   /* the sample builder's flags (passkey task) */
    niah_params niah;       /* the needle builder's templates (NIAH task) */
    longbench_opts longbench; /* the LongBench task's flags (eval/longbench_run.h) */
    int show_progress;
    /* sharing (default on; 0 for the comparison both ways): share_prefill -- each prompt's first forward,
     * dense for every head with prefill reference, computed once and restored for every pattern (the
     * prompts run prompt by prompt over the patterns); reuse_identical -- a pattern whose binary mask
     * equals an earlier one's at the same prompt reuses that response (the same computation) */
    int share_prefill, reuse_identical;
    int resume, overwrite;  /* the output folder's earlier sweep: continue it, or replace it (eval/sweep_output.h) */
} sweep_opts;

/* One binary pattern of a sweep: (sparsity index s, baseline b, random seed k), in the table's order. */
typedef struct {
    int s, b, k;
    double achieved;
    const uint8_t *full; /* [layers * kv heads] */
    int same_as;         /* an earlier job with the same mask, whose responses this one reuses; -1: none */
} sweep_job;

/* What a run's prefill cost with sharing (its summary on stderr): first forwards computed and restored,
 * their seconds, the seconds the patterns added, responses reused from an identical pattern. */
typedef struct {
    long computed, restored, reused;
    double shared_s, added_s;
} sweep_share_stats;

void sweep_opts_default(sweep_opts *o);
/* Runs the sweep; 0, or -1 with err set, or the signal number (SIGINT, SIGTERM) when util/interrupt.h
 * asked it to stop: the prompt running then finishes, the ones done are in responses.jsonl and
 * sweep.partial.csv, and --resume continues.  Usage-level problems (a pattern of another shape, a context
 * longer than the model's positions) are errors naming the value. */
int sweep_run(const sweep_opts *o, duo_error *err);

#endif
