/* Non-finite values (NaN, Inf) found and named (issue 20, class 2): a model whose forward pass produces
 * them must be refused, not decoded into id 0 as if it had answered.  Checks run on data already on the
 * host (a downloaded logits row, the memory-mapped weights), so no backend op is needed. */
#ifndef DUO_MODEL_FINITE_H
#define DUO_MODEL_FINITE_H

#include <stddef.h>

#include "data/model.h"

/* The index of the first non-finite element of buf[n] (float when elem_size is 4, else double), or -1. */
long finite_first_bad(const void *buf, size_t n, size_t elem_size);

/* Describes the first weight tensor holding a non-finite value among layer l's (l = -1: the embedding;
 * l = num_layers: the final norm and lm_head) into out ("model.layers.2.self_attn.q_proj.bias holds NaN at
 * element 5"); 0 when every value there is finite. */
int finite_weights_of(const duo_model *m, int layer, char *out, size_t cap);

#endif
