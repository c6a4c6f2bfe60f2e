/* The models `bench` runs on: a checkpoint folder, or a named shape with random bf16 weights. */
#include <stdio.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "model/random_model.h"
#ifdef DUO_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

int bench_random_shape(const char *name, duo_model_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->model_type, sizeof c->model_type, "llama");
    c->rms_norm_eps = 1e-5;
    c->rope_theta = 500000;
    c->max_position_embeddings = 131072;
    if (!strcmp(name, "1b")) { /* Llama-3.2-1B-like body, 1.0B non-embedding-ish with a 32K vocab */
        c->hidden_size = 2048; c->intermediate_size = 8192; c->num_hidden_layers = 16;
        c->num_attention_heads = 32; c->num_key_value_heads = 8; c->head_dim = 64; c->vocab_size = 32000;
    } else if (!strcmp(name, "8b")) { /* Llama-3-8B (and 3.1-8B: 128K positions) */
        c->hidden_size = 4096; c->intermediate_size = 14336; c->num_hidden_layers = 32;
        c->num_attention_heads = 32; c->num_key_value_heads = 8; c->head_dim = 128; c->vocab_size = 128256;
    } else if (!strcmp(name, "70b")) { /* Llama-3-70B */
        c->hidden_size = 8192; c->intermediate_size = 28672; c->num_hidden_layers = 80;
        c->num_attention_heads = 64; c->num_key_value_heads = 8; c->head_dim = 128; c->vocab_size = 128256;
    } else if (!strcmp(name, "medium")) { /* hidden 1024, 8 layers: a mid-size body the CPU runs at 8K */
        c->hidden_size = 1024; c->intermediate_size = 2816; c->num_hidden_layers = 8;
        c->num_attention_heads = 16; c->num_key_value_heads = 8; c->head_dim = 64; c->vocab_size = 32000;
    } else if (!strcmp(name, "small")) {
        c->hidden_size = 256; c->intermediate_size = 768; c->num_hidden_layers = 4;
        c->num_attention_heads = 8; c->num_key_value_heads = 4; c->head_dim = 32; c->vocab_size = 1000;
    } else {
        return -1;
    }
    return 0;
}

#ifdef DUO_RANDOM_MODEL_DEVICE
/* 1 when the command's backend will be the CUDA one, which generates random weights on the device (an
 * 8B model's 16 GB are not built on the host). */
static int random_on_device(const char *backend) {
#ifdef DUO_HAVE_CUDA
    duo_error ignored;
    return !strcmp(backend, "cuda") || (!strcmp(backend, "auto") && cuda_backend_ready(&ignored));
#else
    (void)backend;
    return 0;
#endif
}
#endif

int bench_model_open(const char *cmd, const char *model_dir, const char *shape, const char *backend, duo_model *m) {
    duo_error err = {{0}};
    if (model_dir) return model_open(model_dir, m, &err) ? cli_fail(&err) : 0;
    duo_model_config cfg;
    if (bench_random_shape(shape, &cfg)) return cli_usage_error(cmd, "unknown --random-shape '%s' (%s)", shape, BENCH_SHAPE_NAMES);
#ifdef DUO_RANDOM_MODEL_DEVICE
    if (random_on_device(backend))
        return random_model_create_device(&cfg, DUO_BF16, 42, 1.0, m, &err) ? cli_fail(&err) : 0;
#else
    (void)backend;
#endif
    return random_model_create(&cfg, DUO_BF16, 42, 1.0, m, &err) ? cli_fail(&err) : 0;
}

void bench_model_close(const char *model_dir, duo_model *m) {
    if (model_dir) model_close(m);
    else random_model_free(m);
}
