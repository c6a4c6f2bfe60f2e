/* The parts of `duo-train bench`, one per measured thing. */
#ifndef DUO_CLI_BENCH_H
#define DUO_CLI_BENCH_H

#include "data/model.h"
#include "model/duo_step.h"

int bench_tokenizer(int argc, char **argv); /* duo-train bench tokenizer ... */
int bench_synth(int argc, char **argv);     /* duo-train bench synth ... */
int bench_step(int argc, char **argv);      /* duo-train bench step --backend cpu ... */
int bench_infer(int argc, char **argv);     /* duo-train bench infer ... */
int bench_gemm(int argc, char **argv);      /* duo-train bench gemm ... */

/* bench step --plan: the step's memory plan, FLOPs and bytes per context, and the time they imply at a
 * device peak (peak_tflops / peak_gbps <= 0: the defaults for the precision).  No model is loaded: cfg
 * comes from a config.json or a named shape.  Returns the exit status. */
int bench_step_plan(const duo_model_config *cfg, const char *what, const char *backend, int precision,
                    const duo_step_opts *so, const size_t *ctxs, int nctx, long labels, double peak_tflops,
                    double peak_gbps);

/* cfg of a named random shape ("1b": a Llama-3.2-1B-like body, "8b": Llama-3-8B, "70b": Llama-3-70B,
 * "medium": hidden 1024, 8 layers, 16/8 heads of 64, intermediate 2816, vocab 32000; "small"); -1 for an
 * unknown name.  scripts/bench_vs_transformers.py writes the same configs for transformers. */
#define BENCH_SHAPE_NAMES "small, medium, 1b, 8b, 70b"
int bench_random_shape(const char *name, duo_model_config *cfg);
/* The checkpoint in model_dir, else the random model of the named shape (generated on the device where the
 * backend the command opens is CUDA); 0, or the exit status after the message (2: an unknown shape, 1: a
 * failure).  Close with bench_model_close(model_dir, m). */
int bench_model_open(const char *cmd, const char *model_dir, const char *shape, const char *backend, duo_model *m);
void bench_model_close(const char *model_dir, duo_model *m);

#endif
