/* RoPE inverse frequencies exactly as Hugging Face computes them (default, linear, llama3 scaling). */
#ifndef DUO_MODEL_ROPE_FREQ_H
#define DUO_MODEL_ROPE_FREQ_H

#include "data/model_config.h"

/* inv_freq[head_dim/2].  as_f32 1 rounds every intermediate to float32 the way transformers' torch
 * float32 code does (the forward pass in float then matches HF to the last bits); 0 computes in double. */
void rope_inv_freq(const duo_model_config *cfg, int head_dim, int as_f32, double *inv_freq);

#endif
