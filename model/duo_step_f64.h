/* The two-way step on the float64 CPU backend: the oracle of the finite-difference gate-gradient tests.
 * It is the same code as every other step (model/duo_step.c) on another instance of the op table, so the
 * double path checks exactly what the float path runs.  Run it with duo_step_run_f64. */
#ifndef DUO_MODEL_DUO_STEP_F64_H
#define DUO_MODEL_DUO_STEP_F64_H

#include "model/duo_step.h"

typedef duo_step_ctx duo_step_ctx_f64;

/* A step with a float64 CPU backend of its own. */
duo_step_ctx_f64 *duo_step_create_f64(const duo_model *m, const duo_step_opts *opts, duo_error *err);
void duo_step_free_f64(duo_step_ctx_f64 *ctx);

#endif
