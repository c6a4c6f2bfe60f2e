/* config.json of a Hugging Face Llama, Mistral, Qwen2 (Qwen2.5) or Qwen3 (dense) checkpoint. */
#ifndef DUO_DATA_MODEL_CONFIG_H
#define DUO_DATA_MODEL_CONFIG_H

#include <stddef.h>

#include "data/error.h"

typedef enum { ROPE_DEFAULT = 0, ROPE_LINEAR, ROPE_LLAMA3 } duo_rope_type;

typedef struct {
    char model_type[32]; /* "llama", "mistral", "qwen2" or "qwen3" */
    int hidden_size, intermediate_size, num_hidden_layers;
    int num_attention_heads, num_key_value_heads, head_dim; /* head_dim explicit or hidden/heads */
    int head_dim_defaulted;  /* config.json has no head_dim: 1 Qwen3's default 128, 2 hidden / heads (named in
                                the error a wrong default explains) */
    int vocab_size, max_position_embeddings;
    double rms_norm_eps, rope_theta;
    duo_rope_type rope_type; /* from rope_scaling (null -> default) */
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_position_embeddings;
    int tie_word_embeddings;
    int bos_token_id, eos_token_id; /* -1 where absent */
    int sliding_window;             /* 0 where null/absent (and for qwen2/qwen3, whose use_sliding_window
                                       must be false); ignored for training */
    /* What the layers compute beyond Llama's (both 0 for llama and mistral): */
    int attention_bias; /* q_proj, k_proj and v_proj add a bias (never o_proj, never the MLP): always for
                           qwen2 (transformers' Qwen2Attention has no switch), never for qwen3 (whose
                           attention_bias: true would bias o_proj too, and is refused) */
    int qk_norm;        /* qwen3: after the q/k projections and before RoPE, every query head and every key
                           head (head_dim values) goes through RMSNorm with weight q_norm / k_norm
                           [head_dim] and eps rms_norm_eps */
    char torch_dtype[16];
    char architecture[64]; /* architectures[0], e.g. "LlamaForCausalLM"; "" where absent */
} duo_model_config;

int model_config_load(const char *config_json_path, duo_model_config *cfg, duo_error *err);

/* The same from a buffer (need not be NUL-terminated); `name` is used in error messages. */
int model_config_parse(const char *json, size_t len, const char *name, duo_model_config *cfg, duo_error *err);

/* "default", "linear" or "llama3". */
const char *rope_type_name(duo_rope_type t);

#endif
