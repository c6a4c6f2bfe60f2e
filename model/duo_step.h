/* The two-way training step (DESIGN §1, §5): teacher and student in lockstep, the distillation loss
 * and its gradient with respect to the gates.  The trainer adds the L1 term (reg) itself. */
#ifndef DUO_MODEL_DUO_STEP_H
#define DUO_MODEL_DUO_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/model.h"

typedef enum { STREAMING_BLOCKSPARSE = 0, STREAMING_SDPA = 1 } duo_streaming_impl;

typedef struct {
    int sink_size, recent_size;
    duo_streaming_impl streaming; /* --streaming_attn_implementation, default blocksparse */
    int use_cone;                 /* 1: work only on the dependency cone (default); 0: every position */
} duo_step_opts;

typedef struct {
    double distill;          /* DESIGN §1 */
    size_t num_label_positions;
    size_t cone_positions;   /* sum over layers of |Q_l| (student positions actually computed) */
    size_t all_positions;    /* layers x n, for the cone's share */
    double flops;            /* counted as in DESIGN §5 */
} duo_step_result;

typedef struct duo_step_ctx duo_step_ctx;

duo_step_ctx *duo_step_create(const duo_model *m, const duo_step_opts *opts, duo_error *err);
/* One sample: ids[n], labels[n] (-100 = not supervised).  gates: num_layers x num_kv_heads raw values
 * (clamped to [0,1] inside; the gradient is zero outside [0,1]).  grad_gates (same shape) receives
 * d distill / d gates.  Returns 0, or -1 with err set.
 * Edge inputs, as the reference treats them: sink_size + recent_size >= n is accepted, and streaming
 * attention is then full attention (distill 0, gradients 0); recent_size must be >= 1; a sample with no
 * label position, a non-finite gate, and a non-finite loss or gradient are errors. */
int duo_step_run(duo_step_ctx *ctx, const int32_t *ids, const int32_t *labels, size_t n,
                 const float *gates, duo_step_result *res, float *grad_gates, duo_error *err);
void duo_step_free(duo_step_ctx *ctx);

#endif
