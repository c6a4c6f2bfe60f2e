/* A Llama/Mistral/Qwen2/Qwen3 checkpoint opened for compute: config + memory-mapped weights, every tensor's
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
    /* Present only where the config says so, NULL otherwise: */
    const duo_tensor *q_bias, *k_bias, *v_bias; /* cfg.attention_bias: [heads*hd], [kv*hd], [kv*hd]
                                                   (self_attn.{q,k,v}_proj.bias), added to the projections */
    const duo_tensor *q_norm, *k_norm;          /* cfg.qk_norm: [hd] each (self_attn.{q,k}_norm.weight),
                                                   RMSNorm weight of every query / key head before RoPE */
} duo_layer_weights;

typedef struct {
    duo_model_config cfg;
    duo_checkpoint *ckpt;
    const duo_tensor *embed_tokens; /* [vocab, hidden] */
    const duo_tensor *norm;         /* [hidden] */
    const duo_tensor *lm_head;      /* [vocab, hidden]; == embed_tokens when tied */
    duo_layer_weights *layers;      /* num_hidden_layers */
    char dir[4096];
    char name[256]; /* last path component of dir, used in patterns_out/<name>/ */
} duo_model;

/* Reads dir/config.json and the weights; validates every tensor. */
int model_open(const char *dir, duo_model *m, duo_error *err);
void model_close(duo_model *m);

/* The tensors of one layer that are present (the nine Llama ones, then the optional ones that are not
 * NULL), in that order, into out; returns how many (at most DUO_LAYER_MAX_TENSORS). */
#define DUO_LAYER_MAX_TENSORS 14
int model_layer_tensors(const duo_layer_weights *l, const duo_tensor *out[DUO_LAYER_MAX_TENSORS]);

/* Parameters (all, and non-embedding: without embed_tokens and lm_head). */
long long model_num_params(const duo_model *m);
long long model_num_params_non_embedding(const duo_model *m);

#endif
