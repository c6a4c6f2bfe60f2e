/* The two-way step computed in float64 from the same source as the float32 one (model/step_impl.h):
 * the oracle of the finite-difference gate-gradient tests.  Same semantics as model/duo_step.h. */
#ifndef DUO_MODEL_DUO_STEP_F64_H
#define DUO_MODEL_DUO_STEP_F64_H

#include "model/duo_step.h"

typedef struct duo_step_ctx_f64 duo_step_ctx_f64;

duo_step_ctx_f64 *duo_step_create_f64(const duo_model *m, const duo_step_opts *opts, duo_error *err);
int duo_step_run_f64(duo_step_ctx_f64 *ctx, const int32_t *ids, const int32_t *labels, size_t n,
                     const double *gates, duo_step_result *res, double *grad_gates, duo_error *err);
void duo_step_free_f64(duo_step_ctx_f64 *ctx);

#endif
