/* The training loop (DESIGN §1, reference duo_attn/train.py): per step, clamp the gates to [0,1], run
 * the objective (distill and d distill / d gates for one sample), add reg_weight * mean|alpha| and its
 * gradient, take one AdamW step at the scheduled lr, log; every save_steps steps (and at the end) write
 * full_attention_heads_step=<k>.tsv, full_attention_heads_latest.tsv and the HDF5 state atomically.
 * Resuming from the state continues bit for bit: the objective must be a pure function of (step, gates).
 * A NaN/Inf loss or gradient stops the run before the update, naming the step; the last checkpoint stays.
 * A stop on request (stop_after, or Ctrl-C / SIGTERM seen through util/interrupt.h at a step boundary)
 * saves the state of that step before returning, so a resume loses nothing. */
#ifndef DUO_TRAIN_TRAIN_LOOP_H
#define DUO_TRAIN_TRAIN_LOOP_H

#include <stdint.h>

#include "data/error.h"
#include "train/train_state.h"

/* What the loop trains against.  run(): for 0-based step `step`, the distillation loss at `gates`
 * (already clamped) and its gradient grad[n]; also the sample's length and context length for the log. */
typedef struct {
    void *ctx;
    int (*run)(void *ctx, long step, const float *gates, size_t n, double *distill, float *grad,
               long *sample_length, long *context_length, duo_error *err);
} duo_objective;

typedef struct {
    int num_layers, num_kv_heads;
    long num_steps, save_steps;
    long stop_after;        /* > 0: stop (as if interrupted) once this many steps are done; 0: run to the end */
    double lr, reg_weight;
    float initial_value;
    uint64_t seed;          /* recorded as the RNG seed of the sample stream */
    const char *output_dir; /* must exist */
    const char *run_identity; /* JSON object of the arguments a resume must match */
    int resume;             /* continue from output_dir/train_state.h5 when it exists */
    int show_progress;      /* progress bar on stderr */
} duo_train_opts;

typedef struct {
    long start_step, end_step; /* steps done before this run, and after it */
    int finished;              /* 1 when end_step == num_steps and the final pattern was written */
    double last_distill, last_reg; /* of the last step done (from the log when this run did none) */
    long saved_step;           /* the step of the state on disk when the loop returned */
    int interrupted;           /* the signal (SIGINT, SIGTERM) that stopped the run at a step boundary, or 0 */
    int resumed;               /* 1 when the state was read from output_dir (resume asked and found one) */
} duo_train_result;

#define TRAIN_STATE_FILE "train_state.h5"

/* Runs the loop; *gates_out (optional, num_layers x num_kv_heads) gets the final master gates. */
int train_loop_run(const duo_train_opts *o, duo_objective *obj, duo_train_result *res, float *gates_out,
                   duo_error *err);

/* Compares two run-identity JSON objects; 0 if every key matches, else -1 with the keys that differ. */
int train_identity_check(const char *saved, const char *current, duo_error *err);

#endif
