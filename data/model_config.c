/* config.json of a Hugging Face Llama, Mistral, Qwen2/Qwen2.5 or Qwen3 (dense) checkpoint, read with
 * jansson (through data/json.h, so any number Python's json reads loads).
 *
 * Accepts what transformers 4.x writes (rope_theta + rope_scaling {"type"|"rope_type": ...}) and what
 * 5.x writes (rope_parameters {"rope_type", "rope_theta", ...}, "dtype" for "torch_dtype").  Anything
 * the training graph would compute differently (other architectures, MoE, biases other than Qwen2's
 * q/k/v ones, other activations, other rope scalings, sliding-window layers) is refused with an error
 * naming the field. */
#include "data/model_config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json.h"

/* Upper bound for every size field: keeps products of a few of them inside int64. */
#define CONFIG_INT_MAX (1 << 24)

const char *rope_type_name(duo_rope_type t) {
    switch (t) {
    case ROPE_LINEAR: return "linear";
    case ROPE_LLAMA3: return "llama3";
    default: return "default";
    }
}

/* A JSON number that is a whole number (transformers writes ints, but 2048.0 is harmless). */
static int json_whole(const json_t *v, long long *out) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9e15) {
            *out = (long long)d;
            return 1;
        }
    }
    return 0;
}

static int is_absent(const json_t *v) { return v == NULL || json_is_null(v); }

/* An integer field in [lo, CONFIG_INT_MAX]; `def` < 0 means required. */
static int get_int(const json_t *obj, const char *key, int lo, int def, int *out, const char *name, duo_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (is_absent(v)) {
        if (def < 0) return duo_fail(err, "%s: missing field '%s'", name, key);
        *out = def;
        return 0;
    }
    long long x;
    if (!json_whole(v, &x)) {
        if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) /* 1e30, or a huge integer */
            return duo_fail(err, "%s: field '%s' is %g, outside [%d, %d]", name, key, json_real_value(v), lo, CONFIG_INT_MAX);
        return duo_fail(err, "%s: field '%s' must be an integer", name, key);
    }
    if (x < lo || x > CONFIG_INT_MAX)
        return duo_fail(err, "%s: field '%s' is %lld, outside [%d, %d]", name, key, x, lo, CONFIG_INT_MAX);
    *out = (int)x;
    return 0;
}

/* A positive finite number; `required` or else `def`. */
static int get_positive(const json_t *obj, const char *key, int required, double def, double *out, const char *name,
                        duo_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (is_absent(v)) {
        if (required) return duo_fail(err, "%s: missing field '%s'", name, key);
        *out = def;
        return 0;
    }
    if (!json_is_number(v)) return duo_fail(err, "%s: field '%s' must be a number", name, key);
    double d = json_number_value(v);
    if (!(d > 0) || !isfinite(d)) return duo_fail(err, "%s: field '%s' must be positive, got %g", name, key, d);
    *out = d;
    return 0;
}

/* A flag that must be false (or absent) for the model to be supported. */
static int require_false(const json_t *obj, const char *key, const char *why, const char *name, duo_error *err) {
    const json_t *v = json_object_get(obj, key);
    if (is_absent(v) || json_is_false(v)) return 0;
    if (!json_is_boolean(v)) return duo_fail(err, "%s: field '%s' must be true or false", name, key);
    return duo_fail(err, "%s: '%s: true' is not supported (%s)", name, key, why);
}

/* bos/eos: an int, a list of ints (the first is taken: Llama 3.1 lists three eos ids) or null. */
static int get_token_id(const json_t *obj, const char *key, int *out, const char *name, duo_error *err) {
    const json_t *v = json_object_get(obj, key);
    *out = -1;
    if (json_is_array(v)) v = json_array_size(v) ? json_array_get(v, 0) : NULL;
    if (is_absent(v)) return 0;
    long long x;
    if (!json_whole(v, &x) || x < 0 || x > CONFIG_INT_MAX)
        return duo_fail(err, "%s: field '%s' must be a token id (or a list of them)", name, key);
    *out = (int)x;
    return 0;
}

static int get_string(const json_t *obj, const char *key, char *out, size_t cap, const char *name, duo_error *err) {
    const json_t *v = json_object_get(obj, key);
    out[0] = '\0';
    if (is_absent(v)) return 0;
    if (!json_is_string(v)) return duo_fail(err, "%s: field '%s' must be a string", name, key);
    if (strlen(json_string_value(v)) >= cap) return duo_fail(err, "%s: field '%s' is too long", name, key);
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

/* A required positive number inside rope_scaling / rope_parameters, named "field.key" in errors. */
static int rope_number(const json_t *rs, const char *field, const char *key, double *out, const char *name,
                       duo_error *err) {
    const json_t *v = json_object_get(rs, key);
    if (is_absent(v)) return duo_fail(err, "%s: missing field '%s.%s'", name, field, key);
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(d > 0) || !isfinite(d)) return duo_fail(err, "%s: field '%s.%s' must be a positive number", name, field, key);
    *out = d;
    return 0;
}

/* rope_scaling (4.x) or rope_parameters (5.x); `field` names the one being read. */
static int parse_rope(const json_t *rs, const char *field, duo_model_config *cfg, const char *name, duo_error *err) {
    cfg->rope_type = ROPE_DEFAULT;
    cfg->rope_factor = 1.0;
    if (is_absent(rs)) return 0;
    if (!json_is_object(rs)) return duo_fail(err, "%s: field '%s' must be an object or null", name, field);
    const json_t *t = json_object_get(rs, "rope_type");
    if (is_absent(t)) t = json_object_get(rs, "type");
    if (!is_absent(t) && !json_is_string(t))
        return duo_fail(err, "%s: field '%s.rope_type' must be a string", name, field);
    const char *type = json_is_string(t) ? json_string_value(t) : "default";
    if (!strcmp(type, "default")) return 0;
    if (!strcmp(type, "linear")) {
        cfg->rope_type = ROPE_LINEAR;
        return rope_number(rs, field, "factor", &cfg->rope_factor, name, err);
    }
    if (!strcmp(type, "llama3")) {
        cfg->rope_type = ROPE_LLAMA3;
        double orig = 0;
        if (rope_number(rs, field, "factor", &cfg->rope_factor, name, err) ||
            rope_number(rs, field, "low_freq_factor", &cfg->rope_low_freq_factor, name, err) ||
            rope_number(rs, field, "high_freq_factor", &cfg->rope_high_freq_factor, name, err) ||
            rope_number(rs, field, "original_max_position_embeddings", &orig, name, err))
            return -1;
        if (orig != floor(orig) || orig > CONFIG_INT_MAX)
            return duo_fail(err, "%s: field '%s.original_max_position_embeddings' must be an integer", name, field);
        cfg->rope_original_max_position_embeddings = (int)orig;
        if (cfg->rope_high_freq_factor <= cfg->rope_low_freq_factor)
            return duo_fail(err, "%s: %s.high_freq_factor (%g) must exceed low_freq_factor (%g)", name, field,
                            cfg->rope_high_freq_factor, cfg->rope_low_freq_factor);
        return 0;
    }
    return duo_fail(err, "%s: %s type '%s' is not supported (null, linear or llama3)", name, field, type);
}

/* The supported families; `architecture` is what transformers writes in "architectures". */
static const struct {
    const char *model_type, *architecture;
} families[] = {
    {"llama", "LlamaForCausalLM"},
    {"mistral", "MistralForCausalLM"},
    {"qwen2", "Qwen2ForCausalLM"},
    {"qwen3", "Qwen3ForCausalLM"},
};
#define N_FAMILIES (sizeof families / sizeof *families)
#define FAMILY_LIST "llama, mistral, qwen2 or qwen3"
#define ARCH_LIST "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM"

/* Mixture-of-experts relatives of the supported families, refused by name. */
static const char *const moe_types[] = {"mixtral", "qwen2_moe", "qwen3_moe", "qwen3_next", "llama4", "llama4_text",
                                        "deepseek_v2", "deepseek_v3", "dbrx", "jamba", "olmoe", "granitemoe"};

static int is_supported_architecture(const char *a) {
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (!strcmp(a, families[i].architecture)) return 1;
    return 0;
}

static int is_supported_model_type(const char *t) {
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (!strcmp(t, families[i].model_type)) return 1;
    return 0;
}

/* layer_types (transformers >= 4.53): every layer must use full attention. */
static int check_layer_types(const json_t *root, const char *name, duo_error *err) {
    const json_t *lt = json_object_get(root, "layer_types");
    if (is_absent(lt)) return 0;
    if (!json_is_array(lt)) return duo_fail(err, "%s: field 'layer_types' must be a list", name);
    for (size_t i = 0; i < json_array_size(lt); i++) {
        const char *s = json_string_value(json_array_get(lt, i));
        if (!s) return duo_fail(err, "%s: field 'layer_types' must list strings", name);
        if (strcmp(s, "full_attention"))
            return duo_fail(err, "%s: layer_types[%zu] is '%s': only full-attention layers are supported", name, i, s);
    }
    return 0;
}

/* The Qwen-specific keys: sliding windows off, q/k/v biases (qwen2) or q/k norms (qwen3). */
static int parse_qwen(const json_t *root, duo_model_config *cfg, const char *name, duo_error *err) {
    if (require_false(root, "use_sliding_window", "sliding-window attention layers", name, err) ||
        check_layer_types(root, name, err))
        return -1;
    if (!strcmp(cfg->model_type, "qwen2")) {
        /* Qwen2Attention always builds q/k/v with bias and o_proj without; a config key changes nothing. */
        cfg->attention_bias = 1;
    } else {
        if (require_false(root, "attention_bias", "Qwen3 with attention_bias would bias o_proj too", name, err))
            return -1;
        cfg->qk_norm = 1;
    }
    return 0;
}

static int parse_object(const json_t *root, const char *name, duo_model_config *cfg, duo_error *err) {
    memset(cfg, 0, sizeof *cfg);
    if (!json_is_object(root)) return duo_fail(err, "%s: not a JSON object", name);

    if (get_string(root, "model_type", cfg->model_type, sizeof cfg->model_type, name, err)) return -1;
    if (!cfg->model_type[0]) return duo_fail(err, "%s: missing field 'model_type'", name);
    for (size_t i = 0; i < sizeof moe_types / sizeof *moe_types; i++)
        if (!strcmp(cfg->model_type, moe_types[i]))
            return duo_fail(err, "%s: model_type '%s' is a mixture-of-experts model, which is not supported (" FAMILY_LIST ")",
                            name, cfg->model_type);
    if (!is_supported_model_type(cfg->model_type))
        return duo_fail(err, "%s: model_type '%s' is not supported (" FAMILY_LIST ")", name, cfg->model_type);
    int qwen = !strncmp(cfg->model_type, "qwen", 4);

    const json_t *archs = json_object_get(root, "architectures");
    if (!is_absent(archs)) {
        if (!json_is_array(archs)) return duo_fail(err, "%s: field 'architectures' must be a list", name);
        for (size_t i = 0; i < json_array_size(archs); i++) {
            const json_t *a = json_array_get(archs, i);
            if (!json_is_string(a)) return duo_fail(err, "%s: field 'architectures' must list strings", name);
            if (!is_supported_architecture(json_string_value(a)))
                return duo_fail(err, "%s: architectures '%s' is not supported (" ARCH_LIST ")", name,
                                json_string_value(a));
            if (i == 0) snprintf(cfg->architecture, sizeof cfg->architecture, "%s", json_string_value(a));
        }
    }

    /* Mixture-of-experts configs (Mixtral and friends) carry expert counts. */
    static const char *const moe_keys[] = {"num_local_experts", "num_experts", "num_experts_per_tok", "moe_intermediate_size"};
    for (size_t i = 0; i < sizeof moe_keys / sizeof *moe_keys; i++) {
        const json_t *v = json_object_get(root, moe_keys[i]);
        long long x;
        if (!is_absent(v) && !(json_whole(v, &x) && x == 0))
            return duo_fail(err, "%s: '%s' is set: mixture-of-experts models are not supported", name, moe_keys[i]);
    }
    if (qwen ? parse_qwen(root, cfg, name, err)
             : require_false(root, "attention_bias", "q/k/v/o projections without bias only", name, err))
        return -1;
    if (require_false(root, "mlp_bias", "MLP projections without bias only", name, err)) return -1;
    char act[32];
    if (get_string(root, "hidden_act", act, sizeof act, name, err)) return -1;
    if (act[0] && strcmp(act, "silu"))
        return duo_fail(err, "%s: hidden_act '%s' is not supported (silu only)", name, act);

    if (get_int(root, "hidden_size", 1, -1, &cfg->hidden_size, name, err) ||
        get_int(root, "intermediate_size", 1, -1, &cfg->intermediate_size, name, err) ||
        get_int(root, "num_hidden_layers", 1, -1, &cfg->num_hidden_layers, name, err) ||
        get_int(root, "num_attention_heads", 1, -1, &cfg->num_attention_heads, name, err) ||
        get_int(root, "num_key_value_heads", 1, cfg->num_attention_heads, &cfg->num_key_value_heads, name, err) ||
        get_int(root, "vocab_size", 1, -1, &cfg->vocab_size, name, err) ||
        get_int(root, "max_position_embeddings", 1, 2048, &cfg->max_position_embeddings, name, err))
        return -1;
    if (cfg->num_attention_heads % cfg->num_key_value_heads)
        return duo_fail(err, "%s: num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)", name,
                        cfg->num_attention_heads, cfg->num_key_value_heads);
    if (is_absent(json_object_get(root, "head_dim")) && !strcmp(cfg->model_type, "qwen3")) {
        cfg->head_dim = 128; /* Qwen3Config's default, not hidden/heads */
        cfg->head_dim_defaulted = 1;
    } else if (is_absent(json_object_get(root, "head_dim"))) {
        if (cfg->hidden_size % cfg->num_attention_heads)
            return duo_fail(err, "%s: hidden_size (%d) is not a multiple of num_attention_heads (%d) and no head_dim is given",
                            name, cfg->hidden_size, cfg->num_attention_heads);
        cfg->head_dim = cfg->hidden_size / cfg->num_attention_heads;
        cfg->head_dim_defaulted = 2;
    } else if (get_int(root, "head_dim", 1, -1, &cfg->head_dim, name, err)) {
        return -1;
    }
    if (cfg->head_dim % 2) return duo_fail(err, "%s: head_dim %d is odd (rotary embeddings need pairs)", name, cfg->head_dim);

    if (get_positive(root, "rms_norm_eps", 0, 1e-6, &cfg->rms_norm_eps, name, err)) return -1;
    const json_t *params = json_object_get(root, "rope_parameters");
    if (!is_absent(params)) {
        if (parse_rope(params, "rope_parameters", cfg, name, err) ||
            get_positive(params, "rope_theta", 0, 10000.0, &cfg->rope_theta, name, err))
            return -1;
    } else if (parse_rope(json_object_get(root, "rope_scaling"), "rope_scaling", cfg, name, err) ||
               get_positive(root, "rope_theta", 0, 10000.0, &cfg->rope_theta, name, err)) {
        return -1;
    }

    const json_t *tie = json_object_get(root, "tie_word_embeddings");
    if (!is_absent(tie) && !json_is_boolean(tie))
        return duo_fail(err, "%s: field 'tie_word_embeddings' must be true or false", name);
    cfg->tie_word_embeddings = json_is_true(tie);
    if (get_token_id(root, "bos_token_id", &cfg->bos_token_id, name, err) ||
        get_token_id(root, "eos_token_id", &cfg->eos_token_id, name, err) ||
        get_int(root, "sliding_window", 0, 0, &cfg->sliding_window, name, err))
        return -1;
    if (qwen) cfg->sliding_window = 0; /* present in Qwen configs but unused: use_sliding_window is false */
    if (get_string(root, "torch_dtype", cfg->torch_dtype, sizeof cfg->torch_dtype, name, err)) return -1;
    if (!cfg->torch_dtype[0] && get_string(root, "dtype", cfg->torch_dtype, sizeof cfg->torch_dtype, name, err))
        return -1;
    return 0;
}

int model_config_parse(const char *json, size_t len, const char *name, duo_model_config *cfg, duo_error *err) {
    json_error_t jerr;
    json_t *root = duo_json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        memset(cfg, 0, sizeof *cfg);
        return duo_fail(err, "%s: not valid JSON (line %d, column %d): %s", name, jerr.line, jerr.column, jerr.text);
    }
    int rc = parse_object(root, name, cfg, err);
    json_decref(root);
    return rc;
}

int model_config_load(const char *path, duo_model_config *cfg, duo_error *err) {
    size_t len;
    char *text = file_read_all(path, &len, err);
    if (!text) {
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    int rc = model_config_parse(text, len, path, cfg, err);
    free(text);
    return rc;
}
