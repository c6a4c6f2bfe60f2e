/* The model shapes `bench` builds with random weights. */
#include <stdio.h>
#include <string.h>

#include "cli/bench.h"

int bench_random_shape(const char *name, duo_model_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->model_type, sizeof c->model_type, "llama");
    c->rms_norm_eps = 1e-5;
    c->rope_theta = 500000;
    c->max_position_embeddings = 131072;
    if (!strcmp(name, "1b")) { /* Llama-3.2-1B-like body, 1.0B non-embedding-ish with a 32K vocab */
        c->hidden_size = 2048; c->intermediate_size = 8192; c->num_hidden_layers = 16;
        c->num_attention_heads = 32; c->num_key_value_heads = 8; c->head_dim = 64; c->vocab_size = 32000;
    } else if (!strcmp(name, "small")) {
        c->hidden_size = 256; c->intermediate_size = 768; c->num_hidden_layers = 4;
        c->num_attention_heads = 8; c->num_key_value_heads = 4; c->head_dim = 32; c->vocab_size = 1000;
    } else {
        return -1;
    }
    return 0;
}
