/* Tiny random Llama configurations and token/label arrays for the step and inference tests (with
 * model/random_model.h): one definition for every test that builds them. */
#ifndef DUO_TESTS_TINY_MODEL_H
#define DUO_TESTS_TINY_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "data/model_config.h"

/* hidden 16, MLP 24, vocab 50, 4096 positions, default RoPE. */
static inline duo_model_config tiny_cfg(int layers, int heads, int kv_heads, int head_dim) {
    duo_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.model_type, sizeof c.model_type, "llama");
    c.hidden_size = 16;
    c.intermediate_size = 24;
    c.num_hidden_layers = layers;
    c.num_attention_heads = heads;
    c.num_key_value_heads = kv_heads;
    c.head_dim = head_dim;
    c.vocab_size = 50;
    c.max_position_embeddings = 4096;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 10000;
    c.rope_type = ROPE_DEFAULT;
    return c;
}

/* ids[n]: a seeded LCG's draws in [0, vocab). */
static inline void make_ids(int32_t *ids, size_t n, uint32_t seed, int vocab) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        ids[i] = (int32_t)((seed >> 8) % (uint32_t)vocab);
    }
}

/* labels[n]: -100 everywhere except the listed positions (label 7). */
static inline void make_labels(int32_t *labels, size_t n, const int *pos, int npos) {
    for (size_t i = 0; i < n; i++) labels[i] = -100;
    for (int k = 0; k < npos; k++) labels[pos[k]] = 7;
}

#endif
