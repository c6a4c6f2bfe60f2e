/* float64 instance of the two-way step (model/step_impl.h), for finite-difference tests. */
#include "model/duo_step_f64.h"

#define T double
#define S f64
#include "model/step_impl.h"

struct duo_step_ctx_f64 {
    struct step_ctx_f64 *impl;
};

duo_step_ctx_f64 *duo_step_create_f64(const duo_model *m, const duo_step_opts *opts, duo_error *err) {
    duo_step_ctx_f64 *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { duo_fail(err, "out of memory"); return NULL; }
    ctx->impl = ctx_create_f64(m, opts, err);
    if (!ctx->impl) { free(ctx); return NULL; }
    return ctx;
}

int duo_step_run_f64(duo_step_ctx_f64 *ctx, const int32_t *ids, const int32_t *labels, size_t n,
                     const double *gates, duo_step_result *res, double *grad_gates, duo_error *err) {
    return step_run_f64(ctx->impl, ids, labels, n, gates, res, grad_gates, err);
}

void duo_step_free_f64(duo_step_ctx_f64 *ctx) {
    if (!ctx) return;
    ctx_free_f64(ctx->impl);
    free(ctx);
}
