/* A Llama/Mistral checkpoint opened for compute: config + memory-mapped weights, every tensor's
 * name, dtype and shape validated against the config. */
#ifndef DUO_DATA_MODEL_H
#define DUO_DATA_MODEL_H

#include "data/model_config.h"
#include "data/safetensors.h"

typedef struct {
    const duo_tensor *input_layernorm;          /* [hidden] */
    const duo_tensor *q_proj, *k_proj, *v_proj; /* [heads*hd, hidden], [kv*hd, hidden] x2 */
    const duo_tensor *o_proj;                   /* [hidden, heads*hd] */
    const duo_tensor *post_attention_layernorm; /* [hidden] */
    const duo_tensor *gate_proj, *up_proj;      /* [inter, hidden] */
    const duo_tensor *down_proj;                /* [hidden, inter] */
} duo_layer_weights;

typedef struct {
    duo_model_config cfg;
    duo_checkpoint *ckpt;
    const duo_tensor *embed_tokens; /* [vocab, hidden] */
    const duo_tensor *norm;         /* [hidden] */
    const duo_tensor *lm_head;      /* [vocab, hidden]; == embed_tokens when tied */
    duo_layer_weights *layers;      /* num_hidden_layers */
    char dir[1024];
    char name[256]; /* last path component of dir, used in patterns_out/<name>/ */
} duo_model;

/* Reads dir/config.json and the weights; validates every tensor. */
int model_open(const char *dir, duo_model *m, duo_error *err);
void model_close(duo_model *m);

/* Parameters (all, and non-embedding: without embed_tokens and lm_head). */
long long model_num_params(const duo_model *m);
long long model_num_params_non_embedding(const duo_model *m);

#endif
