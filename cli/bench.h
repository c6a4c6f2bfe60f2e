/* The parts of `duo-train bench`, one per measured thing. */
#ifndef DUO_CLI_BENCH_H
#define DUO_CLI_BENCH_H

#include "data/model.h"

int bench_tokenizer(int argc, char **argv); /* duo-train bench tokenizer ... */
int bench_synth(int argc, char **argv);     /* duo-train bench synth ... */
int bench_step(int argc, char **argv);      /* duo-train bench step --backend cpu ... */
int bench_infer(int argc, char **argv);     /* duo-train bench infer ... */

/* cfg of a named random shape ("1b": a Llama-3.2-1B-like body, "small"); -1 for an unknown name. */
int bench_random_shape(const char *name, duo_model_config *cfg);
/* The checkpoint in model_dir, else the random model of the named shape; 0, or the exit status after the
 * message (2: an unknown shape, 1: a failure).  Close with bench_model_close(model_dir, m). */
int bench_model_open(const char *cmd, const char *model_dir, const char *shape, duo_model *m);
void bench_model_close(const char *model_dir, duo_model *m);

#endif
