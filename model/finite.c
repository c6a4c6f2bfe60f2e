#include "model/finite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

long finite_first_bad(const void *buf, size_t n, size_t elem_size) {
    if (elem_size == sizeof(float)) {
        const float *f = buf;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(f[i])) return (long)i;
    } else {
        const double *d = buf;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(d[i])) return (long)i;
    }
    return -1;
}

/* 1 when t holds a non-finite value; *at and *value get the first. */
static int tensor_bad(const duo_tensor *t, size_t *at, float *value) {
    enum { CHUNK = 4096 };
    float buf[CHUNK];
    size_t n = tensor_numel(t);
    for (size_t s = 0; s < n; s += CHUNK) {
        size_t k = n - s < CHUNK ? n - s : CHUNK;
        tensor_to_f32(t, s, k, buf);
        long bad = finite_first_bad(buf, k, sizeof(float));
        if (bad >= 0) {
            *at = s + (size_t)bad;
            *value = buf[bad];
            return 1;
        }
    }
    return 0;
}

int finite_weights_of(const duo_model *m, int layer, char *out, size_t cap) {
    const duo_tensor *ts[DUO_LAYER_MAX_TENSORS];
    int n = 0;
    if (layer < 0) ts[n++] = m->embed_tokens;
    else if (layer >= m->cfg.num_hidden_layers) {
        ts[n++] = m->norm;
        ts[n++] = m->lm_head;
    } else n = model_layer_tensors(&m->layers[layer], ts);
    for (int i = 0; i < n; i++) {
        size_t at;
        float v;
        if (ts[i] && tensor_bad(ts[i], &at, &v)) {
            snprintf(out, cap, "%s holds %s at element %zu", ts[i]->name, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf",
                     at);
            return 1;
        }
    }
    return 0;
}
