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
/* The same model without host data: every tensor has data NULL and a spec (random_tensor_spec) from
 * which a backend that can (CUDA: load_tensor, cuRAND Philox on the device) generates its elements, any
 * range of them reproducibly.  The values are not the host generator's.  For a backend without that
 * ability use random_model_create. */
int random_model_create_device(const duo_model_config *cfg, duo_dtype dtype, uint64_t seed, double scale,
                               duo_model *m, duo_error *err);
#define DUO_RANDOM_MODEL_DEVICE 1 /* random_model_create_device exists */
void random_model_free(duo_model *m);

/* How a device-generated tensor's elements are made: element i = offset + amp * (2 u_i - 1), u_i uniform
 * in [0, 1) from a counter-based generator keyed by seed and counted by i. */
typedef struct {
    uint64_t seed;
    double offset, amp;
} duo_random_spec;
/* 1 and *spec set if t is a tensor of random_model_create_device (no host data); 0 otherwise. */
int random_tensor_spec(const duo_tensor *t, duo_random_spec *spec);

#endif
