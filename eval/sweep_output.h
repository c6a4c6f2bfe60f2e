/* The sweep's output folder, crash-safe and exclusive as train's (issue 20, class 1):
 *
 *   - the folder is checked before any work (a file where the folder goes, a symlink loop, a FIFO or a
 *     folder where one of its files goes: refused with the OS's reason) and locked (data/dir_lock.h: the
 *     lock train takes, so a second sweep or a training is refused naming the holder's pid);
 *   - a folder holding an earlier sweep is refused unless --resume (continue it) or --overwrite (its
 *     files are removed first, so the folder never mixes two sweeps);
 *   - responses.jsonl is appended one whole line per prompt; a write that fails (file too large, disk
 *     full) is cut back to the last whole line and reported naming the file and the OS's reason;
 *   - --resume reads responses.jsonl back: each line's prompt identity (sweep_prompt_key) marks the
 *     prompt done, and its numbers are summed into the table as if it had just run, so the final files
 *     equal an uninterrupted run's; a torn last line (a kill -9 mid-write) is dropped and rerun;
 *   - sweep.csv and the plots are written atomically (temporary name, renamed) at the end; an interrupted
 *     sweep writes sweep.partial.csv instead (the prompts done so far), which a finished one removes. */
#ifndef DUO_EVAL_SWEEP_OUTPUT_H
#define DUO_EVAL_SWEEP_OUTPUT_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "data/error.h"

#define SWEEP_RESPONSES "responses.jsonl"
#define SWEEP_CSV "sweep.csv"
#define SWEEP_PARTIAL_CSV "sweep.partial.csv"
#define SWEEP_LONGBENCH_SUMMARY "longbench_summary.csv" /* --task longbench's files: */
#define SWEEP_LONGBENCH_PRED "longbench_pred"            /* the folder of eval.py's pred files */

typedef struct {
    char *key;   /* sweep_prompt_key of the line */
    json_t *line;
    int used;    /* matched by a prompt of this run */
} sweep_resumed;

typedef struct {
    char dir[4200], responses[4300];
    int lock_fd;
    int fd;            /* responses.jsonl, opened at the first line written (or at open when resuming) */
    off_t good_len;    /* bytes of whole lines in it */
    sweep_resumed *done; /* [num_done] sorted by key */
    size_t num_done;
} sweep_output;

/* The identity of one prompt's response: what a resumed sweep matches lines by.  Every field that makes two
 * prompts of one sweep different: the sparsity (shortest round-trip digits), the baseline's name, the
 * random pattern's seed index, the context length, the NIAH depth (NaN for passkey) and the sample index;
 * for LongBench the dataset's name (NULL for passkey and NIAH, whose keys have no such field), the record's
 * index as the sample and the prompt budget (--max_length) as the context length.
 * A new baseline or task that adds a field extends this function (and the JSON line it reads back). */
char *sweep_prompt_key(char *buf, size_t cap, double sparsity, const char *baseline, int seed, int context_length,
                       double depth_percent, int sample, const char *dataset);
/* The same key read back from a responses.jsonl line; NULL when the line lacks a field. */
char *sweep_line_key(const json_t *line, char *buf, size_t cap);

/* Checks and locks dir, refuses or clears an earlier sweep, reads it back for resume (see above).
 * 0, or -1 with err naming the folder or file and the reason (the lock's holder, the earlier files). */
int sweep_output_open(sweep_output *out, const char *dir, int resume, int overwrite, duo_error *err);
/* The resumed line of a prompt (marked used), or NULL when the prompt has still to run. */
json_t *sweep_output_resumed(sweep_output *out, const char *key);
/* Lines read back that no prompt of this run matched (another sweep's options). */
size_t sweep_output_unmatched(const sweep_output *out, const char **example);
/* Appends one response line (text without its newline): whole, or not at all. */
int sweep_output_append(sweep_output *out, const char *text, duo_error *err);
/* Removes sweep.partial.csv (the run finished). */
void sweep_output_finished(sweep_output *out);
/* Closes responses.jsonl, releases the lock, frees what resume read. */
void sweep_output_close(sweep_output *out);

#endif
