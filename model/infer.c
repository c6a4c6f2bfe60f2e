/* The DuoAttention inference path on the op interface (model/infer.h).  No numeric loop of its own:
 * every computation is an op; this file orders them and keeps the caches' bookkeeping. */
#include "model/infer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/backend.h"
#include "model/finite.h"
#include "model/kv_cache.h"
#include "model/layer.h"
#include "model/rope_freq.h"
#include "model/weights.h"
#include "util/clock.h"

/* One layer's head order: full KV heads first (ascending), then streaming ones. */
typedef struct {
    int num_full;
    int *kv_perm; /* [KVH] kv_perm[j] = the checkpoint's KV head at full-first slot j */
    int *q_perm;  /* [H] the same for query heads (each KV head's group of query heads stays together) */
    int *q_back;  /* [H] the inverse of q_perm: attention output back to the checkpoint's order */
} head_order;

struct duo_infer {
    const duo_model *m;
    duo_backend *be;
    duo_infer_opts o;
    duo_dims dm;
    duo_weights *w;
    head_order *order; /* [L] */
    duo_kv_cache kv;
    size_t max_len, max_chunk;
    /* per-forward buffers, max_chunk rows (backend memory) */
    void *cos_t, *sin_t;     /* [max_len][hd/2] */
    void *x, *h;             /* [chunk][d] residual stream, normed rows */
    void *q, *qp, *att, *attp; /* [chunk][qdim] q, q full-first, attention output (checkpoint order, full-first) */
    void *k, *v, *kp, *vp;   /* [chunk][kvdim] */
    void *g, *u;             /* [duo_mlp_chunk][inter] */
    void *last, *logits;     /* [1][d] the final norm of the last row, [1][vocab] */
    int32_t *d_ids, *d_pos, *d_best; /* [chunk], [chunk], [1] */
    int32_t *pos;            /* host [chunk] */
    int32_t *d_amax, *amax, *amax_pos; /* [H] argmax key rows (backend, host, full-first), [H] positions (model order) */
    void *host_logits;       /* host [vocab] (act_size elements): every forward's logits row, checked finite */
    void *host_x;            /* host [chunk][d]: the residual stream, downloaded only while tracing */
    int trace;               /* checking the residual stream after every layer's attention and MLP */
    int nonfinite;           /* the last forward's logits were not finite */
    /* the shared first forward (model/infer.h) */
    int share;               /* on: share_prefill asked, prefill reference, no argmax hook, memory for it */
    int capturing;           /* the running forward is a first forward to remember */
    void *cap_k, *cap_v;     /* [L][max_chunk][kvdim] its post-RoPE K and V, checkpoint head order (backend) */
    int32_t *cap_ids;        /* host [max_chunk] the ids it read */
    size_t cap_m;            /* its rows (0: none remembered) */
    int32_t cap_next;        /* its greedy next id */
    void *cap_logits;        /* host [vocab] (act_size elements) its logits row */
    double cap_s;            /* seconds it took */
};

static void free_order(duo_infer *c) {
    for (int l = 0; c->order && l < c->dm.L; l++) {
        free(c->order[l].kv_perm);
        free(c->order[l].q_perm);
        free(c->order[l].q_back);
    }
    free(c->order);
    c->order = NULL;
}

void infer_free(duo_infer *c) {
    if (!c) return;
    duo_backend *be = c->be;
    void *bufs[] = {c->cos_t, c->sin_t, c->x, c->h, c->q, c->qp, c->att, c->attp, c->k, c->v, c->kp, c->vp,
                    c->g, c->u, c->last, c->logits, c->d_ids, c->d_pos, c->d_best, c->cap_k, c->cap_v};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) be->ops->free(be, bufs[i]);
    kv_cache_free(&c->kv);
    weights_free(c->w);
    free_order(c);
    free(c->pos);
    free(c->amax);
    free(c->amax_pos);
    if (c->d_amax) be->ops->free(be, c->d_amax);
    free(c->host_logits);
    free(c->host_x);
    free(c->cap_ids);
    free(c->cap_logits);
    free(c);
}

static int build_order(duo_infer *c, const uint8_t *full, duo_error *err) {
    const duo_dims *dm = &c->dm;
    int group = dm->H / dm->KVH;
    c->order = calloc((size_t)dm->L, sizeof *c->order);
    if (!c->order) return duo_fail(err, "out of memory for the head order of %d layers", dm->L);
    for (int l = 0; l < dm->L; l++) {
        head_order *o = &c->order[l];
        o->kv_perm = malloc((size_t)dm->KVH * sizeof *o->kv_perm);
        o->q_perm = malloc((size_t)dm->H * sizeof *o->q_perm);
        o->q_back = malloc((size_t)dm->H * sizeof *o->q_back);
        if (!o->kv_perm || !o->q_perm || !o->q_back)
            return duo_fail(err, "out of memory for layer %d's head permutations (%zu bytes)", l,
                            ((size_t)dm->KVH + 2 * (size_t)dm->H) * sizeof(int));
        int j = 0;
        for (int pass = 1; pass >= 0; pass--)
            for (int g = 0; g < dm->KVH; g++)
                if ((full[l * dm->KVH + g] != 0) == pass) o->kv_perm[j++] = g;
        o->num_full = 0;
        for (int g = 0; g < dm->KVH; g++) o->num_full += full[l * dm->KVH + g] != 0;
        for (int s = 0; s < dm->KVH; s++)
            for (int t = 0; t < group; t++) {
                o->q_perm[s * group + t] = o->kv_perm[s] * group + t;
                o->q_back[o->kv_perm[s] * group + t] = s * group + t;
            }
    }
    return 0;
}

/* What a context needs in the backend's memory at most (every head full): the weights, the KV cache of
 * max_len positions, one forward's buffers and the shared first forward's K and V (capture rows: 0 when
 * not sharing).  *kv and *weights (optional) get those parts. */
static double infer_bytes(const duo_model *m, const duo_dims *dm, const duo_backend *be, size_t max_len, size_t chunk,
                          size_t capture, double *kv, double *weights) {
    double a = (double)be->act_size, ch = (double)chunk, mlp = (double)duo_mlp_rows(dm, chunk);
    double w = (double)model_num_params_non_embedding(m) * (double)be->weight_size +
               (double)dm->vocab * dm->d * (double)be->weight_size; /* lm_head converted; embeddings stay mapped */
    double cache = 2.0 * dm->L * dm->kvdim * (double)max_len * a;
    double bufs = (2.0 * (double)max_len * (dm->hd / 2) + ch * (2.0 * dm->d + 4.0 * dm->qdim + 4.0 * dm->kvdim) +
                   2 * mlp * dm->inter + dm->d + dm->vocab + 2.0 * dm->L * dm->kvdim * (double)capture) * a;
    if (kv) *kv = cache;
    if (weights) *weights = w;
    return w + cache + bufs;
}

/* A context the machine cannot hold is refused with both numbers before anything is allocated (the CPU
 * backend: host memory; a GPU backend reports the allocation that fails, naming its size). */
static int check_memory(const duo_model *m, const duo_dims *dm, const duo_backend *be, size_t max_len, size_t chunk,
                        size_t capture, duo_error *err) {
    if (strcmp(be->name, "cpu")) return 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return 0;
    double mem = (double)pages * (double)page, kv, w;
    double need = infer_bytes(m, dm, be, max_len, chunk, capture, &kv, &w);
    if (need <= mem) return 0;
    double per_token = kv / (double)max_len;
    double fit = mem > w ? (mem - w) / per_token / 1.25 : 0;
    return duo_fail(err, "%s: %zu positions need about %.1f GiB on the cpu backend (weights %.1f GiB, KV cache %.1f "
                         "GiB), more than this machine's %.1f GiB of memory; about %.0f positions fit", m->dir, max_len,
                    need / 1073741824.0, w / 1073741824.0, kv / 1073741824.0, mem / 1073741824.0, fit);
}

duo_infer *infer_create(const duo_model *m, duo_backend *be, const uint8_t *full, const duo_infer_opts *o,
                        duo_error *err) {
    duo_dims dm;
    if (dims_of(m, &dm, err)) return NULL;
    if (o->sink_size < 0 || o->recent_size < 1) {
        duo_fail(err, "sink_size must be >= 0 and recent_size >= 1 (got %d, %d)", o->sink_size, o->recent_size);
        return NULL;
    }
    if (o->prefilling_chunk_size < 0 || o->decoding_simulation_length < 0 || o->max_new_tokens < 1 || o->max_prompt < 1) {
        duo_fail(err, "prefilling_chunk_size and decoding_simulation_length must be >= 0, max_new_tokens and the "
                      "prompt length >= 1");
        return NULL;
    }
    if (o->argmax_fn && !be->ops->attn_argmax) {
        duo_fail(err, "the %s backend has no attn_argmax op (the attention argmax hook needs it)", be->name);
        return NULL;
    }
    duo_infer *c = calloc(1, sizeof *c);
    if (!c) {
        duo_fail(err, "out of memory for the inference context (%zu bytes)", sizeof *c);
        return NULL;
    }
    c->m = m;
    c->be = be;
    c->o = *o;
    c->dm = dm;
    c->max_len = o->max_prompt + (size_t)o->max_new_tokens;
    if (c->max_len > (size_t)m->cfg.max_position_embeddings) {
        duo_fail(err, "%s: a prompt of %zu tokens plus %d new ones exceeds the model's %d positions", m->dir,
                 o->max_prompt, o->max_new_tokens, m->cfg.max_position_embeddings);
        free(c);
        return NULL;
    }
    c->max_chunk = o->prefilling_chunk_size > 0 && (size_t)o->prefilling_chunk_size < o->max_prompt
                       ? (size_t)o->prefilling_chunk_size : o->max_prompt;
    /* sharing the first forward keeps a copy of its K and V: dropped (each pattern computes it) where
     * only the copy does not fit */
    c->share = o->share_prefill && o->prefill == PREFILL_REFERENCE && !o->argmax_fn;
    duo_error scratch = {{0}};
    if (c->share && check_memory(m, &dm, be, c->max_len, c->max_chunk, c->max_chunk, &scratch)) c->share = 0;
    if (check_memory(m, &dm, be, c->max_len, c->max_chunk, 0, err)) {
        free(c);
        return NULL;
    }
    if (infer_set_pattern(c, full, err)) {
        infer_free(c);
        return NULL;
    }
    size_t a = be->act_size, ch = c->max_chunk, mlp = duo_mlp_rows(&dm, ch);
    size_t d = (size_t)dm.d, qd = (size_t)dm.qdim, kvd = (size_t)dm.kvdim, half = (size_t)(dm.hd / 2);
    struct { void **p; size_t bytes; } bufs[] = {
        {&c->cos_t, c->max_len * half * a}, {&c->sin_t, c->max_len * half * a}, {&c->x, ch * d * a},
        {&c->h, ch * d * a}, {&c->q, ch * qd * a}, {&c->qp, ch * qd * a}, {&c->att, ch * qd * a},
        {&c->attp, ch * qd * a}, {&c->k, ch * kvd * a}, {&c->v, ch * kvd * a}, {&c->kp, ch * kvd * a},
        {&c->vp, ch * kvd * a}, {&c->g, mlp * (size_t)dm.inter * a}, {&c->u, mlp * (size_t)dm.inter * a},
        {&c->last, d * a}, {&c->logits, (size_t)dm.vocab * a}, {(void **)&c->d_ids, ch * sizeof(int32_t)},
        {(void **)&c->d_pos, ch * sizeof(int32_t)}, {(void **)&c->d_best, sizeof(int32_t)}};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs && !be->failed; i++) *bufs[i].p = be->ops->alloc(be, bufs[i].bytes);
    c->pos = malloc(ch * sizeof *c->pos);
    if (o->argmax_fn && !be->failed) {
        c->d_amax = be->ops->alloc(be, (size_t)dm.H * sizeof(int32_t));
        c->amax = malloc((size_t)dm.H * sizeof *c->amax);
        c->amax_pos = malloc((size_t)dm.H * sizeof *c->amax_pos);
    }
    if (c->share && !be->failed) {
        c->cap_k = be->ops->alloc(be, (size_t)dm.L * ch * kvd * a);
        c->cap_v = be->ops->alloc(be, (size_t)dm.L * ch * kvd * a);
        c->cap_ids = malloc(ch * sizeof *c->cap_ids);
        c->cap_logits = malloc((size_t)dm.vocab * a);
    }
    c->host_logits = malloc((size_t)dm.vocab * a);
    double *inv_freq = malloc((size_t)(dm.hd / 2) * sizeof *inv_freq);
    if (!c->pos || !c->host_logits || !inv_freq || (o->argmax_fn && (!c->amax || !c->amax_pos)) ||
        (c->share && (!c->cap_ids || !c->cap_logits))) {
        free(inv_freq);
        infer_free(c);
        duo_fail(err, "out of memory allocating %zu bytes of host buffers for the inference path",
                 ch * sizeof *c->pos + (size_t)dm.vocab * a);
        return NULL;
    }
    rope_inv_freq(&m->cfg, dm.hd, a == sizeof(float), inv_freq);
    if (!be->failed) be->ops->rope_tables(be, inv_freq, dm.hd, c->max_len, c->cos_t, c->sin_t);
    free(inv_freq);
    if (be->failed) { /* a buffer did not fit: the backend's message says which and how much */
        backend_check(be, err);
        duo_error_prefix(err, "inference buffers for %zu positions (chunk %zu)", c->max_len, ch);
        infer_free(c);
        return NULL;
    }
    c->w = weights_create(m, be, 1, err);
    if (!c->w || backend_check(be, err)) {
        if (c->w) duo_error_prefix(err, "inference buffers");
        infer_free(c);
        return NULL;
    }
    return c;
}

int infer_set_pattern(duo_infer *c, const uint8_t *full, duo_error *err) {
    free_order(c);
    kv_cache_free(&c->kv);
    if (build_order(c, full, err)) return -1;
    int *nf = malloc((size_t)c->dm.L * sizeof *nf);
    if (!nf) return duo_fail(err, "out of memory for %d layers' head counts", c->dm.L);
    for (int l = 0; l < c->dm.L; l++) nf[l] = c->order[l].num_full;
    int rc = kv_cache_init(&c->kv, c->be, c->dm.L, c->dm.KVH, c->dm.hd, nf, c->o.sink_size, c->o.recent_size,
                           c->max_len, c->max_chunk, err);
    free(nf);
    return rc;
}

/* The argmax hook's part for one attention call (a: its operands, heads from slot first_head of the
 * full-first order): the call's last query row only, into d_amax. */
static void argmax_last_row(duo_infer *c, const duo_attn_shape *sh, const duo_attn_args *a, int first_head) {
    duo_attn_args last = *a;
    last.nq = 1;
    last.qpos = a->qpos + (a->nq - 1);
    last.Q = act_at(c->be, a->Q, (a->nq - 1) * a->q_stride);
    c->be->ops->attn_argmax(c->be, sh, &last, c->d_amax + first_head);
}

/* The hook itself: key rows -> positions (full heads: row = position; streaming heads: their cache's
 * positions), full-first slots -> the model's query heads. */
static void argmax_report(duo_infer *c, int l, size_t m) {
    const head_order *ho = &c->order[l];
    int H = c->dm.H, full_q = ho->num_full * (H / c->dm.KVH);
    c->be->ops->download(c->be, c->amax, c->d_amax, (size_t)H * sizeof *c->amax);
    for (int j = 0; j < H; j++) {
        int32_t r = c->amax[j];
        c->amax_pos[ho->q_perm[j]] = r < 0 ? -1 : j < full_q ? r : c->kv.stream_pos[r];
    }
    c->o.argmax_fn(c->o.argmax_ctx, l, c->pos[m - 1], c->amax_pos);
}

/* While tracing: the residual stream's m rows downloaded and checked after `what` of layer l (-1: the
 * embedding); the first non-finite value is named with the tensor that explains it, if any. */
static int trace_check(duo_infer *c, int l, const char *what, size_t m, duo_error *err) {
    duo_backend *be = c->be;
    size_t d = (size_t)c->dm.d;
    be->ops->download(be, c->host_x, c->x, m * d * be->act_size);
    if (backend_check(be, err)) return -1;
    long bad = finite_first_bad(c->host_x, m * d, be->act_size);
    if (bad < 0) return 0;
    char why[600];
    if (!finite_weights_of(c->m, l, why, sizeof why))
        snprintf(why, sizeof why, "its weights are finite, so the activations overflowed%s",
                 be->act_size == sizeof(float) ? " float32" : "");
    size_t row = (size_t)bad / d;
    if (l < 0)
        return duo_fail(err, "%s: the token embedding at position %zu is not finite: %s", c->m->dir,
                        (size_t)c->pos[row], why);
    return duo_fail(err, "%s: the forward pass is not finite from layer %d's %s on (position %zu, hidden element %zu): %s",
                    c->m->dir, l, what, (size_t)c->pos[row], (size_t)bad % d, why);
}

/* The chunk's m rows of layer l's keys and values (c->kp, c->vp: [m][kvdim], full-first order) after the
 * cached ones: the full heads' columns into the full cache, the streaming heads' into the streaming one. */
static void cache_append(duo_infer *c, int l, size_t m) {
    duo_backend *be = c->be;
    const duo_ops *op = be->ops;
    duo_kv_cache *kv = &c->kv;
    int nf = c->order[l].num_full, ns = c->dm.KVH - nf, hd = c->dm.hd;
    size_t kvd = (size_t)c->dm.kvdim;
    if (nf) {
        size_t wf = (size_t)nf * hd;
        op->copy_rows(be, act_at(be, kv->k_full[l], kv->len * wf), wf, c->kp, kvd, m, (int)wf);
        op->copy_rows(be, act_at(be, kv->v_full[l], kv->len * wf), wf, c->vp, kvd, m, (int)wf);
    }
    if (ns) {
        size_t ws = (size_t)ns * hd;
        op->copy_rows(be, act_at(be, kv->k_stream[l], kv->stream_len * ws), ws, act_at(be, c->kp, (size_t)nf * hd), kvd,
                      m, (int)ws);
        op->copy_rows(be, act_at(be, kv->v_stream[l], kv->stream_len * ws), ws, act_at(be, c->vp, (size_t)nf * hd), kvd,
                      m, (int)ws);
    }
}

/* One layer of one forward over the chunk's m rows (positions kv.len .. kv.len + m - 1) in c->x.  Every
 * row's keys and values go to the cache; the layer's output is computed for rows [r0, m) only: the last
 * layer needs just the last row (the one whose logits the forward returns), so its queries, attention,
 * o_proj and MLP run on one row (rows r0.. of c->x; the others are left stale and read by nothing). */
static int layer_forward(duo_infer *c, int l, const duo_layer_dev *w, size_t m, size_t r0, int first_forward,
                         duo_error *err) {
    duo_backend *be = c->be;
    const duo_ops *op = be->ops;
    const duo_dims *dm = &c->dm;
    const head_order *ho = &c->order[l];
    duo_kv_cache *kv = &c->kv;
    int group = dm->H / dm->KVH, nf = ho->num_full, ns = dm->KVH - nf, hd = dm->hd;
    size_t mo = m - r0, d = (size_t)dm->d;
    const int32_t *qpos = c->d_pos + r0; /* [mo] the output rows' positions */
    void *xo = act_at(be, c->x, r0 * d);  /* [mo][d] the output rows */
    op->rmsnorm(be, c->x, m, dm->d, w->in_norm, dm->eps, c->h);
    layer_project_q(be, dm, w, act_at(be, c->h, r0 * d), mo, c->q, NULL);
    layer_project_kv(be, dm, w, c->h, m, c->k, c->v, NULL);
    op->rope(be, c->q, mo, dm->H, hd, qpos, c->cos_t, c->sin_t, 0);
    op->rope(be, c->k, m, dm->KVH, hd, c->d_pos, c->cos_t, c->sin_t, 0);
    size_t qd = (size_t)dm->qdim, kvd = (size_t)dm->kvdim;
    if (c->capturing) { /* the first forward to share: its K and V in the checkpoint's head order */
        op->copy(be, act_at(be, c->cap_k, (size_t)l * c->max_chunk * kvd), c->k, m * kvd);
        op->copy(be, act_at(be, c->cap_v, (size_t)l * c->max_chunk * kvd), c->v, m * kvd);
    }
    op->permute_heads(be, c->q, mo, dm->H, hd, ho->q_perm, c->qp);
    op->permute_heads(be, c->k, m, dm->KVH, hd, ho->kv_perm, c->kp);
    op->permute_heads(be, c->v, m, dm->KVH, hd, ho->kv_perm, c->vp);
    cache_append(c, l, m);
    if (nf) { /* full heads: every position so far, plus the chunk causally */
        size_t wf = (size_t)nf * hd;
        duo_attn_shape sh = {nf * group, nf, hd, {ATTN_FULL, 0, 0}};
        duo_attn_args a = {.nq = mo, .nk = kv->len + m, .qpos = qpos, .kpos = NULL, .Q = c->qp,
                           .K = kv->k_full[l], .V = kv->v_full[l], .O = c->attp, .q_stride = qd, .kv_stride = wf,
                           .o_stride = qd};
        op->attn_fwd(be, &sh, &a);
        if (c->o.argmax_fn) argmax_last_row(c, &sh, &a, 0);
    }
    if (ns) { /* streaming heads: the sink and the recent window cached, plus the chunk */
        size_t ws = (size_t)ns * hd, qoff = (size_t)nf * group * hd;
        duo_attn_mask mask = {ATTN_FULL, 0, 0};
        if (first_forward && c->o.prefill == PREFILL_STREAMING)
            mask = (duo_attn_mask){ATTN_STREAM_SDPA, c->o.sink_size, c->o.recent_size};
        duo_attn_shape sh = {ns * group, ns, hd, mask};
        duo_attn_args a = {.nq = mo, .nk = kv->stream_len + m, .qpos = qpos, .kpos = kv->d_stream_pos,
                           .Q = act_at(be, c->qp, qoff), .K = kv->k_stream[l], .V = kv->v_stream[l],
                           .O = act_at(be, c->attp, qoff), .q_stride = qd, .kv_stride = ws, .o_stride = qd};
        op->attn_fwd(be, &sh, &a);
        if (c->o.argmax_fn) argmax_last_row(c, &sh, &a, nf * group);
    }
    if (c->o.argmax_fn) argmax_report(c, l, m);
    op->permute_heads(be, c->attp, mo, dm->H, hd, ho->q_back, c->att);
    op->linear(be, c->att, mo, dm->qdim, w->wo, dm->d, xo, 1);
    if (c->trace && trace_check(c, l, "attention", m, err)) return -1;
    op->rmsnorm(be, xo, mo, dm->d, w->post_norm, dm->eps, c->h);
    layer_mlp_add(be, dm, w, c->h, mo, xo, c->g, c->u);
    return c->trace ? trace_check(c, l, "MLP", m, err) : 0;
}

/* A host logits row (act_size elements) as float32. */
static void logits_to_float(const duo_infer *c, const void *row, float *out) {
    if (c->be->act_size == sizeof(float)) memcpy(out, row, (size_t)c->dm.vocab * sizeof(float));
    else /* a wider compute type: narrowed on the host (a test path) */
        for (int i = 0; i < c->dm.vocab; i++) out[i] = (float)((const double *)row)[i];
}

/* One forward of ids[m] (checked by the caller); the greedy next id after its last row into *next, its logits into logits_out
 * (host [vocab]) when non-NULL. */
static int forward(duo_infer *c, const int32_t *ids, size_t m, int32_t *next, float *logits_out, duo_error *err) {
    duo_backend *be = c->be;
    const duo_ops *op = be->ops;
    const duo_dims *dm = &c->dm;
    int first = c->kv.len == 0;
    if (kv_cache_begin(&c->kv, m, err)) return -1;
    for (size_t i = 0; i < m; i++) c->pos[i] = (int32_t)(c->kv.len + i);
    op->upload(be, c->d_pos, c->pos, m * sizeof *c->pos);
    op->upload(be, c->d_ids, ids, m * sizeof *ids);
    op->embed(be, c->m->embed_tokens, c->d_ids, m, c->x);
    if (c->trace && trace_check(c, -1, "embedding", m, err)) return -1;
    for (int l = 0; l < dm->L; l++) {
        const duo_layer_dev *w = weights_layer(c->w, l, err);
        /* the last layer's output only for the last row (the argmax hook reads the last row too), but for
         * the non-finite diagnosis, which checks every row's activations */
        size_t r0 = l == dm->L - 1 && !c->trace ? m - 1 : 0;
        if (!w || layer_forward(c, l, w, m, r0, first, err)) return -1;
    }
    kv_cache_end(&c->kv, m);
    const void *head = weights_lm_head(c->w, err);
    if (!head) return -1;
    op->rmsnorm(be, act_at(be, c->x, (m - 1) * (size_t)dm->d), 1, dm->d, weights_final_norm(c->w), dm->eps, c->last);
    op->linear(be, c->last, 1, dm->d, head, dm->vocab, c->logits, 0);
    op->argmax_rows(be, c->logits, 1, dm->vocab, c->d_best);
    op->download(be, next, c->d_best, sizeof *next);
    /* the logits row comes to the host every forward (vocab values, small next to the forward itself): a
     * NaN or Inf there would otherwise be decoded as id 0 */
    op->download(be, c->host_logits, c->logits, (size_t)dm->vocab * be->act_size);
    if (backend_check(be, err)) return -1;
    long bad = finite_first_bad(c->host_logits, (size_t)dm->vocab, be->act_size);
    if (bad >= 0) {
        c->nonfinite = 1;
        double v = be->act_size == sizeof(float) ? ((float *)c->host_logits)[bad] : ((double *)c->host_logits)[bad];
        return duo_fail(err, "%s: the logits are not finite (%s at vocabulary index %ld, position %zu)", c->m->dir,
                        isnan(v) ? "NaN" : "Inf", bad, (size_t)c->pos[m - 1]);
    }
    if (logits_out) logits_to_float(c, c->host_logits, logits_out);
    return 0;
}

/* The remembered first forward (m rows) into this pattern's caches: per layer its K and V permuted into
 * the full-first order and appended as a forward appends them, then evicted as a forward ends. */
static int restore_first(duo_infer *c, size_t m, duo_error *err) {
    duo_backend *be = c->be;
    const duo_dims *dm = &c->dm;
    size_t kvd = (size_t)dm->kvdim;
    if (kv_cache_begin(&c->kv, m, err)) return -1;
    for (int l = 0; l < dm->L; l++) {
        const head_order *ho = &c->order[l];
        be->ops->permute_heads(be, act_at(be, c->cap_k, (size_t)l * c->max_chunk * kvd), m, dm->KVH, dm->hd, ho->kv_perm,
                               c->kp);
        be->ops->permute_heads(be, act_at(be, c->cap_v, (size_t)l * c->max_chunk * kvd), m, dm->KVH, dm->hd, ho->kv_perm,
                               c->vp);
        cache_append(c, l, m);
    }
    kv_cache_end(&c->kv, m);
    return backend_check(be, err);
}

/* The logits of a forward were not finite: the same forwards again (the prompt's prefill and one-token
 * steps, then the generated ids), checking the residual stream after every layer, so the message names
 * where the first NaN or Inf appears and the weight tensor that holds one, if any. */
static void diagnose_nonfinite(duo_infer *c, const int32_t *prompt, size_t n, size_t pre, const int32_t *gen,
                               size_t ngen, duo_error *err) {
    duo_error why = {{0}};
    c->host_x = c->host_x ? c->host_x : malloc(c->max_chunk * (size_t)c->dm.d * c->be->act_size);
    if (!c->host_x) return; /* the logits message stands */
    c->trace = 1;
    c->nonfinite = 0;
    kv_cache_reset(&c->kv);
    int32_t next;
    int rc = 0;
    for (size_t s = 0; s < pre && !rc; s += c->max_chunk)
        rc = forward(c, prompt + s, pre - s < c->max_chunk ? pre - s : c->max_chunk, &next, NULL, &why);
    for (size_t i = pre; i < n && !rc; i++) rc = forward(c, prompt + i, 1, &next, NULL, &why);
    for (size_t i = 0; i < ngen && !rc; i++) rc = forward(c, gen + i, 1, &next, NULL, &why);
    c->trace = 0;
    if (rc && !c->nonfinite) { /* found in a layer */
        memcpy(err->msg, why.msg, sizeof why.msg);
        return;
    }
    char where[600];
    size_t len = strlen(err->msg);
    if (finite_weights_of(c->m, c->dm.L, where, sizeof where) && len + 3 < sizeof err->msg)
        snprintf(err->msg + len, sizeof err->msg - len, ": %s", where);
}

int infer_load_weights(duo_infer *c, duo_error *err) {
    for (int l = 0; l < c->m->cfg.num_hidden_layers; l++)
        if (!weights_layer(c->w, l, err)) return -1;
    return weights_lm_head(c->w, err) ? 0 : -1;
}

int infer_shares_prefill(const duo_infer *c) { return c->share; }

void infer_result_free(duo_infer_result *res) {
    free(res->ids);
    free(res->logits);
    memset(res, 0, sizeof *res);
}

int infer_generate(duo_infer *c, const int32_t *prompt, size_t n, const int32_t *eos, int num_eos, duo_stop_fn stop,
                   void *stop_ctx, size_t keep_logits, duo_infer_result *res, duo_error *err) {
    memset(res, 0, sizeof *res);
    if (n == 0) return duo_fail(err, "empty prompt");
    if (n > c->o.max_prompt)
        return duo_fail(err, "a prompt of %zu tokens is longer than the %zu this context was made for", n, c->o.max_prompt);
    if (dims_check_ids(&c->dm, prompt, n, err)) return -1; /* generated ids come from argmax: always inside */
    size_t vocab = (size_t)c->dm.vocab, max_new = (size_t)c->o.max_new_tokens;
    if (keep_logits > max_new) keep_logits = max_new;
    res->ids = malloc(max_new * sizeof *res->ids);
    res->logits = keep_logits ? malloc(keep_logits * vocab * sizeof *res->logits) : NULL;
    if (!res->ids || (keep_logits && !res->logits)) {
        infer_result_free(res);
        return duo_fail(err, "out of memory for %zu generated ids and %zu logits rows of %zu (%zu bytes)", max_new,
                        keep_logits, vocab, max_new * sizeof *res->ids + keep_logits * vocab * sizeof *res->logits);
    }
    kv_cache_reset(&c->kv);
    /* the prompt: chunked prefill of all but its last decoding_simulation_length tokens (at least one token
     * is prefilled), then those one at a time */
    size_t sim = (size_t)c->o.decoding_simulation_length < n ? (size_t)c->o.decoding_simulation_length : n - 1;
    size_t pre = n - sim, chunk = c->max_chunk;
    int32_t next = 0;
    int rc = 0;
    double t0 = clock_wall_s();
    /* the first forward: restored when sharing and its ids are the remembered ones, else computed (and
     * remembered when sharing) */
    size_t m0 = pre < chunk ? pre : chunk;
    float *row0 = m0 == n && keep_logits ? res->logits : NULL;
    if (c->share && c->cap_m == m0 && !memcmp(c->cap_ids, prompt, m0 * sizeof *prompt)) {
        rc = restore_first(c, m0, err);
        next = c->cap_next;
        if (!rc && row0) logits_to_float(c, c->cap_logits, row0);
        res->shared_prefill = 2;
        res->shared_prefill_s = c->cap_s;
    } else {
        c->cap_m = 0;
        c->capturing = c->share;
        rc = forward(c, prompt, m0, &next, row0, err);
        c->capturing = 0;
        if (!rc && c->share) {
            memcpy(c->cap_ids, prompt, m0 * sizeof *prompt);
            memcpy(c->cap_logits, c->host_logits, vocab * c->be->act_size);
            c->cap_next = next;
            c->cap_m = m0;
            c->cap_s = clock_wall_s() - t0;
            res->shared_prefill = 1;
            res->shared_prefill_s = c->cap_s;
        }
    }
    double tf = clock_wall_s();
    for (size_t s = m0; s < pre && !rc; s += chunk) {
        size_t m = pre - s < chunk ? pre - s : chunk;
        rc = forward(c, prompt + s, m, &next, s + m == n && keep_logits ? res->logits : NULL, err);
    }
    double t1 = clock_wall_s();
    res->prefill_s = t1 - (res->shared_prefill == 1 ? tf : t0);
    for (size_t i = pre; i < n && !rc; i++, res->decode_tokens++)
        rc = forward(c, prompt + i, 1, &next, i + 1 == n && keep_logits ? res->logits : NULL, err);
    res->kv_bytes = kv_cache_bytes(&c->kv);
    res->kv_bytes_full = kv_cache_bytes_all_full(&c->kv);
    /* greedy decoding: next is the argmax after the prompt */
    while (!rc) {
        res->ids[res->n++] = next;
        int done = res->n == max_new;
        for (int e = 0; e < num_eos; e++) done |= next == eos[e];
        if (!done && stop) done = stop(stop_ctx, res->ids, res->n);
        if (done) break;
        float *lrow = res->n < keep_logits ? res->logits + res->n * vocab : NULL;
        rc = forward(c, &res->ids[res->n - 1], 1, &next, lrow, err);
        res->decode_tokens++;
    }
    res->decode_s = clock_wall_s() - t1;
    res->logits_rows = keep_logits < res->n ? keep_logits : res->n;
    if (rc && c->nonfinite && err) diagnose_nonfinite(c, prompt, n, pre, res->ids, res->n, err);
    if (rc) infer_result_free(res);
    return rc;
}
