/* A Llama-shaped model with random weights held in memory (no file): for benchmarks at real sizes
 * (bf16, like a real checkpoint) and for the gradient tests' tiny models (f32). */
#ifndef DUO_MODEL_RANDOM_MODEL_H
#define DUO_MODEL_RANDOM_MODEL_H

#include <stdint.h>

#include "data/model.h"

/* Fills m from cfg (hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
 * num_key_value_heads, head_dim, vocab_size, rms_norm_eps, rope_*; tie_word_embeddings honoured).
 * Linear weights are uniform in [-scale, scale] / sqrt(fan_in) * sqrt(3) (std scale/sqrt(fan_in)),
 * norms 1 + uniform(-0.1, 0.1), embeddings uniform(-1, 1).  Deterministic in seed.  0 or -1 (err). */
int random_model_create(const duo_model_config *cfg, duo_dtype dtype, uint64_t seed, double scale,
                        duo_model *m, duo_error *err);
void random_model_free(duo_model *m);

#endif
