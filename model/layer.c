#include "model/layer.h"

int dims_of(const duo_model *m, duo_dims *dm, duo_error *err) {
    const duo_model_config *cfg = &m->cfg;
    if (cfg->num_attention_heads <= 0 || cfg->num_key_value_heads <= 0 ||
        cfg->num_attention_heads % cfg->num_key_value_heads || cfg->head_dim <= 0 || cfg->head_dim % 2)
        return duo_fail(err, "%s: unsupported attention shape (%d heads, %d KV heads, head_dim %d)", m->dir,
                        cfg->num_attention_heads, cfg->num_key_value_heads, cfg->head_dim);
    dm->L = cfg->num_hidden_layers;
    dm->d = cfg->hidden_size;
    dm->H = cfg->num_attention_heads;
    dm->KVH = cfg->num_key_value_heads;
    dm->hd = cfg->head_dim;
    dm->inter = cfg->intermediate_size;
    dm->qdim = dm->H * dm->hd;
    dm->kvdim = dm->KVH * dm->hd;
    dm->vocab = cfg->vocab_size;
    dm->eps = cfg->rms_norm_eps;
    return 0;
}

int dims_check_ids(const duo_dims *dm, const int32_t *ids, size_t n, duo_error *err) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= dm->vocab)
            return duo_fail(err, "token id %d at position %zu is outside the vocabulary (%d)", ids[i], i, dm->vocab);
    return 0;
}

void layer_mlp_add(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *X, size_t m, void *Y,
                   void *g, void *u) {
    const duo_ops *op = be->ops;
    size_t d = (size_t)dm->d;
    size_t chunk = duo_mlp_chunk(dm);
    for (size_t r0 = 0; r0 < m; r0 += chunk) {
        size_t rows = m - r0 < chunk ? m - r0 : chunk;
        const void *x = act_at(be, X, r0 * d);
        op->linear(be, x, rows, dm->d, w->wg, dm->inter, g, 0);
        op->linear(be, x, rows, dm->d, w->wu, dm->inter, u, 0);
        op->swiglu(be, g, u, rows * (size_t)dm->inter, g);
        op->linear(be, g, rows, dm->inter, w->wd, dm->d, act_at(be, Y, r0 * d), 1);
    }
}

/* X [m][nheads*hd] (+)= bias, then RMSNorm per head (saving the input in pre when given). */
static void project_finish(duo_backend *be, const duo_dims *dm, void *X, size_t m, int nheads, const void *bias,
                           const void *norm, void *pre) {
    const duo_ops *op = be->ops;
    if (bias) op->add_bias_rows(be, X, m, nheads * dm->hd, bias);
    if (!norm) return;
    if (pre) op->copy(be, pre, X, m * (size_t)nheads * dm->hd);
    op->rmsnorm(be, X, m * (size_t)nheads, dm->hd, norm, dm->eps, X);
}

void layer_project_q(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *h, size_t m, void *q,
                     void *q_pre) {
    be->ops->linear(be, h, m, dm->d, w->wq, dm->qdim, q, 0);
    project_finish(be, dm, q, m, dm->H, w->bq, w->q_norm, q_pre);
}

void layer_project_kv(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *h, size_t m, void *k,
                      void *v, void *k_pre) {
    be->ops->linear(be, h, m, dm->d, w->wk, dm->kvdim, k, 0);
    be->ops->linear(be, h, m, dm->d, w->wv, dm->kvdim, v, 0);
    project_finish(be, dm, k, m, dm->KVH, w->bk, w->k_norm, k_pre);
    if (w->bv) be->ops->add_bias_rows(be, v, m, dm->kvdim, w->bv);
}

void layer_project_q_bwd(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *q_pre, size_t m,
                         void *dq) {
    if (w->q_norm) be->ops->rmsnorm_bwd(be, q_pre, m * (size_t)dm->H, dm->hd, w->q_norm, dm->eps, dq, dq, 0);
}

void layer_project_k_bwd(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *k_pre, size_t m,
                         void *dk) {
    if (w->k_norm) be->ops->rmsnorm_bwd(be, k_pre, m * (size_t)dm->KVH, dm->hd, w->k_norm, dm->eps, dk, dk, 0);
}

void layer_full_attention(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *x, size_t n,
                          const int32_t *pos, const void *cos_t, const void *sin_t, duo_full_bufs *b) {
    const duo_ops *op = be->ops;
    op->rmsnorm(be, x, n, dm->d, w->in_norm, dm->eps, b->h);
    layer_project_q(be, dm, w, b->h, n, b->q, NULL);
    layer_project_kv(be, dm, w, b->h, n, b->k, b->v, NULL);
    op->rope(be, b->q, n, dm->H, dm->hd, pos, cos_t, sin_t, 0);
    op->rope(be, b->k, n, dm->KVH, dm->hd, pos, cos_t, sin_t, 0);
    duo_attn_shape sh = {dm->H, dm->KVH, dm->hd, {ATTN_FULL, 0, 0}};
    duo_attn_args a = {.nq = n, .nk = n, .qpos = pos, .kpos = NULL, .Q = b->q, .K = b->k, .V = b->v, .O = b->a,
                       .q_stride = (size_t)dm->qdim, .kv_stride = (size_t)dm->kvdim, .o_stride = (size_t)dm->qdim};
    op->attn_fwd(be, &sh, &a);
}

void layer_finish(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, void *x, size_t n, duo_full_bufs *b) {
    const duo_ops *op = be->ops;
    op->linear(be, b->a, n, dm->qdim, w->wo, dm->d, x, 1);
    op->rmsnorm(be, x, n, dm->d, w->post_norm, dm->eps, b->h);
    layer_mlp_add(be, dm, w, b->h, n, x, b->g, b->u);
}
