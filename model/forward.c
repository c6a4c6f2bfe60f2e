/* The plain forward pass (the teacher alone) on the op interface, for checking the numerics against
 * Hugging Face transformers: full attention on every layer, hidden states and logits copied out. */
#include "model/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/finite.h"
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

/* The hidden states and logits copied out must be finite: the first layer whose input is not names the
 * layer before it, and the weight tensor holding a NaN or Inf if one does. */
static int check_finite(const duo_model *m, const duo_dims *dm, size_t n, const float *hidden, const float *logits,
                        duo_error *err) {
    size_t d = (size_t)dm->d;
    for (int l = 0; hidden && l <= dm->L; l++) {
        long bad = finite_first_bad(hidden + (size_t)l * n * d, n * d, sizeof(float));
        if (bad < 0) continue;
        char why[600];
        if (!finite_weights_of(m, l - 1, why, sizeof why))
            snprintf(why, sizeof why, "the weights there are finite, so the activations overflowed");
        if (l == 0)
            return duo_fail(err, "%s: the token embedding at position %ld is not finite: %s", m->dir, bad / (long)d, why);
        return duo_fail(err, "%s: the hidden state after layer %d is not finite (position %ld, element %ld): %s", m->dir,
                        l - 1, bad / (long)d, bad % (long)d, why);
    }
    long bad = logits ? finite_first_bad(logits, n * (size_t)dm->vocab, sizeof(float)) : -1;
    if (bad < 0) return 0;
    char why[600] = "";
    if (finite_weights_of(m, dm->L, why, sizeof why)) {
        memmove(why + 2, why, strlen(why) + 1);
        memcpy(why, ": ", 2);
    }
    return duo_fail(err, "%s: the logits are not finite (position %ld, vocabulary index %ld)%s", m->dir,
                    bad / dm->vocab, bad % dm->vocab, why);
}

static int run(const duo_model *m, duo_backend *be, const int32_t *ids, size_t n, float *hidden, float *logits,
               duo_error *err) {
    duo_dims dm;
    if (dims_of(m, &dm, err)) return -1;
    if (dims_check_ids(&dm, ids, n, err)) return -1;
    const duo_ops *op = be->ops;
    size_t a = be->act_size, d = (size_t)dm.d, mlp = duo_mlp_rows(&dm, n);
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
    if (!rc) rc = check_finite(m, &dm, n, hidden, logits, err);
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
