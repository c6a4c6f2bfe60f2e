/* What the commands may write, checked before they write anything (issue 13, class 3: never overwrite
 * what the user did not ask to overwrite).
 *
 *   train   the output folder must not be a model folder (config.json not a run's, weights, tokenizer)
 *           nor hold the dataset; one training at a time (a lock naming the holder's pid); a new run,
 *           or --resume where no state was saved, refuses a folder holding an earlier run's files
 *           unless --overwrite, which removes them first, so a folder never mixes two runs.
 *   score   the same as train (its folder is a pattern folder too), without --resume.
 *   synth   --out may only replace a duo-train synth file, never its own inputs.
 *   export  --output may not be the pattern folder, nor any folder whose gates are real-valued. */
#ifndef DUO_CLI_OUTPUT_GUARD_H
#define DUO_CLI_OUTPUT_GUARD_H

#include "data/error.h"

/* 1 when a and b name the same existing file or directory (same device and inode). */
int output_same_file(const char *a, const char *b);

typedef struct {
    int fd; /* the locked .duo-train.lock, or -1 */
} run_lock;

/* Prepares out_dir for a training run (creates it, takes the lock, refuses or clears an earlier run
 * as described above).  *has_state gets 1 when out_dir/train_state.h5 exists (a resume then reads it).
 * Returns 0, or -1 with err naming the folder and what is in the way. */
int output_guard_train_dir(const char *out_dir, const char *model_dir, const char *dataset, int resume, int overwrite,
                           run_lock *lock, int *has_state, duo_error *err);
void run_lock_release(run_lock *lock);
/* The same for `score --output_dir` (no resume: an earlier run or score is refused unless overwrite). */
int output_guard_score_dir(const char *out_dir, const char *model_dir, const char *dataset, int overwrite,
                           run_lock *lock, duo_error *err);

/* `synth --out`: refuses an existing file that is not a duo-train synth file, and any of the inputs. */
int output_guard_synth_out(const char *out, const char *dataset, const char *tokenizer, duo_error *err);

/* `export --output`: refuses the pattern folder itself and a folder holding real-valued gates. */
int output_guard_export_dir(const char *out_dir, const char *pattern_dir, duo_error *err);

#endif
