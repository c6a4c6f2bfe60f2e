/* AdamW with PyTorch's semantics (torch.optim.AdamW, single-tensor CPU path, fp32): bias-corrected
 * moments, betas (0.9, 0.999), eps 1e-8, decoupled weight decay (0 in DuoAttention's training).
 * The operation order (and torch's vectorised fused multiply-adds) is followed so results agree with
 * torch bit for bit (tests/test_adamw.c replays torch's own numbers). */
#ifndef DUO_TRAIN_ADAMW_H
#define DUO_TRAIN_ADAMW_H

#include <stddef.h>

#include "data/error.h"

typedef struct {
    double beta1, beta2, eps, weight_decay;
    long step;        /* number of updates done (torch's state["step"]) */
    size_t n;
    float *exp_avg;    /* first moment m */
    float *exp_avg_sq; /* second moment v */
} duo_adamw;

/* Moments zeroed, step 0, DuoAttention's hyper-parameters (0.9, 0.999, 1e-8, weight decay 0). */
int adamw_init(duo_adamw *opt, size_t n, duo_error *err);
void adamw_free(duo_adamw *opt);

/* One update of params[n] with gradient grad[n] at learning rate lr. */
void adamw_step(duo_adamw *opt, float *params, const float *grad, double lr);

#endif
