/* The two-way step (DESIGN §1, §5), written once on the op interface (kernels/ops.h): the float32 CPU
 * backend runs it for the trainer, the float64 one for the finite-difference oracle, a GPU backend the
 * same code.  This file holds no numeric loop: every computation is an op; what remains is bookkeeping
 * (the cone's index sets, FLOP counts); every buffer is sized by the step's memory plan (model/step_plan.h),
 * which also counts the FLOPs.
 *
 * Per step: teacher and student run layer by layer in lockstep.  The student's input to every layer is
 * kept on that layer's cone rows, the teacher's full-attention output FA_T[l] on the layer's output
 * rows; the backward pass recomputes each student layer from its saved input, then takes input
 * gradients (never weight gradients) down to the gates.
 *
 * Behaviour on edge inputs (the reference's): sink_size + recent_size >= n is accepted; the streaming
 * mask then lets every query see every earlier key, so SA equals full attention and the student equals
 * the teacher (distill 0, gradients 0).  A sample without label positions, a non-finite gate, or a
 * non-finite loss or gradient is an error. */
#include "model/duo_step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/cone.h"
#include "model/duo_step_f64.h"
#include "model/layer.h"
#include "model/rope_freq.h"
#include "model/step_plan.h"
#include "model/weights.h"

/* One layer's index sets: host copies for bookkeeping, backend copies for the ops. */
typedef struct {
    duo_posset out;     /* rows the layer outputs (its queries), positions ascending */
    duo_posset keys;    /* rows it reads: out plus every key a query in out may see (= out of layer l-1) */
    int32_t *d_out_pos; /* [out.len] backend copy of out.pos */
    int32_t *d_key_pos; /* [keys.len] backend copy of keys.pos */
    int32_t *d_out_row; /* [out.len] row of each output position inside keys */
    void *xin;          /* [keys.len][d] student input of the layer (saved) */
    void *faT;          /* [out.len][qdim] teacher full attention on the output rows (saved) */
} layer_sets;

struct duo_step_ctx {
    const duo_model *m;
    duo_backend *be, *owned_be;
    duo_weights *w;
    duo_step_opts opts;
    duo_dims dm;
    double *inv_freq; /* host [hd/2] */
    /* per-position buffers, grown to n_cap rows (backend memory; shapes per row) */
    size_t n_cap;
    void *cos_t, *sin_t;                    /* [n][hd/2] */
    void *xT, *hT;                          /* [n][d] teacher residual stream, normed rows */
    duo_full_bufs tb;                       /* teacher scratch: aliases of student gradient buffers */
    void *q, *kc, *vc, *sa, *lse, *att;     /* student: [n][qdim], [n][kvdim] x2, [n][qdim], [n][H], [n][qdim] */
    void *xmid, *h2;                        /* [n][d] */
    void *g, *u, *dact, *dg, *du;           /* [duo_mlp_chunk][inter] */
    void *dout, *dxmid, *dh2, *dh1, *dhq, *dxin; /* [n][d] */
    void *datt, *dq;                        /* [n][qdim] */
    void *dkc, *dvc;                        /* [n][kvdim] */
    void *h1, *hq, *out;                    /* aliases: h1 = dh1, hq = dhq, out = dout */
    void *qpre, *kpre;                      /* [n][qdim], [n][kvdim] q, k before per-head norms (Qwen3 only) */
    int32_t *d_allpos, *d_ids;              /* [n] 0..n-1, the sample */
    int32_t *d_lab_pos, *d_lab_rows;        /* [n] label positions, their rows in the last layer's output */
    double *d_grad, *d_distill;             /* [L*KVH], [1] */
    double *gates_host;                     /* [L*KVH] this step's gates */
    size_t work_bytes;
    /* per run: the plan (buffer sizes, cone sizes, FLOPs) and the cone */
    duo_step_plan plan;
    layer_sets *ls; /* [L] */
};

static void free_sets(duo_step_ctx *c) {
    if (!c->ls) return;
    duo_backend *be = c->be;
    for (int l = 0; l < c->dm.L; l++) {
        layer_sets *s = &c->ls[l];
        posset_free(&s->out);
        posset_free(&s->keys);
        be->ops->free(be, s->d_out_pos);
        be->ops->free(be, s->d_key_pos);
        be->ops->free(be, s->d_out_row);
        be->ops->free(be, s->xin);
        be->ops->free(be, s->faT);
    }
    free(c->ls);
    c->ls = NULL;
}

/* The per-position buffers, with the ones whose lives never overlap sharing memory. */
static void free_bufs(duo_step_ctx *c) {
    duo_backend *be = c->be;
    void *bufs[] = {c->cos_t, c->sin_t, c->xT, c->hT, c->q, c->kc, c->vc, c->sa, c->lse, c->att, c->xmid, c->h2,
                    c->g, c->u, c->dact, c->dg, c->du, c->dout, c->dxmid, c->dh2, c->dh1, c->dhq, c->dxin, c->datt,
                    c->dq, c->dkc, c->dvc, c->d_allpos, c->d_ids, c->d_lab_pos, c->d_lab_rows, c->qpre, c->kpre};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) be->ops->free(be, bufs[i]);
    c->cos_t = c->sin_t = c->xT = c->hT = c->q = c->kc = c->vc = c->sa = c->lse = c->att = c->xmid = c->h2 = NULL;
    c->g = c->u = c->dact = c->dg = c->du = c->dout = c->dxmid = c->dh2 = c->dh1 = c->dhq = c->dxin = NULL;
    c->datt = c->dq = c->dkc = c->dvc = c->qpre = c->kpre = NULL;
    c->d_allpos = c->d_ids = c->d_lab_pos = c->d_lab_rows = NULL;
    c->n_cap = 0;
}

void duo_step_free(duo_step_ctx *c) {
    if (!c) return;
    free_sets(c);
    free_bufs(c);
    step_plan_free(&c->plan);
    if (c->be) {
        c->be->ops->free(c->be, c->d_grad);
        c->be->ops->free(c->be, c->d_distill);
    }
    weights_free(c->w);
    free(c->inv_freq);
    free(c->gates_host);
    backend_free(c->owned_be);
    free(c);
}

static duo_step_ctx *step_create(const duo_model *m, const duo_step_opts *opts, duo_backend *be,
                                 duo_backend *owned, duo_error *err) {
    duo_dims dm;
    if (dims_of(m, &dm, err)) {
        backend_free(owned);
        return NULL;
    }
    if (opts->sink_size < 0 || opts->recent_size < 1) {
        duo_fail(err, "sink_size must be >= 0 and recent_size >= 1 (got %d, %d)", opts->sink_size, opts->recent_size);
        backend_free(owned);
        return NULL;
    }
    if (opts->streaming != ATTN_STREAM_BLOCKSPARSE && opts->streaming != ATTN_STREAM_SDPA) {
        duo_fail(err, "unknown streaming attention implementation %d", (int)opts->streaming);
        backend_free(owned);
        return NULL;
    }
    duo_step_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        duo_fail(err, "out of memory");
        backend_free(owned);
        return NULL;
    }
    c->m = m;
    c->be = be;
    c->owned_be = owned;
    c->opts = *opts;
    c->dm = dm;
    size_t G = (size_t)dm.L * dm.KVH;
    c->inv_freq = malloc((size_t)(dm.hd / 2) * sizeof *c->inv_freq);
    c->gates_host = malloc(G * sizeof *c->gates_host);
    if (!c->inv_freq || !c->gates_host) {
        duo_step_free(c);
        duo_fail(err, "out of memory");
        return NULL;
    }
    rope_inv_freq(&m->cfg, dm.hd, be->act_size == sizeof(float), c->inv_freq);
    c->d_grad = be->ops->alloc(be, G * sizeof(double));
    c->d_distill = be->ops->alloc(be, sizeof(double));
    c->w = weights_create(m, be, 0, err);
    if (!c->w || backend_check(be, err)) {
        duo_step_free(c);
        return NULL;
    }
    return c;
}

duo_step_ctx *duo_step_create(const duo_model *m, const duo_step_opts *opts, duo_backend *be, duo_error *err) {
    duo_backend *owned = NULL;
    if (!be) { /* the default: a float32 CPU backend of the step's own */
        owned = be = backend_cpu_create(0, err);
        if (!be) return NULL;
    }
    return step_create(m, opts, be, owned, err);
}

duo_step_ctx_f64 *duo_step_create_f64(const duo_model *m, const duo_step_opts *opts, duo_error *err) {
    duo_backend *be = backend_cpu_create(1, err);
    return be ? step_create(m, opts, be, be, err) : NULL;
}

void duo_step_free_f64(duo_step_ctx_f64 *ctx) { duo_step_free(ctx); }

/* Grows the per-position buffers to the plan's n rows, each of the plan's size. */
static int ensure_n(duo_step_ctx *c, const duo_step_plan *plan, duo_error *err) {
    size_t n = plan->n;
    if (n <= c->n_cap) return 0;
    free_bufs(c);
    duo_backend *be = c->be;
    struct { void **p; int buf; } bufs[] = {
        {&c->cos_t, STEP_BUF_COS}, {&c->sin_t, STEP_BUF_SIN}, {&c->xT, STEP_BUF_XT}, {&c->hT, STEP_BUF_HT},
        {&c->q, STEP_BUF_Q}, {&c->kc, STEP_BUF_KC}, {&c->vc, STEP_BUF_VC}, {&c->sa, STEP_BUF_SA},
        {&c->lse, STEP_BUF_LSE}, {&c->att, STEP_BUF_ATT}, {&c->xmid, STEP_BUF_XMID}, {&c->h2, STEP_BUF_H2},
        {&c->dout, STEP_BUF_DOUT}, {&c->dxmid, STEP_BUF_DXMID}, {&c->dh2, STEP_BUF_DH2}, {&c->datt, STEP_BUF_DATT},
        {&c->dq, STEP_BUF_DQ}, {&c->dkc, STEP_BUF_DKC}, {&c->dvc, STEP_BUF_DVC}, {&c->dh1, STEP_BUF_DH1},
        {&c->dhq, STEP_BUF_DHQ}, {&c->dxin, STEP_BUF_DXIN}, {&c->g, STEP_BUF_G}, {&c->u, STEP_BUF_U},
        {&c->dact, STEP_BUF_DACT}, {&c->dg, STEP_BUF_DG}, {&c->du, STEP_BUF_DU},
        {(void **)&c->d_allpos, STEP_BUF_ALLPOS}, {(void **)&c->d_ids, STEP_BUF_IDS},
        {(void **)&c->d_lab_pos, STEP_BUF_LABPOS}, {(void **)&c->d_lab_rows, STEP_BUF_LABROWS},
        {&c->qpre, STEP_BUF_QPRE}, {&c->kpre, STEP_BUF_KPRE}};
    size_t total = 0;
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
        size_t bytes = plan->buf_bytes[bufs[i].buf];
        if (!bytes) continue; /* q/k before the per-head norms: Qwen3 only (their backward needs them) */
        *bufs[i].p = be->ops->alloc(be, bytes);
        if (!*bufs[i].p || be->failed) {
            free_bufs(c);
            backend_check(be, err);
            duo_error_prefix(err, "buffers for %zu positions", n);
            return -1;
        }
        total += bytes;
    }
    /* buffers whose lives never overlap share memory: the teacher's attention and MLP buffers live only in
     * the forward pass, the same-shaped gradients only in the backward; the student's h1/hq are dead before
     * dh1/dhq are written, and the recompute never writes the layer output (out), so dout can hold the
     * incoming gradient meanwhile */
    c->tb = (duo_full_bufs){.h = c->hT, .q = c->datt, .k = c->dkc, .v = c->dvc, .a = c->dq, .g = c->dg, .u = c->du};
    c->h1 = c->dh1;
    c->hq = c->dhq;
    c->out = c->dout;
    int32_t *pos = malloc(n * sizeof *pos);
    if (!pos) {
        free_bufs(c);
        return duo_fail(err, "out of memory for %zu positions", n);
    }
    for (size_t i = 0; i < n; i++) pos[i] = (int32_t)i;
    be->ops->upload(be, c->d_allpos, pos, n * sizeof *pos);
    free(pos);
    c->work_bytes = total;
    c->n_cap = n;
    return 0;
}

static duo_attn_mask stream_mask(const duo_step_ctx *c) {
    duo_attn_mask mk = {c->opts.streaming, c->opts.sink_size, c->opts.recent_size};
    return mk;
}

/* A host array into new backend memory; NULL (status set) on failure. */
static int32_t *upload_i32(duo_backend *be, const int *src, size_t count) {
    int32_t *d = be->ops->alloc(be, count * sizeof *d);
    if (d && count) be->ops->upload(be, d, src, count * sizeof *d);
    return d;
}

/* The cone per layer (DESIGN §5), as the plan computed it (outs / keys: [L], taken over), its index
 * arrays on the backend and the saved activations' memory.  Cone off: every position. */
static int build_sets(duo_step_ctx *c, const duo_step_plan *plan, duo_posset *outs, duo_posset *keys, size_t n,
                      duo_error *err) {
    free_sets(c);
    duo_backend *be = c->be;
    const duo_dims *dm = &c->dm;
    c->ls = calloc((size_t)dm->L, sizeof *c->ls);
    int *row = malloc(n * sizeof *row);
    if (!c->ls || !row) {
        free(row);
        for (int l = 0; l < dm->L; l++) {
            posset_free(&outs[l]);
            posset_free(&keys[l]);
        }
        return duo_fail(err, "out of memory");
    }
    for (int l = dm->L - 1; l >= 0; l--) {
        layer_sets *s = &c->ls[l];
        s->out = outs[l];
        s->keys = keys[l];
        if (be->failed) continue; /* the sets are still taken over, to be freed */
        const duo_posset *o = &s->out;
        posset_rows_in(o, &s->keys, row);
        s->d_out_pos = upload_i32(be, o->pos, o->len);
        s->d_key_pos = upload_i32(be, s->keys.pos, s->keys.len);
        s->d_out_row = upload_i32(be, row, o->len);
        s->xin = be->ops->alloc(be, plan->layers[l].input_bytes); /* [keys.len][d] */
        s->faT = be->ops->alloc(be, plan->layers[l].fa_bytes);    /* [out.len][qdim] */
    }
    free(row);
    if (backend_check(be, err)) {
        duo_error_prefix(err, "saved activations for %zu positions", n);
        return -1;
    }
    return 0;
}

/* Student layer l forward from its saved input (rows keys) to c->out (rows out), leaving every
 * intermediate in the buffers for the backward pass. */
static void student_layer(duo_step_ctx *c, int l, const duo_layer_dev *w, int with_mlp) {
    duo_backend *be = c->be;
    const duo_ops *op = be->ops;
    const duo_dims *dm = &c->dm;
    const layer_sets *s = &c->ls[l];
    size_t mk = s->keys.len, mo = s->out.len, d = (size_t)dm->d;
    op->rmsnorm(be, s->xin, mk, dm->d, w->in_norm, dm->eps, c->h1);
    layer_project_kv(be, dm, w, c->h1, mk, c->kc, c->vc, c->kpre);
    op->rope(be, c->kc, mk, dm->KVH, dm->hd, s->d_key_pos, c->cos_t, c->sin_t, 0);
    op->gather_rows(be, c->h1, s->d_out_row, mo, dm->d, c->hq);
    op->gather_rows(be, s->xin, s->d_out_row, mo, dm->d, c->xmid);
    layer_project_q(be, dm, w, c->hq, mo, c->q, c->qpre);
    op->rope(be, c->q, mo, dm->H, dm->hd, s->d_out_pos, c->cos_t, c->sin_t, 0);
    duo_attn_shape sh = {dm->H, dm->KVH, dm->hd, stream_mask(c)};
    duo_attn_args a = {.nq = mo, .nk = mk, .qpos = s->d_out_pos, .kpos = s->d_key_pos, .Q = c->q, .K = c->kc,
                       .V = c->vc, .O = c->sa, .lse = c->lse, .q_stride = (size_t)dm->qdim,
                       .kv_stride = (size_t)dm->kvdim, .o_stride = (size_t)dm->qdim};
    op->attn_fwd(be, &sh, &a);
    op->gate_blend(be, c->sa, s->faT, mo, dm->H, dm->KVH, dm->hd, c->gates_host + (size_t)l * dm->KVH, c->att);
    op->linear(be, c->att, mo, dm->qdim, w->wo, dm->d, c->xmid, 1);
    op->rmsnorm(be, c->xmid, mo, dm->d, w->post_norm, dm->eps, c->h2);
    if (!with_mlp) return; /* the backward pass recomputes the MLP per row chunk itself */
    op->copy(be, c->out, c->xmid, mo * d);
    layer_mlp_add(be, dm, w, c->h2, mo, c->out, c->g, c->u);
}

/* Backward of student_layer (its intermediates are in the buffers): c->dout (rows out) -> c->dxin (rows
 * keys); adds d/d gates of layer l into the backend's gradient. */
static void student_layer_bwd(duo_step_ctx *c, int l, const duo_layer_dev *w) {
    duo_backend *be = c->be;
    const duo_ops *op = be->ops;
    const duo_dims *dm = &c->dm;
    const layer_sets *s = &c->ls[l];
    size_t mk = s->keys.len, mo = s->out.len, d = (size_t)dm->d;
    /* MLP, per row chunk: recompute gate/up from the post-norm input, then their input gradient */
    size_t chunk = duo_mlp_chunk(dm);
    for (size_t r0 = 0; r0 < mo; r0 += chunk) {
        size_t rows = mo - r0 < chunk ? mo - r0 : chunk;
        const void *h2 = act_at(be, c->h2, r0 * d);
        op->linear(be, h2, rows, dm->d, w->wg, dm->inter, c->g, 0);
        op->linear(be, h2, rows, dm->d, w->wu, dm->inter, c->u, 0);
        op->linear_bwd(be, act_at(be, c->dout, r0 * d), rows, dm->d, w->wd, dm->inter, c->dact, 0);
        op->swiglu_bwd(be, c->g, c->u, c->dact, rows * (size_t)dm->inter, c->dg, c->du);
        op->linear_bwd(be, c->dg, rows, dm->inter, w->wg, dm->d, act_at(be, c->dh2, r0 * d), 0);
        op->linear_bwd(be, c->du, rows, dm->inter, w->wu, dm->d, act_at(be, c->dh2, r0 * d), 1);
    }
    op->copy(be, c->dxmid, c->dout, mo * d);
    op->rmsnorm_bwd(be, c->xmid, mo, dm->d, w->post_norm, dm->eps, c->dh2, c->dxmid, 1);
    /* o_proj and the blend */
    op->linear_bwd(be, c->dxmid, mo, dm->d, w->wo, dm->qdim, c->datt, 0);
    op->gate_blend_bwd(be, c->datt, s->faT, c->sa, mo, dm->H, dm->KVH, dm->hd, c->gates_host + (size_t)l * dm->KVH,
                       c->d_grad + (size_t)l * dm->KVH);
    /* streaming attention */
    op->zero(be, c->dkc, mk * (size_t)dm->kvdim);
    op->zero(be, c->dvc, mk * (size_t)dm->kvdim);
    duo_attn_shape sh = {dm->H, dm->KVH, dm->hd, stream_mask(c)};
    duo_attn_args a = {.nq = mo, .nk = mk, .qpos = s->d_out_pos, .kpos = s->d_key_pos, .Q = c->q, .K = c->kc,
                       .V = c->vc, .O = c->sa, .lse = c->lse, .q_stride = (size_t)dm->qdim,
                       .kv_stride = (size_t)dm->kvdim, .o_stride = (size_t)dm->qdim, .dO = c->datt, .dQ = c->dq,
                       .dK = c->dkc, .dV = c->dvc};
    op->attn_bwd(be, &sh, &a);
    op->rope(be, c->dq, mo, dm->H, dm->hd, s->d_out_pos, c->cos_t, c->sin_t, 1);
    op->rope(be, c->dkc, mk, dm->KVH, dm->hd, s->d_key_pos, c->cos_t, c->sin_t, 1);
    layer_project_q_bwd(be, dm, w, c->qpre, mo, c->dq);
    layer_project_k_bwd(be, dm, w, c->kpre, mk, c->dkc);
    /* q/k/v projections (their biases pass the gradient unchanged), input norm, residual */
    op->linear_bwd(be, c->dkc, mk, dm->kvdim, w->wk, dm->d, c->dh1, 0);
    op->linear_bwd(be, c->dvc, mk, dm->kvdim, w->wv, dm->d, c->dh1, 1);
    op->linear_bwd(be, c->dq, mo, dm->qdim, w->wq, dm->d, c->dhq, 0);
    op->scatter_add_rows(be, c->dhq, s->d_out_row, mo, dm->d, c->dh1);
    op->rmsnorm_bwd(be, s->xin, mk, dm->d, w->in_norm, dm->eps, c->dh1, c->dxin, 0);
    op->scatter_add_rows(be, c->dxmid, s->d_out_row, mo, dm->d, c->dxin);
}

/* The step's figures: FLOPs (DESIGN §5) and memory, from its plan. */
static void account(duo_step_ctx *c, duo_step_result *res) {
    const duo_step_plan *p = &c->plan;
    size_t saved = 0;
    for (int l = 0; l < c->dm.L; l++) saved += p->layers[l].input_bytes + p->layers[l].fa_bytes;
    res->cone_positions = p->cone_positions;
    res->all_positions = p->all_positions;
    res->flops = p->flops;
    res->saved_bytes = saved;
    res->work_bytes = c->work_bytes;
    res->weight_bytes = weights_bytes(c->w);
}

/* This sample's plan, the buffers it sizes and the cone it computed. */
static int plan_sets(duo_step_ctx *c, const int32_t *labels, size_t n, duo_error *err) {
    step_plan_free(&c->plan);
    duo_step_plan_in in = {.cfg = &c->m->cfg, .opts = c->opts, .n = n, .labels = labels};
    step_plan_backend_of(c->be, &in.be);
    size_t L = (size_t)c->dm.L;
    duo_posset *outs = calloc(L, sizeof *outs), *keys = calloc(L, sizeof *keys);
    int rc = -1;
    if (!outs || !keys) {
        duo_fail(err, "out of memory");
    } else if (!step_plan_make(&in, &c->plan, outs, keys, err)) {
        if (!ensure_n(c, &c->plan, err)) {
            rc = build_sets(c, &c->plan, outs, keys, n, err); /* takes the sets over */
        } else {
            for (size_t l = 0; l < L; l++) {
                posset_free(&outs[l]);
                posset_free(&keys[l]);
            }
        }
    }
    free(outs);
    free(keys);
    return rc;
}

static int step_run(duo_step_ctx *c, const int32_t *ids, const int32_t *labels, size_t n, duo_step_result *res,
                    double *grad_out, duo_error *err) {
    duo_backend *be = c->be;
    const duo_ops *op = be->ops;
    const duo_dims *dm = &c->dm;
    int L = dm->L, KVH = dm->KVH;
    size_t d = (size_t)dm->d, G = (size_t)L * KVH;
    memset(res, 0, sizeof *res);
    if (n == 0) return duo_fail(err, "empty sample");
    if (n > (size_t)INT32_MAX / 2) return duo_fail(err, "sample of %zu tokens is too long", n);
    size_t nlab = 0;
    for (size_t i = 0; i < n; i++) nlab += labels[i] != -100;
    if (nlab == 0) return duo_fail(err, "sample of %zu tokens has no label positions (all -100)", n);
    for (size_t i = 0; i < G; i++)
        if (!isfinite(c->gates_host[i])) return duo_fail(err, "gate [%zu][%zu] is not finite", i / KVH, i % KVH);
    if (dims_check_ids(dm, ids, n, err)) return -1;
    if (plan_sets(c, labels, n, err)) return -1;
    op->rope_tables(be, c->inv_freq, dm->hd, n, c->cos_t, c->sin_t);
    op->upload(be, c->d_ids, ids, n * sizeof *ids);
    op->embed(be, c->m->embed_tokens, c->d_ids, n, c->xT);

    /* forward, teacher and student in lockstep */
    for (int l = 0; l < L; l++) {
        const duo_layer_dev *w = weights_layer(c->w, l, err);
        if (!w) return -1;
        layer_sets *s = &c->ls[l];
        if (l == 0) /* the student starts from the same embeddings */
            op->gather_rows(be, c->xT, s->d_key_pos, s->keys.len, dm->d, s->xin);
        layer_full_attention(be, dm, w, c->xT, n, c->d_allpos, c->cos_t, c->sin_t, &c->tb);
        op->gather_rows(be, c->tb.a, s->d_out_pos, s->out.len, dm->qdim, s->faT);
        layer_finish(be, dm, w, c->xT, n, &c->tb);
        student_layer(c, l, w, 1);
        if (l + 1 < L) op->copy(be, c->ls[l + 1].xin, c->out, s->out.len * d);
    }

    /* distill on the label positions: H = the final norm's output */
    const layer_sets *last = &c->ls[L - 1];
    int32_t *lab_pos = malloc(nlab * sizeof *lab_pos), *lab_rows = malloc(nlab * sizeof *lab_rows);
    if (!lab_pos || !lab_rows) {
        free(lab_pos);
        free(lab_rows);
        return duo_fail(err, "out of memory");
    }
    size_t j = 0;
    for (size_t r = 0; r < last->out.len; r++)
        if (labels[last->out.pos[r]] != -100) {
            lab_pos[j] = last->out.pos[r];
            lab_rows[j++] = (int32_t)r;
        }
    op->upload(be, c->d_lab_pos, lab_pos, nlab * sizeof *lab_pos);
    op->upload(be, c->d_lab_rows, lab_rows, nlab * sizeof *lab_rows);
    free(lab_pos);
    free(lab_rows);
    const void *final_norm = weights_final_norm(c->w);
    void *HT = c->hT, *xlab = c->h2, *HS = c->hq, *dHS = c->dh2; /* nlab rows of d each; all free now */
    op->gather_rows(be, c->xT, c->d_lab_pos, nlab, dm->d, HT);
    op->gather_rows(be, c->out, c->d_lab_rows, nlab, dm->d, xlab);
    op->rmsnorm(be, HT, nlab, dm->d, final_norm, dm->eps, HT);
    op->rmsnorm(be, xlab, nlab, dm->d, final_norm, dm->eps, HS);
    op->sqdiff_loss(be, HT, HS, nlab, dm->d, c->d_distill);
    double distill = 0;
    op->download(be, &distill, c->d_distill, sizeof distill);
    if (backend_check(be, err)) return -1;
    distill /= (double)nlab;
    if (!isfinite(distill)) return duo_fail(err, "the distillation loss is not finite (%g)", distill);
    res->distill = distill;
    res->num_label_positions = nlab;

    /* backward: dH_S = -2 (H_T - H_S) / (d * nlab), through the final norm into the last layer's output
     * (dout shares out's memory: the label rows were gathered into xlab before it is cleared) */
    op->zero(be, c->dout, last->out.len * d);
    op->sqdiff_grad(be, HT, HS, nlab * d, -2.0 / ((double)d * (double)nlab), dHS);
    op->rmsnorm_bwd(be, xlab, nlab, dm->d, final_norm, dm->eps, dHS, c->dxin, 0);
    op->scatter_add_rows(be, c->dxin, c->d_lab_rows, nlab, dm->d, c->dout);
    double *zeros = calloc(G, sizeof *zeros);
    if (!zeros) return duo_fail(err, "out of memory");
    op->upload(be, c->d_grad, zeros, G * sizeof *zeros);
    free(zeros);
    for (int l = L - 1; l >= 0; l--) {
        const duo_layer_dev *w = weights_layer(c->w, l, err);
        if (!w) return -1;
        student_layer(c, l, w, 0); /* recompute from the saved input */
        student_layer_bwd(c, l, w);
        if (l > 0) op->copy(be, c->dout, c->dxin, c->ls[l].keys.len * d);
    }
    op->download(be, grad_out, c->d_grad, G * sizeof *grad_out);
    if (backend_check(be, err)) return -1;
    for (size_t i = 0; i < G; i++)
        if (!isfinite(grad_out[i])) return duo_fail(err, "the gate gradient [%zu][%zu] is not finite", i / KVH, i % KVH);
    account(c, res);
    return 0;
}

int duo_step_run(duo_step_ctx *c, const int32_t *ids, const int32_t *labels, size_t n, const float *gates,
                 duo_step_result *res, float *grad_gates, duo_error *err) {
    size_t G = (size_t)c->dm.L * c->dm.KVH;
    double *grad = malloc(G * sizeof *grad);
    if (!grad) return duo_fail(err, "out of memory");
    for (size_t i = 0; i < G; i++) c->gates_host[i] = gates[i];
    int rc = step_run(c, ids, labels, n, res, grad, err);
    if (!rc)
        for (size_t i = 0; i < G; i++) grad_gates[i] = (float)grad[i];
    free(grad);
    return rc;
}

int duo_step_run_f64(duo_step_ctx *c, const int32_t *ids, const int32_t *labels, size_t n, const double *gates,
                     duo_step_result *res, double *grad_gates, duo_error *err) {
    memcpy(c->gates_host, gates, (size_t)c->dm.L * c->dm.KVH * sizeof *gates);
    return step_run(c, ids, labels, n, res, grad_gates, err);
}
