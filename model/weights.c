#include "model/weights.h"

#include <stddef.h>
#include <stdlib.h>

#include "kernels/backend.h"

/* The per-layer tensors, checkpoint field -> backend field; the optional ones (NULL in the checkpoint's
 * layers where the architecture has none) stay NULL here too. */
static const struct {
    size_t src, dst;
} LAYER_FIELDS[] = {
    {offsetof(duo_layer_weights, input_layernorm), offsetof(duo_layer_dev, in_norm)},
    {offsetof(duo_layer_weights, q_proj), offsetof(duo_layer_dev, wq)},
    {offsetof(duo_layer_weights, k_proj), offsetof(duo_layer_dev, wk)},
    {offsetof(duo_layer_weights, v_proj), offsetof(duo_layer_dev, wv)},
    {offsetof(duo_layer_weights, o_proj), offsetof(duo_layer_dev, wo)},
    {offsetof(duo_layer_weights, post_attention_layernorm), offsetof(duo_layer_dev, post_norm)},
    {offsetof(duo_layer_weights, gate_proj), offsetof(duo_layer_dev, wg)},
    {offsetof(duo_layer_weights, up_proj), offsetof(duo_layer_dev, wu)},
    {offsetof(duo_layer_weights, down_proj), offsetof(duo_layer_dev, wd)},
    {offsetof(duo_layer_weights, q_bias), offsetof(duo_layer_dev, bq)},
    {offsetof(duo_layer_weights, k_bias), offsetof(duo_layer_dev, bk)},
    {offsetof(duo_layer_weights, v_bias), offsetof(duo_layer_dev, bv)},
    {offsetof(duo_layer_weights, q_norm), offsetof(duo_layer_dev, q_norm)},
    {offsetof(duo_layer_weights, k_norm), offsetof(duo_layer_dev, k_norm)},
};
#define NUM_LAYER_FIELDS (sizeof LAYER_FIELDS / sizeof *LAYER_FIELDS)

struct duo_weights {
    const duo_model *m;
    duo_backend *be;
    int resident;         /* every layer held */
    duo_layer_dev *slots; /* num_layers when resident, else 1 */
    int *held;            /* which layer each slot holds (-1: none) */
    void *final_norm;     /* [hidden] */
    void *lm_head;        /* [vocab][hidden] or NULL until asked for */
    size_t bytes;
};

static const duo_tensor *src_tensor(const duo_layer_weights *lw, size_t k) {
    return *(const duo_tensor *const *)((const char *)lw + LAYER_FIELDS[k].src);
}
static void **dst_field(duo_layer_dev *d, size_t k) { return (void **)((char *)d + LAYER_FIELDS[k].dst); }

static void *load_whole(duo_weights *w, const duo_tensor *t) {
    size_t count = tensor_numel(t);
    void *buf = w->be->ops->alloc(w->be, count * w->be->weight_size);
    if (!buf) return NULL;
    w->be->ops->load_tensor(w->be, t, 0, count, buf);
    w->bytes += count * w->be->weight_size;
    return buf;
}

duo_weights *weights_create(const duo_model *m, duo_backend *be, int keep_all, duo_error *err) {
    duo_weights *w = calloc(1, sizeof *w);
    if (!w) {
        duo_fail(err, "out of memory");
        return NULL;
    }
    w->m = m;
    w->be = be;
    w->resident = be->weights_resident || keep_all;
    int nslots = w->resident ? m->cfg.num_hidden_layers : 1;
    w->slots = calloc((size_t)nslots, sizeof *w->slots);
    w->held = malloc((size_t)nslots * sizeof *w->held);
    if (!w->slots || !w->held) {
        weights_free(w);
        duo_fail(err, "out of memory");
        return NULL;
    }
    for (int s = 0; s < nslots; s++) {
        w->held[s] = -1;
        for (size_t k = 0; k < NUM_LAYER_FIELDS; k++) {
            /* every layer has the same shapes: size the slot by layer 0 */
            const duo_tensor *t = src_tensor(&m->layers[0], k);
            if (!t) continue;
            void *buf = be->ops->alloc(be, tensor_numel(t) * be->weight_size);
            *dst_field(&w->slots[s], k) = buf;
            if (!buf) break;
            w->bytes += tensor_numel(t) * be->weight_size;
        }
    }
    w->final_norm = load_whole(w, m->norm);
    if (backend_check(be, err)) {
        duo_error_prefix(err, "%s: weights", m->dir);
        weights_free(w);
        return NULL;
    }
    return w;
}

const duo_layer_dev *weights_layer(duo_weights *w, int l, duo_error *err) {
    int s = w->resident ? l : 0;
    if (w->held[s] == l) return &w->slots[s];
    const duo_layer_weights *lw = &w->m->layers[l];
    for (size_t k = 0; k < NUM_LAYER_FIELDS; k++) {
        const duo_tensor *t = src_tensor(lw, k), *t0 = src_tensor(&w->m->layers[0], k);
        if (!t && !t0) continue;
        if (!t || !t0 || tensor_numel(t) != tensor_numel(t0)) {
            w->held[s] = -1;
            if (!t || !t0)
                return duo_fail(err, "%s: layer %d lacks a tensor that layer 0 has, or has one layer 0 lacks", w->m->dir, l),
                       NULL;
            w->held[s] = -1;
            return duo_fail(err, "%s: layer %d: tensor %s has %zu elements, layer 0's has %zu", w->m->dir, l, t->name,
                            tensor_numel(t), tensor_numel(t0)),
                   NULL;
        }
        w->be->ops->load_tensor(w->be, t, 0, tensor_numel(t), *dst_field(&w->slots[s], k));
    }
    if (backend_check(w->be, err)) {
        w->held[s] = -1;
        duo_error_prefix(err, "%s: layer %d", w->m->dir, l);
        return NULL;
    }
    w->held[s] = l;
    return &w->slots[s];
}

const void *weights_final_norm(const duo_weights *w) { return w->final_norm; }

const void *weights_lm_head(duo_weights *w, duo_error *err) {
    if (!w->lm_head) {
        w->lm_head = load_whole(w, w->m->lm_head);
        if (backend_check(w->be, err)) {
            duo_error_prefix(err, "%s: lm_head", w->m->dir);
            return NULL;
        }
    }
    return w->lm_head;
}

size_t weights_bytes(const duo_weights *w) { return w->bytes; }

void weights_free(duo_weights *w) {
    if (!w) return;
    int nslots = w->resident ? w->m->cfg.num_hidden_layers : 1;
    for (int s = 0; w->slots && s < nslots; s++)
        for (size_t k = 0; k < NUM_LAYER_FIELDS; k++) w->be->ops->free(w->be, *dst_field(&w->slots[s], k));
    w->be->ops->free(w->be, w->final_norm);
    w->be->ops->free(w->be, w->lm_head);
    free(w->slots);
    free(w->held);
    free(w);
}
