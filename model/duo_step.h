/* The two-way training step (DESIGN §1, §5): teacher and student in lockstep, the distillation loss
 * and its gradient with respect to the gates, on any backend (kernels/ops.h).  The trainer adds the L1
 * term (reg) itself. */
#ifndef DUO_MODEL_DUO_STEP_H
#define DUO_MODEL_DUO_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/model.h"
#include "kernels/ops.h"

typedef struct {
    int sink_size, recent_size;
    duo_attn_kind streaming; /* --streaming_attn_implementation: ATTN_STREAM_BLOCKSPARSE (default) or _SDPA */
    int use_cone;            /* 1: work only on the dependency cone (default); 0: every position */
} duo_step_opts;

typedef struct {
    double distill;          /* DESIGN §1 */
    size_t num_label_positions;
    size_t cone_positions;   /* sum over layers of |Q_l| (student positions actually computed) */
    size_t all_positions;    /* layers x n, for the cone's share */
    double flops;            /* counted as in DESIGN §5 */
    size_t saved_bytes;      /* the step's saved activations: each layer's student input on its cone and
                              * the teacher's FA_T on its output rows */
    size_t work_bytes;       /* the other per-position buffers of the step (for n tokens) */
    size_t weight_bytes;     /* backend memory the step's converted weights hold */
} duo_step_result;

typedef struct duo_step_ctx duo_step_ctx;

/* A step of model m on backend be (which the step uses but does not own). */
duo_step_ctx *duo_step_create(const duo_model *m, const duo_step_opts *opts, duo_backend *be, duo_error *err);
/* One sample: ids[n], labels[n] (-100 = not supervised).  gates: num_layers x num_kv_heads raw values
 * (clamped to [0,1] inside; the gradient is zero outside [0,1]).  grad_gates (same shape) receives
 * d distill / d gates.  Returns 0, or -1 with err set.
 * Edge inputs, as the reference treats them: sink_size + recent_size >= n is accepted, and streaming
 * attention is then full attention (distill 0, gradients 0); recent_size must be >= 1; a sample with no
 * label position, a non-finite gate, and a non-finite loss or gradient are errors. */
int duo_step_run(duo_step_ctx *ctx, const int32_t *ids, const int32_t *labels, size_t n,
                 const float *gates, duo_step_result *res, float *grad_gates, duo_error *err);
/* The same with double gates and gradient (what the float64 backend's finite-difference tests use). */
int duo_step_run_f64(duo_step_ctx *ctx, const int32_t *ids, const int32_t *labels, size_t n,
                     const double *gates, duo_step_result *res, double *grad_gates, duo_error *err);
void duo_step_free(duo_step_ctx *ctx);

#endif
