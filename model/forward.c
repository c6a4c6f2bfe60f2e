/* The plain forward pass (the teacher alone) on the op interface, for checking the numerics against
 * Hugging Face transformers: full attention on every layer, hidden states and logits copied out. */
#include "model/forward.h"

#include <stdlib.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/layer.h"
#include "model/rope_freq.h"
#include "model/weights.h"

/* Backend buffers of one pass over n positions. */
typedef struct {
    void *cos_t, *sin_t; /* [n][hd/2] */
    void *x;             /* [n][d] residual stream */
    duo_full_bufs b;     /* layer scratch */
    void *logits;        /* [n][vocab] */
    int32_t *pos, *ids;  /* [n] */
} fwd_bufs;

static void fwd_free(duo_backend *be, fwd_bufs *f) {
    void *all[] = {f->cos_t, f->sin_t, f->x, f->b.h, f->b.q, f->b.k, f->b.v, f->b.a, f->b.g, f->b.u, f->logits, f->pos,
                   f->ids};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) be->ops->free(be, all[i]);
}

static int run(const duo_model *m, duo_backend *be, const int32_t *ids, size_t n, float *hidden, float *logits,
               duo_error *err) {
    duo_dims dm;
    if (dims_of(m, &dm, err)) return -1;
    if (dims_check_ids(&dm, ids, n, err)) return -1;
    const duo_ops *op = be->ops;
    size_t a = be->act_size, d = (size_t)dm.d, mlp = n < DUO_MLP_CHUNK ? n : DUO_MLP_CHUNK;
    fwd_bufs f = {0};
    f.cos_t = op->alloc(be, n * (size_t)(dm.hd / 2) * a);
    f.sin_t = op->alloc(be, n * (size_t)(dm.hd / 2) * a);
    f.x = op->alloc(be, n * d * a);
    f.b.h = op->alloc(be, n * d * a);
    f.b.q = op->alloc(be, n * (size_t)dm.qdim * a);
    f.b.k = op->alloc(be, n * (size_t)dm.kvdim * a);
    f.b.v = op->alloc(be, n * (size_t)dm.kvdim * a);
    f.b.a = op->alloc(be, n * (size_t)dm.qdim * a);
    f.b.g = op->alloc(be, mlp * (size_t)dm.inter * a);
    f.b.u = op->alloc(be, mlp * (size_t)dm.inter * a);
    f.pos = op->alloc(be, n * sizeof(int32_t));
    f.ids = op->alloc(be, n * sizeof(int32_t));
    double *inv_freq = malloc((size_t)(dm.hd / 2) * sizeof *inv_freq);
    int32_t *pos = malloc(n * sizeof *pos);
    duo_weights *w = be->failed || !inv_freq || !pos ? NULL : weights_create(m, be, 0, err);
    int rc = -1;
    if (!w) {
        if (!inv_freq || !pos) duo_fail(err, "out of memory");
        else backend_check(be, err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) pos[i] = (int32_t)i;
    op->upload(be, f.pos, pos, n * sizeof *pos);
    op->upload(be, f.ids, ids, n * sizeof *ids);
    rope_inv_freq(&m->cfg, dm.hd, be->act_size == sizeof(float), inv_freq);
    op->rope_tables(be, inv_freq, dm.hd, n, f.cos_t, f.sin_t);
    op->embed(be, m->embed_tokens, f.ids, n, f.x);
    for (int l = 0; l < dm.L; l++) {
        if (hidden) op->download(be, hidden + (size_t)l * n * d, f.x, n * d * a);
        const duo_layer_dev *lw = weights_layer(w, l, err);
        if (!lw) goto done;
        layer_full_attention(be, &dm, lw, f.x, n, f.pos, f.cos_t, f.sin_t, &f.b);
        layer_finish(be, &dm, lw, f.x, n, &f.b);
    }
    op->rmsnorm(be, f.x, n, dm.d, weights_final_norm(w), dm.eps, f.b.h);
    if (hidden) op->download(be, hidden + (size_t)dm.L * n * d, f.b.h, n * d * a);
    if (logits) {
        const void *head = weights_lm_head(w, err);
        if (!head) goto done;
        f.logits = op->alloc(be, n * (size_t)dm.vocab * a);
        if (f.logits) {
            op->linear(be, f.b.h, n, dm.d, head, dm.vocab, f.logits, 0);
            op->download(be, logits, f.logits, n * (size_t)dm.vocab * a);
        }
    }
    rc = backend_check(be, err);
done:
    weights_free(w);
    fwd_free(be, &f);
    free(inv_freq);
    free(pos);
    return rc;
}

int duo_forward(const duo_model *m, const int32_t *ids, size_t n, float *hidden, float *logits, duo_error *err) {
    if (n == 0) return duo_fail(err, "empty sample");
    duo_backend *be = backend_cpu_create(0, err);
    if (!be) return -1;
    int rc = run(m, be, ids, n, hidden, logits, err);
    backend_free(be);
    return rc;
}
