/* Random Llama weights: every tensor is a duo_tensor over a malloc'd buffer filled by a host generator,
 * or (random_model_create_device) a tensor without host data that the CUDA backend's load_tensor fills
 * on the device from the tensor's seed, offset and amplitude (an 8B model's 16 GB never exist on the
 * host). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/random_model.h"

/* A tensor and the parameters it was (or is to be) generated from; t first, so a duo_tensor pointer of a
 * device-generated tensor leads back to its spec. */
typedef struct {
    duo_tensor t;
    duo_random_spec spec;
} random_tensor;

typedef struct {
    random_tensor *tensors; /* owned; host data freed per tensor */
    size_t count;
} random_store;

/* The file name of device-generated tensors: compared by address, so no checkpoint can forge it. */
static const char RANDOM_DEVICE_FILE[] = "(random, generated on the device)";

int random_tensor_spec(const duo_tensor *t, duo_random_spec *spec) {
    if (!t || t->data || t->file != RANDOM_DEVICE_FILE) return 0;
    *spec = ((const random_tensor *)(const void *)t)->spec;
    return 1;
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7FFF + ((u >> 16) & 1); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

/* Fills t (count elements of dtype) with offset + uniform(-amp, amp); the stream depends on seed only.
 * on_device: no host data, only the spec (the backend generates the values). */
static int fill(random_tensor *rt, int on_device, duo_dtype dtype, const char *name, int64_t d0, int64_t d1,
                uint64_t seed, double offset, double amp) {
    duo_tensor *t = &rt->t;
    size_t count = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    size_t esz = dtype == DUO_F32 ? 4 : 2;
    rt->spec.seed = seed;
    rt->spec.offset = offset;
    rt->spec.amp = amp;
    t->name = name;
    t->dtype = dtype;
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->nbytes = count * esz;
    if (on_device) {
        t->data = NULL;
        t->file = RANDOM_DEVICE_FILE;
        return 0;
    }
    void *data = malloc(count * esz);
    if (!data) return -1;
#pragma omp parallel for schedule(static)
    for (size_t blk = 0; blk < (count + 4095) / 4096; blk++) {
        uint64_t s = seed * 0x100000001B3ull + blk;
        size_t end = (blk + 1) * 4096 < count ? (blk + 1) * 4096 : count;
        for (size_t i = blk * 4096; i < end; i++) {
            double u = (double)(splitmix(&s) >> 11) * (1.0 / 9007199254740992.0); /* [0,1) */
            float v = (float)(offset + amp * (2 * u - 1));
            if (dtype == DUO_F32) ((float *)data)[i] = v;
            else ((uint16_t *)data)[i] = f32_to_bf16(v);
        }
    }
    t->data = data;
    t->file = "(random)";
    return 0;
}

static int create(const duo_model_config *cfg, duo_dtype dtype, uint64_t seed, double scale, int on_device,
                  duo_model *m, duo_error *err) {
    if (dtype == DUO_F16) return duo_fail(err, "random models are f32 or bf16");
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (m->cfg.head_dim <= 0 && cfg->num_attention_heads > 0) m->cfg.head_dim = cfg->hidden_size / cfg->num_attention_heads;
    snprintf(m->dir, sizeof m->dir, "(random model)");
    snprintf(m->name, sizeof m->name, "random");
    const duo_model_config *c = &m->cfg;
    int L = c->num_hidden_layers;
    int64_t h = c->hidden_size, q = (int64_t)c->num_attention_heads * c->head_dim,
            kv = (int64_t)c->num_key_value_heads * c->head_dim, inter = c->intermediate_size;
    random_store *st = calloc(1, sizeof *st);
    size_t ntensors = 3 + 9 * (size_t)L;
    m->layers = calloc((size_t)(L > 0 ? L : 1), sizeof *m->layers);
    if (st) st->tensors = calloc(ntensors, sizeof *st->tensors);
    if (!st || !m->layers || !st->tensors) {
        free(st ? st->tensors : NULL);
        free(st);
        free(m->layers);
        m->layers = NULL;
        return duo_fail(err, "out of memory");
    }
    m->ckpt = (duo_checkpoint *)(void *)st; /* owned store; random_model_free releases it */
    double ah = scale * sqrt(3.0 / (double)h), aq = scale * sqrt(3.0 / (double)q), ai = scale * sqrt(3.0 / (double)inter);
    uint64_t k = seed * 1000003u;
    int bad = 0;
#define NEXT(name, d0, d1, off, amp) \
    (bad |= fill(&st->tensors[st->count], on_device, dtype, name, d0, d1, ++k, off, amp), &st->tensors[st->count++].t)
    m->embed_tokens = NEXT("model.embed_tokens.weight", c->vocab_size, h, 0, 1.0);
    m->norm = NEXT("model.norm.weight", h, 0, 1.0, 0.1);
    m->lm_head = c->tie_word_embeddings ? m->embed_tokens : NEXT("lm_head.weight", c->vocab_size, h, 0, ah);
    for (int l = 0; l < L && !bad; l++) {
        duo_layer_weights *w = &m->layers[l];
        w->input_layernorm = NEXT("input_layernorm", h, 0, 1.0, 0.1);
        w->q_proj = NEXT("q_proj", q, h, 0, ah);
        w->k_proj = NEXT("k_proj", kv, h, 0, ah);
        w->v_proj = NEXT("v_proj", kv, h, 0, ah);
        w->o_proj = NEXT("o_proj", h, q, 0, aq);
        w->post_attention_layernorm = NEXT("post_attention_layernorm", h, 0, 1.0, 0.1);
        w->gate_proj = NEXT("gate_proj", inter, h, 0, ah);
        w->up_proj = NEXT("up_proj", inter, h, 0, ah);
        w->down_proj = NEXT("down_proj", h, inter, 0, ai);
    }
#undef NEXT
    if (bad) {
        random_model_free(m);
        return duo_fail(err, "out of memory for random weights");
    }
    return 0;
}

int random_model_create(const duo_model_config *cfg, duo_dtype dtype, uint64_t seed, double scale,
                        duo_model *m, duo_error *err) {
    return create(cfg, dtype, seed, scale, 0, m, err);
}

int random_model_create_device(const duo_model_config *cfg, duo_dtype dtype, uint64_t seed, double scale,
                               duo_model *m, duo_error *err) {
    return create(cfg, dtype, seed, scale, 1, m, err);
}

void random_model_free(duo_model *m) {
    random_store *st = (random_store *)(void *)m->ckpt;
    if (st) {
        for (size_t i = 0; i < st->count; i++) free((void *)st->tensors[i].t.data);
        free(st->tensors);
        free(st);
    }
    free(m->layers);
    memset(m, 0, sizeof *m);
}
