/* float32 instance of the two-way step and the forward pass (model/step_impl.h): the trainer's path.
 *
 * Behaviour on edge inputs (the reference's): sink_size + recent_size >= n is accepted; the streaming
 * mask then lets every query see every earlier key, so SA equals full attention and the student equals
 * the teacher (distill 0, gradients 0).  A sample without label positions, a non-finite gate, or a
 * non-finite loss or gradient is an error. */
#include "model/duo_step.h"
#include "model/forward.h"

#define T float
#define S f32
#include "model/step_impl.h"

struct duo_step_ctx {
    struct step_ctx_f32 *impl;
};

duo_step_ctx *duo_step_create(const duo_model *m, const duo_step_opts *opts, duo_error *err) {
    duo_step_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { duo_fail(err, "out of memory"); return NULL; }
    ctx->impl = ctx_create_f32(m, opts, err);
    if (!ctx->impl) { free(ctx); return NULL; }
    return ctx;
}

int duo_step_run(duo_step_ctx *ctx, const int32_t *ids, const int32_t *labels, size_t n,
                 const float *gates, duo_step_result *res, float *grad_gates, duo_error *err) {
    return step_run_f32(ctx->impl, ids, labels, n, gates, res, grad_gates, err);
}

void duo_step_free(duo_step_ctx *ctx) {
    if (!ctx) return;
    ctx_free_f32(ctx->impl);
    free(ctx);
}

int duo_forward(const duo_model *m, const int32_t *ids, size_t n, float *hidden, float *logits, duo_error *err) {
    duo_step_opts opts = {.sink_size = 0, .recent_size = 1, .streaming = STREAMING_BLOCKSPARSE, .use_cone = 0};
    struct step_ctx_f32 *c = ctx_create_f32(m, &opts, err);
    if (!c) return -1;
    int rc = forward_f32(c, ids, n, hidden, logits, err);
    ctx_free_f32(c);
    return rc;
}
