/* The training state and logs (DESIGN §3), one HDF5 file per run directory, rewritten atomically at
 * every save (temporary file + rename, through h5store) so a kill at any moment leaves the last good
 * state.  Layout (readable with h5py):
 *   /state/gates, /state/exp_avg, /state/exp_avg_sq   float32 [layers, kv_heads]  (after `step` updates)
 *   /log/distill, /log/reg, /log/loss, /log/lr        float64 [step]
 *   /log/sample_length, /log/context_length           int64   [step]
 *   /log/gate_history                                 float32 [step, layers, kv_heads]
 *   root attributes: step, num_layers, num_kv_heads, adamw_beta1/beta2/eps/weight_decay,
 *   rng_seed and rng_position (the sample stream is a pure function of both: position = next step),
 *   run_identity (JSON of the arguments a resume must match), format "duo-train state 1",
 *   checksum_crc32 (CRC-32 of every dataset and attribute above; a load that does not match fails). */
#ifndef DUO_TRAIN_TRAIN_STATE_H
#define DUO_TRAIN_TRAIN_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "train/adamw.h"
#include "train/gates.h"

/* Per-step log, one entry per update done. */
typedef struct {
    size_t len, cap, num_gates;
    double *distill, *reg, *loss, *lr;
    int64_t *sample_length, *context_length;
    float *gate_history; /* len x num_gates: the master gates after each update */
} duo_train_log;

void train_log_init(duo_train_log *log, size_t num_gates);
int train_log_append(duo_train_log *log, double distill, double reg, double loss, double lr, int64_t sample_length,
                     int64_t context_length, const float *gates, duo_error *err);
void train_log_free(duo_train_log *log);

/* Writes path atomically.  The step saved is opt->step, which must equal log->len. */
int train_state_save(const char *path, const duo_gates *g, const duo_adamw *opt, const duo_train_log *log,
                     uint64_t rng_seed, const char *run_identity, duo_error *err);

/* Reads a state written by train_state_save into g and opt (already sized for the same number of
 * layers and KV heads; a different shape is an error) and log (initialised by the caller).
 * *run_identity gets the stored identity JSON (malloc'd).  *rng_seed gets the stored seed. */
int train_state_load(const char *path, duo_gates *g, duo_adamw *opt, duo_train_log *log, uint64_t *rng_seed,
                     char **run_identity, duo_error *err);

/* The run identity stored in a state file (malloc'd), without loading the rest: lets a caller refuse a
 * resume with other settings before it writes anything. */
char *train_state_read_identity(const char *path, duo_error *err);

#endif
