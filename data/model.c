/* A Llama/Mistral/Qwen2/Qwen3 checkpoint opened for compute: config.json + memory-mapped safetensors,
 * with every tensor the graph reads checked for presence and shape (Qwen2's q/k/v biases and Qwen3's
 * q/k norms included, when the config calls for them).  Extra tensors (rotary inv_freq of old
 * checkpoints, biases a Llama config does not ask for, ...) are ignored, as transformers ignores them. */
#include "data/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "data/fileio.h"

static void format_shape(char *out, size_t cap, const int64_t *shape, int ndim) {
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++) n += (size_t)snprintf(out + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap) snprintf(out + n, cap - n, "]");
}

/* Finds `name` and checks its shape is [d0] (d1 == 0) or [d0, d1]. */
static const duo_tensor *expect(const duo_model *m, const char *name, int64_t d0, int64_t d1, duo_error *err) {
    const duo_tensor *t = checkpoint_find(m->ckpt, name);
    if (!t) {
        duo_fail(err, "%s: tensor '%s' is missing from the checkpoint", m->dir, name);
        return NULL;
    }
    int64_t want[2] = {d0, d1};
    int ndim = d1 ? 2 : 1;
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == want[i];
    if (!ok) {
        char found[96], expected[64];
        format_shape(found, sizeof found, t->shape, t->ndim);
        format_shape(expected, sizeof expected, want, ndim);
        char note[160] = ""; /* the default a wrong shape most often comes from */
        const duo_model_config *c = &m->cfg;
        if (!strstr(name, "self_attn")) {
        } else if (c->head_dim_defaulted == 1)
            snprintf(note, sizeof note, " (config.json has no head_dim: it defaults to 128 for qwen3)");
        else if (c->head_dim_defaulted == 2)
            snprintf(note, sizeof note, " (config.json has no head_dim: it defaults to hidden_size / num_attention_heads "
                                        "= %d)", c->head_dim);
        duo_fail(err, "%s: tensor '%s' has shape %s, expected %s from config.json%s", t->file, name, found, expected,
                 note);
        return NULL;
    }
    return t;
}

static int find_layer(duo_model *m, int i, duo_error *err) {
    const duo_model_config *c = &m->cfg;
    int64_t h = c->hidden_size, q = (int64_t)c->num_attention_heads * c->head_dim,
            kv = (int64_t)c->num_key_value_heads * c->head_dim, inter = c->intermediate_size;
    duo_layer_weights *l = &m->layers[i];
    char name[128];
#define LAYER_TENSOR_KIND(field, suffix, kind, d0, d1)                              \
    snprintf(name, sizeof name, "model.layers.%d.%s.%s", i, suffix, kind);          \
    if (!(l->field = expect(m, name, d0, d1, err))) return -1;
#define LAYER_TENSOR(field, suffix, d0, d1) LAYER_TENSOR_KIND(field, suffix, "weight", d0, d1)
    LAYER_TENSOR(input_layernorm, "input_layernorm", h, 0)
    LAYER_TENSOR(q_proj, "self_attn.q_proj", q, h)
    LAYER_TENSOR(k_proj, "self_attn.k_proj", kv, h)
    LAYER_TENSOR(v_proj, "self_attn.v_proj", kv, h)
    LAYER_TENSOR(o_proj, "self_attn.o_proj", h, q)
    LAYER_TENSOR(post_attention_layernorm, "post_attention_layernorm", h, 0)
    LAYER_TENSOR(gate_proj, "mlp.gate_proj", inter, h)
    LAYER_TENSOR(up_proj, "mlp.up_proj", inter, h)
    LAYER_TENSOR(down_proj, "mlp.down_proj", h, inter)
    if (c->attention_bias) {
        LAYER_TENSOR_KIND(q_bias, "self_attn.q_proj", "bias", q, 0)
        LAYER_TENSOR_KIND(k_bias, "self_attn.k_proj", "bias", kv, 0)
        LAYER_TENSOR_KIND(v_bias, "self_attn.v_proj", "bias", kv, 0)
    }
    if (c->qk_norm) {
        LAYER_TENSOR(q_norm, "self_attn.q_norm", c->head_dim, 0)
        LAYER_TENSOR(k_norm, "self_attn.k_norm", c->head_dim, 0)
    }
#undef LAYER_TENSOR
#undef LAYER_TENSOR_KIND
    return 0;
}

/* The layer index of a "model.layers.<i>." tensor name, or -1 for any other name. */
static long long layer_of(const char *name) {
    static const char prefix[] = "model.layers.";
    if (strncmp(name, prefix, sizeof prefix - 1)) return -1;
    const char *p = name + sizeof prefix - 1;
    long long i = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((i = i * 10 + (*p - '0')) > (1LL << 40)) return 1LL << 40;  /* absurd: far beyond any config */
    return *p == '.' ? i : -1;
}

/* A checkpoint with layers the config does not have is another (bigger) model: training it as the
 * config says would find the heads of its first layers only, silently.  Names the lowest such layer's
 * first tensor (by name). */
static int check_no_extra_layers(const duo_model *m, duo_error *err) {
    const duo_tensor *first = NULL;
    long long first_layer = -1;
    for (size_t k = 0; k < checkpoint_num_tensors(m->ckpt); k++) {
        const duo_tensor *t = checkpoint_tensor(m->ckpt, k);
        long long l = layer_of(t->name);
        if (l < m->cfg.num_hidden_layers) continue;
        if (!first || l < first_layer || (l == first_layer && strcmp(t->name, first->name) < 0)) {
            first = t;
            first_layer = l;
        }
    }
    if (!first) return 0;
    return duo_fail(err,
                    "%s: tensor '%s' is of layer %lld, but config.json has num_hidden_layers %d: the config does "
                    "not describe this checkpoint",
                    first->file, first->name, first_layer, m->cfg.num_hidden_layers);
}

/* The folder's last component ("tiny-llama" for "tests/fixtures/tiny-llama/"); for "." or ".." the
 * name of the folder they stand for. */
static void base_name(char *out, size_t cap, const char *dir) {
    char *real = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t end = strlen(dir);
        while (end > 1 && dir[end - 1] == '/') end--;
        size_t start = end;
        while (start > 0 && dir[start - 1] != '/') start--;
        int dots = (end - start == 1 && dir[start] == '.') || (end - start == 2 && !strncmp(dir + start, "..", 2));
        if (pass == 0 && dots && (real = realpath(dir, NULL))) {
            dir = real;
            continue;
        }
        snprintf(out, cap, "%.*s", (int)(end - start), dir + start);
        break;
    }
    free(real);
}

int model_open(const char *dir, duo_model *m, duo_error *err) {
    memset(m, 0, sizeof *m);
    if (strlen(dir) >= sizeof m->dir) return duo_fail(err, "%s: model path too long: %s", dir, strerror(ENAMETOOLONG));
    if (!path_is_dir(dir)) return duo_fail(err, "%s: not a model folder (config.json + safetensors)", dir);
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    base_name(m->name, sizeof m->name, dir);

    char path[2048];
    path_join(path, sizeof path, dir, "config.json");
    if (model_config_load(path, &m->cfg, err)) return -1;
    if (!(m->ckpt = checkpoint_open(dir, err))) return -1;

    const duo_model_config *c = &m->cfg;
    m->layers = calloc((size_t)c->num_hidden_layers, sizeof *m->layers);
    if (!m->layers) {
        duo_fail(err, "%s: out of memory for %d layers", dir, c->num_hidden_layers);
        goto fail;
    }
    if (!(m->embed_tokens = expect(m, "model.embed_tokens.weight", c->vocab_size, c->hidden_size, err))) goto fail;
    for (int i = 0; i < c->num_hidden_layers; i++)
        if (find_layer(m, i, err)) goto fail;
    if (check_no_extra_layers(m, err)) goto fail;
    if (!(m->norm = expect(m, "model.norm.weight", c->hidden_size, 0, err))) goto fail;
    /* Tied checkpoints normally omit lm_head.weight; when one is stored anyway, transformers ties it
     * to the embedding regardless, and so do we. */
    if (c->tie_word_embeddings) {
        m->lm_head = m->embed_tokens;
    } else if (!checkpoint_find(m->ckpt, "lm_head.weight")) {
        duo_fail(err, "%s: tensor 'lm_head.weight' is missing from the checkpoint (config.json has tie_word_embeddings false)",
                 dir);
        goto fail;
    } else if (!(m->lm_head = expect(m, "lm_head.weight", c->vocab_size, c->hidden_size, err))) {
        goto fail;
    }
    return 0;
fail:
    model_close(m);
    return -1;
}

void model_close(duo_model *m) {
    checkpoint_close(m->ckpt);
    free(m->layers);
    m->ckpt = NULL;
    m->layers = NULL;
    m->embed_tokens = m->norm = m->lm_head = NULL;
}

static long long numel(const duo_tensor *t) { return (long long)tensor_numel(t); }

int model_layer_tensors(const duo_layer_weights *l, const duo_tensor *out[DUO_LAYER_MAX_TENSORS]) {
    const duo_tensor *all[DUO_LAYER_MAX_TENSORS] = {l->input_layernorm, l->q_proj, l->k_proj, l->v_proj, l->o_proj,
                                                    l->post_attention_layernorm, l->gate_proj, l->up_proj, l->down_proj,
                                                    l->q_bias, l->k_bias, l->v_bias, l->q_norm, l->k_norm};
    int n = 0;
    for (int k = 0; k < DUO_LAYER_MAX_TENSORS; k++)
        if (all[k]) out[n++] = all[k];
    return n;
}

long long model_num_params_non_embedding(const duo_model *m) {
    long long n = numel(m->norm);
    for (int i = 0; i < m->cfg.num_hidden_layers; i++) {
        const duo_tensor *ts[DUO_LAYER_MAX_TENSORS];
        int k = model_layer_tensors(&m->layers[i], ts);
        while (k--) n += numel(ts[k]);
    }
    return n;
}

long long model_num_params(const duo_model *m) {
    long long n = model_num_params_non_embedding(m) + numel(m->embed_tokens);
    if (m->lm_head != m->embed_tokens) n += numel(m->lm_head);
    return n;
}
