/* The trainable gates: one fp32 master value alpha[layer][kv_head] per KV head (DESIGN §1), the clamp
 * to [0,1] applied before every optimiser step, and the L1 regulariser reg = mean |alpha|. */
#ifndef DUO_TRAIN_GATES_H
#define DUO_TRAIN_GATES_H

#include <stddef.h>

#include "data/error.h"

typedef struct {
    int num_layers, num_kv_heads;
    float *alpha; /* num_layers x num_kv_heads, row-major (one row per layer) */
} duo_gates;

/* Every gate set to initial_value (--initial_value, 1.0 by default). */
int gates_init(duo_gates *g, int num_layers, int num_kv_heads, float initial_value, duo_error *err);
void gates_free(duo_gates *g);
size_t gates_count(const duo_gates *g);

/* alpha = clamp(alpha, 0, 1) in place; NaN stays NaN (the loop catches it). */
void gates_clamp(duo_gates *g);

/* reg = mean over all gates of |alpha| (accumulated in double). */
double gates_l1_mean(const float *alpha, size_t n);

/* grad += weight * d reg / d alpha = weight * sign(alpha) / n (sign(0) = 0, as torch's abs backward). */
void gates_l1_grad_add(const float *alpha, size_t n, float weight, float *grad);

#endif
