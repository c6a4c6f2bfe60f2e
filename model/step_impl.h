/* The one source of the forward pass and the two-way step (DESIGN §1, §5), for one element type.
 * Included by model/duo_step.c (T float, S f32: the trainer's path) and model/duo_step_f64.c (T double,
 * S f64: the finite-difference oracle), so the double path checks exactly the code the trainer runs.
 *
 * Per step: teacher and student run layer by layer in lockstep.  The student's input to every layer is
 * kept on that layer's cone rows, the teacher's full-attention output FA_T[l] on the layer's output
 * rows; the backward pass recomputes each student layer from its saved input, then takes input
 * gradients (never weight gradients) down to the gates. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/ops.h"
#include "model/cone.h"
#include "model/duo_step.h"
#include "model/rope_freq.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, S)
#define CTX struct FN(step_ctx)

/* The MLP runs over rows in chunks of this many positions, so its n x intermediate activations are
 * never held whole (the backward recomputes gate/up per chunk from the saved post-norm input). */
#ifndef DUO_MLP_CHUNK
#define DUO_MLP_CHUNK 256
#endif

/* One layer's weights in T, converted from the checkpoint's dtype when the layer is needed. */
typedef struct {
    T *in_norm, *wq, *wk, *wv, *wo, *post_norm, *wg, *wu, *wd;
} FN(layer_w);

CTX {
    const duo_model *m;
    duo_step_opts opts;
    int L, d, H, KVH, hd, inter, qdim, kvdim;
    double eps;
    double *inv_freq;
    FN(layer_w) w;
    int loaded_layer; /* -1: none */
    T *final_norm;
    float *conv; /* float scratch for widening to double */
    size_t conv_cap;
    /* per-run buffers, grown to n */
    size_t n_cap;
    T *cos_t, *sin_t;
    T *xT, *hT, *qT, *kT, *vT, *aT, *gT, *uT; /* teacher (all positions); gT, uT alias dg, du */
    T *h1, *hq, *q, *kc, *vc, *kp, *vp, *sa, *lse, *att, *xmid, *h2, *g, *u, *out; /* student; g, u: one MLP row chunk */
    T *dout, *dxmid, *dact, *dg, *du, *dh2, *datt, *dq, *dkp, *dvp, *dh1, *dhq, *dxin;
    int *allpos, *row_map;
    /* per-run cone */
    duo_posset *outset;   /* outset[l]: rows layer l outputs (queries); its input rows are keyset[l] */
    duo_posset *keyset;   /* keyset[l] = outset[l-1] (keyset[0]: what layer 0 needs) */
    T **xin;              /* xin[l]: student input of layer l on keyset[l] rows */
    T **faT;              /* faT[l]: teacher FA on outset[l] rows */
    size_t sets_n;        /* n the sets were built for (0: none) */
};

static void FN(free_run_sets)(CTX *c) {
    if (!c->outset) return;
    for (int l = 0; l < c->L; l++) {
        posset_free(&c->outset[l]);
        posset_free(&c->keyset[l]);
        free(c->xin[l]);
        free(c->faT[l]);
    }
    free(c->outset);
    free(c->keyset);
    free(c->xin);
    free(c->faT);
    c->outset = c->keyset = NULL;
    c->xin = c->faT = NULL;
}

static int FN(load_tensor)(CTX *c, const duo_tensor *t, T *out, size_t expect, duo_error *err) {
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++) count *= (size_t)t->shape[i];
    if (count != expect)
        return duo_fail(err, "%s: tensor %s has %zu elements, expected %zu", c->m->dir, t->name, count, expect);
    if (sizeof(T) == sizeof(float)) {
        float *o = (float *)(void *)out;
        long nblk = (long)((count + 65535) / 65536);
#pragma omp parallel for schedule(static)
        for (long b = 0; b < nblk; b++) {
            size_t s0 = (size_t)b * 65536, k = count - s0 < 65536 ? count - s0 : 65536;
            tensor_to_f32(t, s0, k, o + s0);
        }
        return 0;
    }
    /* double: convert in float chunks, then widen (exact) */
    size_t chunk = 1 << 16;
    if (c->conv_cap < chunk) {
        free(c->conv);
        c->conv = malloc(chunk * sizeof *c->conv);
        if (!c->conv) return duo_fail(err, "out of memory converting %s", t->name);
        c->conv_cap = chunk;
    }
    for (size_t s = 0; s < count; s += chunk) {
        size_t k = count - s < chunk ? count - s : chunk;
        tensor_to_f32(t, s, k, c->conv);
        for (size_t i = 0; i < k; i++) out[s + i] = (T)c->conv[i];
    }
    return 0;
}

static int FN(load_layer)(CTX *c, int l, duo_error *err) {
    if (c->loaded_layer == l) return 0;
    const duo_layer_weights *lw = &c->m->layers[l];
    size_t d = (size_t)c->d;
    if (FN(load_tensor)(c, lw->input_layernorm, c->w.in_norm, d, err) ||
        FN(load_tensor)(c, lw->q_proj, c->w.wq, (size_t)c->qdim * d, err) ||
        FN(load_tensor)(c, lw->k_proj, c->w.wk, (size_t)c->kvdim * d, err) ||
        FN(load_tensor)(c, lw->v_proj, c->w.wv, (size_t)c->kvdim * d, err) ||
        FN(load_tensor)(c, lw->o_proj, c->w.wo, d * c->qdim, err) ||
        FN(load_tensor)(c, lw->post_attention_layernorm, c->w.post_norm, d, err) ||
        FN(load_tensor)(c, lw->gate_proj, c->w.wg, (size_t)c->inter * d, err) ||
        FN(load_tensor)(c, lw->up_proj, c->w.wu, (size_t)c->inter * d, err) ||
        FN(load_tensor)(c, lw->down_proj, c->w.wd, d * c->inter, err)) {
        c->loaded_layer = -1;
        duo_error_prefix(err, "layer %d", l);
        return -1;
    }
    c->loaded_layer = l;
    return 0;
}

static void FN(ctx_free)(CTX *c) {
    if (!c) return;
    FN(free_run_sets)(c);
    T **bufs[] = {&c->w.in_norm, &c->w.wq, &c->w.wk, &c->w.wv, &c->w.wo, &c->w.post_norm, &c->w.wg, &c->w.wu,
                  &c->w.wd, &c->final_norm, &c->cos_t, &c->sin_t, &c->xT, &c->hT, &c->q, &c->kc, &c->vc, &c->kp, &c->vp, &c->sa,
                  &c->lse, &c->att, &c->xmid, &c->h2, &c->g, &c->u, &c->dout, &c->dxmid,
                  &c->dact, &c->dg, &c->du, &c->dh2, &c->datt, &c->dq, &c->dkp, &c->dvp, &c->dh1, &c->dhq,
                  &c->dxin};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(*bufs[i]);
    free(c->allpos);
    free(c->row_map);
    free(c->inv_freq);
    free(c->conv);
    free(c);
}

static CTX *FN(ctx_create)(const duo_model *m, const duo_step_opts *opts, duo_error *err) {
    const duo_model_config *cfg = &m->cfg;
    if (cfg->num_attention_heads <= 0 || cfg->num_key_value_heads <= 0 ||
        cfg->num_attention_heads % cfg->num_key_value_heads || cfg->head_dim <= 0 || cfg->head_dim % 2) {
        duo_fail(err, "%s: unsupported attention shape (%d heads, %d KV heads, head_dim %d)", m->dir,
                 cfg->num_attention_heads, cfg->num_key_value_heads, cfg->head_dim);
        return NULL;
    }
    if (opts->sink_size < 0 || opts->recent_size < 1) {
        duo_fail(err, "sink_size must be >= 0 and recent_size >= 1 (got %d, %d)", opts->sink_size,
                 opts->recent_size);
        return NULL;
    }
    if (opts->streaming != STREAMING_BLOCKSPARSE && opts->streaming != STREAMING_SDPA) {
        duo_fail(err, "unknown streaming attention implementation %d", (int)opts->streaming);
        return NULL;
    }
    CTX *c = calloc(1, sizeof *c);
    if (!c) { duo_fail(err, "out of memory"); return NULL; }
    c->m = m;
    c->opts = *opts;
    c->L = cfg->num_hidden_layers;
    c->d = cfg->hidden_size;
    c->H = cfg->num_attention_heads;
    c->KVH = cfg->num_key_value_heads;
    c->hd = cfg->head_dim;
    c->inter = cfg->intermediate_size;
    c->qdim = c->H * c->hd;
    c->kvdim = c->KVH * c->hd;
    c->eps = cfg->rms_norm_eps;
    c->loaded_layer = -1;
    size_t d = (size_t)c->d;
    c->inv_freq = malloc((size_t)(c->hd / 2) * sizeof *c->inv_freq);
    c->w.in_norm = malloc(d * sizeof(T));
    c->w.post_norm = malloc(d * sizeof(T));
    c->final_norm = malloc(d * sizeof(T));
    c->w.wq = malloc((size_t)c->qdim * d * sizeof(T));
    c->w.wk = malloc((size_t)c->kvdim * d * sizeof(T));
    c->w.wv = malloc((size_t)c->kvdim * d * sizeof(T));
    c->w.wo = malloc((size_t)c->qdim * d * sizeof(T));
    c->w.wg = malloc((size_t)c->inter * d * sizeof(T));
    c->w.wu = malloc((size_t)c->inter * d * sizeof(T));
    c->w.wd = malloc((size_t)c->inter * d * sizeof(T));
    if (!c->inv_freq || !c->w.in_norm || !c->w.post_norm || !c->final_norm || !c->w.wq || !c->w.wk ||
        !c->w.wv || !c->w.wo || !c->w.wg || !c->w.wu || !c->w.wd) {
        FN(ctx_free)(c);
        duo_fail(err, "out of memory for one layer's weights");
        return NULL;
    }
    rope_inv_freq(cfg, c->hd, sizeof(T) == sizeof(float), c->inv_freq);
    if (FN(load_tensor)(c, m->norm, c->final_norm, d, err)) {
        FN(ctx_free)(c);
        return NULL;
    }
    return c;
}

/* Grows the per-position buffers to n rows. */
static int FN(ensure_n)(CTX *c, size_t n, duo_error *err) {
    if (n <= c->n_cap) return 0;
    size_t d = (size_t)c->d, qd = (size_t)c->qdim, kvd = (size_t)c->kvdim, in = (size_t)c->inter;
    size_t half = (size_t)c->hd / 2;
    size_t mlp_rows = n < DUO_MLP_CHUNK ? n : DUO_MLP_CHUNK;
    struct { T **p; size_t per_row; } bufs[] = {
        {&c->cos_t, half}, {&c->sin_t, half}, {&c->xT, d}, {&c->hT, d}, {&c->q, qd},
        {&c->kc, kvd}, {&c->vc, kvd}, {&c->kp, kvd}, {&c->vp, kvd}, {&c->sa, qd}, {&c->lse, (size_t)c->H},
        {&c->att, qd}, {&c->xmid, d}, {&c->h2, d},
        {&c->dout, d}, {&c->dxmid, d},  {&c->dh2, d},
        {&c->datt, qd}, {&c->dq, qd}, {&c->dkp, kvd}, {&c->dvp, kvd}, {&c->dh1, d}, {&c->dhq, d},
        {&c->dxin, d}};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
        free(*bufs[i].p);
        *bufs[i].p = malloc(n * bufs[i].per_row * sizeof(T));
        if (!*bufs[i].p) {
            c->n_cap = 0;
            return duo_fail(err, "out of memory for %zu positions", n);
        }
    }
    T **mlp_bufs[] = {&c->g, &c->u, &c->dact, &c->dg, &c->du};
    for (size_t i = 0; i < sizeof mlp_bufs / sizeof *mlp_bufs; i++) {
        free(*mlp_bufs[i]);
        *mlp_bufs[i] = malloc(mlp_rows * in * sizeof(T));
        if (!*mlp_bufs[i]) {
            c->n_cap = 0;
            return duo_fail(err, "out of memory for %zu positions", n);
        }
    }
    /* buffers whose lives never overlap share memory: the teacher's MLP runs only in the forward pass,
     * dG/dU only in the backward pass; the student's SwiGLU output is dead once down_proj has read it */
    c->gT = c->dg;
    c->uT = c->du;
    /* the teacher's attention buffers live only in the forward pass, the same-shaped gradients only in
     * the backward; the student's h1/hq are dead before dh1/dhq are written, and the recompute never
     * writes the layer output (out), so dout can hold the incoming gradient meanwhile */
    c->qT = c->datt;
    c->aT = c->dq;
    c->kT = c->dkp;
    c->vT = c->dvp;
    c->h1 = c->dh1;
    c->hq = c->dhq;
    c->out = c->dout;
    free(c->allpos);
    free(c->row_map);
    c->allpos = malloc(n * sizeof *c->allpos);
    c->row_map = malloc(n * sizeof *c->row_map);
    if (!c->allpos || !c->row_map) {
        c->n_cap = 0;
        return duo_fail(err, "out of memory for %zu positions", n);
    }
    for (size_t i = 0; i < n; i++) c->allpos[i] = (int)i;
    c->n_cap = n;
    return 0;
}

static int FN(embed)(CTX *c, const int32_t *ids, size_t n, T *x, duo_error *err) {
    const duo_tensor *e = c->m->embed_tokens;
    int vocab = (int)e->shape[0];
    float *row = sizeof(T) == sizeof(float) ? NULL : malloc((size_t)c->d * sizeof *row);
    if (sizeof(T) != sizeof(float) && !row) return duo_fail(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= vocab) {
            free(row);
            return duo_fail(err, "token id %d at position %zu is outside the vocabulary (%d)", ids[i], i, vocab);
        }
        T *dst = x + i * c->d;
        if (!row) {
            tensor_to_f32(e, (size_t)ids[i] * c->d, (size_t)c->d, (float *)(void *)dst);
        } else {
            tensor_to_f32(e, (size_t)ids[i] * c->d, (size_t)c->d, row);
            for (int k = 0; k < c->d; k++) dst[k] = (T)row[k];
        }
    }
    free(row);
    return 0;
}

static duo_attn_shape FN(shape)(const CTX *c, duo_attn_kind kind) {
    duo_attn_shape sh = {c->H, c->KVH, c->hd, {kind, c->opts.sink_size, c->opts.recent_size}};
    return sh;
}

static duo_attn_kind FN(stream_kind)(const CTX *c) {
    return c->opts.streaming == STREAMING_SDPA ? ATTN_STREAM_SDPA : ATTN_STREAM_BLOCKSPARSE;
}

/* Teacher attention half of layer l on all n positions: xT -> aT (per-head FA, before o_proj). */
static void FN(teacher_attn)(CTX *c, size_t n) {
    FN(rmsnorm)(c->xT, n, c->d, c->w.in_norm, c->eps, c->hT);
    FN(linear)(c->hT, n, c->d, c->w.wq, c->qdim, c->qT, 0);
    FN(linear)(c->hT, n, c->d, c->w.wk, c->kvdim, c->kT, 0);
    FN(linear)(c->hT, n, c->d, c->w.wv, c->kvdim, c->vT, 0);
    FN(rope)(c->qT, n, c->H, c->hd, c->allpos, c->cos_t, c->sin_t, 0);
    FN(rope)(c->kT, n, c->KVH, c->hd, c->allpos, c->cos_t, c->sin_t, 0);
    duo_attn_shape sh = FN(shape)(c, ATTN_FULL);
    FN(attn_fwd)(&sh, n, c->allpos, c->qT, c->kT, c->vT, c->aT, NULL);
}

/* Y[m rows] += down(silu(gate(X)) * up(X)), in row chunks. */
static void FN(mlp_add)(CTX *c, const T *X, size_t m, T *Y) {
    size_t d = (size_t)c->d;
    for (size_t r0 = 0; r0 < m; r0 += DUO_MLP_CHUNK) {
        size_t rows = m - r0 < DUO_MLP_CHUNK ? m - r0 : DUO_MLP_CHUNK;
        FN(linear)(X + r0 * d, rows, c->d, c->w.wg, c->inter, c->gT, 0);
        FN(linear)(X + r0 * d, rows, c->d, c->w.wu, c->inter, c->uT, 0);
        FN(swiglu)(c->gT, c->uT, rows * c->inter, c->gT);
        FN(linear)(c->gT, rows, c->inter, c->w.wd, c->d, Y + r0 * d, 1);
    }
}

/* Teacher rest of layer l: xT += o_proj(aT); xT += MLP(norm(xT)). */
static void FN(teacher_rest)(CTX *c, size_t n) {
    FN(linear)(c->aT, n, c->qdim, c->w.wo, c->d, c->xT, 1);
    FN(rmsnorm)(c->xT, n, c->d, c->w.post_norm, c->eps, c->hT);
    FN(mlp_add)(c, c->hT, n, c->xT);
}

static T FN(gate_of)(const T *gates, int l, int kvh, int KVH) {
    T a = gates[l * KVH + kvh];
    return a < 0 ? 0 : a > 1 ? 1 : a;
}

/* Student layer l forward from its saved input (rows keyset[l]) to c->out (rows outset[l]),
 * leaving every intermediate in the ctx buffers for the backward pass. */
static void FN(student_layer)(CTX *c, int l, const T *gates, size_t n, int with_mlp) {
    const duo_posset *K = &c->keyset[l], *O = &c->outset[l];
    size_t mk = K->len, mo = O->len, d = (size_t)c->d;
    const T *xin = c->xin[l];
    int *orow = c->row_map; /* row of each output position inside the input rows */
    posset_rows_in(O, K, orow);
    FN(rmsnorm)(xin, mk, c->d, c->w.in_norm, c->eps, c->h1);
    FN(linear)(c->h1, mk, c->d, c->w.wk, c->kvdim, c->kc, 0);
    FN(linear)(c->h1, mk, c->d, c->w.wv, c->kvdim, c->vc, 0);
    FN(rope)(c->kc, mk, c->KVH, c->hd, K->pos, c->cos_t, c->sin_t, 0);
    /* rows outside K are masked for every query but a chunk's key span may still read them: zero, not garbage */
    memset(c->kp, 0, n * c->kvdim * sizeof(T));
    memset(c->vp, 0, n * c->kvdim * sizeof(T));
    for (size_t r = 0; r < mk; r++) {
        memcpy(c->kp + (size_t)K->pos[r] * c->kvdim, c->kc + r * c->kvdim, (size_t)c->kvdim * sizeof(T));
        memcpy(c->vp + (size_t)K->pos[r] * c->kvdim, c->vc + r * c->kvdim, (size_t)c->kvdim * sizeof(T));
    }
    for (size_t r = 0; r < mo; r++) {
        memcpy(c->hq + r * d, c->h1 + (size_t)orow[r] * d, d * sizeof(T));
        memcpy(c->xmid + r * d, xin + (size_t)orow[r] * d, d * sizeof(T));
    }
    FN(linear)(c->hq, mo, c->d, c->w.wq, c->qdim, c->q, 0);
    FN(rope)(c->q, mo, c->H, c->hd, O->pos, c->cos_t, c->sin_t, 0);
    duo_attn_shape sh = FN(shape)(c, FN(stream_kind)(c));
    FN(attn_fwd)(&sh, mo, O->pos, c->q, c->kp, c->vp, c->sa, c->lse);
    /* blend with the teacher's full attention, per KV group */
    int group = c->H / c->KVH;
    const T *fa = c->faT[l];
    for (size_t r = 0; r < mo; r++)
        for (int h = 0; h < c->H; h++) {
            T a = FN(gate_of)(gates, l, h / group, c->KVH);
            size_t off = r * c->qdim + (size_t)h * c->hd;
            for (int e = 0; e < c->hd; e++) c->att[off + e] = (1 - a) * c->sa[off + e] + a * fa[off + e];
        }
    FN(linear)(c->att, mo, c->qdim, c->w.wo, c->d, c->xmid, 1);
    FN(rmsnorm)(c->xmid, mo, c->d, c->w.post_norm, c->eps, c->h2);
    if (!with_mlp) return; /* the backward pass recomputes the MLP per row chunk itself */
    memcpy(c->out, c->xmid, mo * d * sizeof(T));
    FN(mlp_add)(c, c->h2, mo, c->out);
}

/* Backward of student_layer (its intermediates are in the buffers): c->dout (rows outset[l]) ->
 * c->dxin (rows keyset[l]); adds d/d gates of layer l into grad_l[KVH]. */
static void FN(student_layer_bwd)(CTX *c, int l, const T *gates, double *grad_l) {
    const duo_posset *K = &c->keyset[l], *O = &c->outset[l];
    size_t mk = K->len, mo = O->len, d = (size_t)c->d;
    int *orow = c->row_map;
    posset_rows_in(O, K, orow);
    /* MLP, per row chunk: recompute gate/up from the post-norm input, then their input gradient */
    for (size_t r0 = 0; r0 < mo; r0 += DUO_MLP_CHUNK) {
        size_t rows = mo - r0 < DUO_MLP_CHUNK ? mo - r0 : DUO_MLP_CHUNK;
        FN(linear)(c->h2 + r0 * d, rows, c->d, c->w.wg, c->inter, c->g, 0);
        FN(linear)(c->h2 + r0 * d, rows, c->d, c->w.wu, c->inter, c->u, 0);
        FN(linear_bwd)(c->dout + r0 * d, rows, c->d, c->w.wd, c->inter, c->dact, 0);
        FN(swiglu_bwd)(c->g, c->u, c->dact, rows * c->inter, c->dg, c->du);
        FN(linear_bwd)(c->dg, rows, c->inter, c->w.wg, c->d, c->dh2 + r0 * d, 0);
        FN(linear_bwd)(c->du, rows, c->inter, c->w.wu, c->d, c->dh2 + r0 * d, 1);
    }
    memcpy(c->dxmid, c->dout, mo * d * sizeof(T));
    FN(rmsnorm_bwd)(c->xmid, mo, c->d, c->w.post_norm, c->eps, c->dh2, c->dxmid, 1);
    /* o_proj and the blend */
    FN(linear_bwd)(c->dxmid, mo, c->d, c->w.wo, c->qdim, c->datt, 0);
    int group = c->H / c->KVH;
    const T *fa = c->faT[l];
    for (int g = 0; g < c->KVH; g++) {
        T raw = gates[l * c->KVH + g];
        double acc = 0;
        for (size_t r = 0; r < mo; r++)
            for (int h = g * group; h < (g + 1) * group; h++) {
                size_t off = r * c->qdim + (size_t)h * c->hd;
                for (int e = 0; e < c->hd; e++) acc += (double)c->datt[off + e] * (fa[off + e] - c->sa[off + e]);
            }
        if (raw >= 0 && raw <= 1) grad_l[g] += acc; /* the clamp passes the gradient inside [0,1] */
    }
    for (size_t r = 0; r < mo; r++)
        for (int h = 0; h < c->H; h++) {
            T a = FN(gate_of)(gates, l, h / group, c->KVH);
            size_t off = r * c->qdim + (size_t)h * c->hd;
            for (int e = 0; e < c->hd; e++) c->datt[off + e] *= (1 - a);
        }
    /* streaming attention */
    memset(c->dkp, 0, c->sets_n * c->kvdim * sizeof(T));
    memset(c->dvp, 0, c->sets_n * c->kvdim * sizeof(T));
    duo_attn_shape sh = FN(shape)(c, FN(stream_kind)(c));
    FN(attn_bwd)(&sh, mo, O->pos, c->q, c->kp, c->vp, c->sa, c->lse, c->datt, c->dq, c->dkp, c->dvp);
    for (size_t r = 0; r < mk; r++) {
        memcpy(c->kc + r * c->kvdim, c->dkp + (size_t)K->pos[r] * c->kvdim, (size_t)c->kvdim * sizeof(T));
        memcpy(c->vc + r * c->kvdim, c->dvp + (size_t)K->pos[r] * c->kvdim, (size_t)c->kvdim * sizeof(T));
    }
    FN(rope)(c->dq, mo, c->H, c->hd, O->pos, c->cos_t, c->sin_t, 1);
    FN(rope)(c->kc, mk, c->KVH, c->hd, K->pos, c->cos_t, c->sin_t, 1);
    /* q/k/v projections, input norm, residual */
    FN(linear_bwd)(c->kc, mk, c->kvdim, c->w.wk, c->d, c->dh1, 0);
    FN(linear_bwd)(c->vc, mk, c->kvdim, c->w.wv, c->d, c->dh1, 1);
    FN(linear_bwd)(c->dq, mo, c->qdim, c->w.wq, c->d, c->dhq, 0);
    for (size_t r = 0; r < mo; r++) {
        T *dst = c->dh1 + (size_t)orow[r] * d;
        const T *src = c->dhq + r * d;
        for (size_t k = 0; k < d; k++) dst[k] += src[k];
    }
    FN(rmsnorm_bwd)(c->xin[l], mk, c->d, c->w.in_norm, c->eps, c->dh1, c->dxin, 0);
    for (size_t r = 0; r < mo; r++) {
        T *dst = c->dxin + (size_t)orow[r] * d;
        const T *src = c->dxmid + r * d;
        for (size_t k = 0; k < d; k++) dst[k] += src[k];
    }
}

/* Builds outset/keyset per layer and allocates the saved activations.  Cone off: every position. */
static int FN(build_sets)(CTX *c, const int32_t *labels, size_t n, duo_error *err) {
    FN(free_run_sets)(c);
    int L = c->L;
    c->outset = calloc((size_t)L, sizeof *c->outset);
    c->keyset = calloc((size_t)L, sizeof *c->keyset);
    c->xin = calloc((size_t)L, sizeof *c->xin);
    c->faT = calloc((size_t)L, sizeof *c->faT);
    if (!c->outset || !c->keyset || !c->xin || !c->faT) return duo_fail(err, "out of memory");
    duo_attn_mask mask = {FN(stream_kind)(c), c->opts.sink_size, c->opts.recent_size};
    for (int l = L - 1; l >= 0; l--) {
        duo_posset *o = &c->outset[l];
        if (!c->opts.use_cone) {
            o->pos = malloc(n * sizeof *o->pos);
            if (!o->pos) return duo_fail(err, "out of memory");
            for (size_t i = 0; i < n; i++) o->pos[i] = (int)i;
            o->len = n;
        } else if (l == L - 1) {
            o->pos = malloc(n * sizeof *o->pos);
            if (!o->pos) return duo_fail(err, "out of memory");
            for (size_t i = 0; i < n; i++)
                if (labels[i] != -100) o->pos[o->len++] = (int)i;
        } else {
            o->pos = malloc((c->keyset[l + 1].len ? c->keyset[l + 1].len : 1) * sizeof *o->pos);
            if (!o->pos) return duo_fail(err, "out of memory");
            memcpy(o->pos, c->keyset[l + 1].pos, c->keyset[l + 1].len * sizeof *o->pos);
            o->len = c->keyset[l + 1].len;
        }
        if (cone_keys(o, &mask, n, &c->keyset[l])) return duo_fail(err, "out of memory");
        c->xin[l] = malloc((c->keyset[l].len ? c->keyset[l].len : 1) * (size_t)c->d * sizeof(T));
        c->faT[l] = malloc((o->len ? o->len : 1) * (size_t)c->qdim * sizeof(T));
        if (!c->xin[l] || !c->faT[l]) return duo_fail(err, "out of memory for saved activations");
    }
    return 0;
}

static int FN(step_run)(CTX *c, const int32_t *ids, const int32_t *labels, size_t n, const T *gates,
                        duo_step_result *res, T *grad_gates, duo_error *err) {
    memset(res, 0, sizeof *res);
    if (n == 0) return duo_fail(err, "empty sample");
    if (n > (size_t)INT32_MAX / 2) return duo_fail(err, "sample of %zu tokens is too long", n);
    size_t nlab = 0;
    for (size_t i = 0; i < n; i++) nlab += labels[i] != -100;
    if (nlab == 0) return duo_fail(err, "sample of %zu tokens has no label positions (all -100)", n);
    int L = c->L, KVH = c->KVH;
    for (int i = 0; i < L * KVH; i++)
        if (!isfinite((double)gates[i])) return duo_fail(err, "gate [%d][%d] is not finite", i / KVH, i % KVH);
    if (FN(ensure_n)(c, n, err) || FN(build_sets)(c, labels, n, err)) return -1;
    c->sets_n = n;
    size_t d = (size_t)c->d;
    FN(rope_tables)(c->inv_freq, c->hd, n, c->cos_t, c->sin_t);
    if (FN(embed)(c, ids, n, c->xT, err)) return -1;

    /* forward, teacher and student in lockstep */
    for (int l = 0; l < L; l++) {
        if (FN(load_layer)(c, l, err)) return -1;
        if (l == 0) /* the student starts from the same embeddings */
            for (size_t r = 0; r < c->keyset[0].len; r++)
                memcpy(c->xin[0] + r * d, c->xT + (size_t)c->keyset[0].pos[r] * d, d * sizeof(T));
        FN(teacher_attn)(c, n);
        const duo_posset *O = &c->outset[l];
        for (size_t r = 0; r < O->len; r++)
            memcpy(c->faT[l] + r * c->qdim, c->aT + (size_t)O->pos[r] * c->qdim, (size_t)c->qdim * sizeof(T));
        FN(teacher_rest)(c, n);
        FN(student_layer)(c, l, gates, n, 1);
        if (l + 1 < L) memcpy(c->xin[l + 1], c->out, O->len * d * sizeof(T));
    }

    /* distill on the label positions: H = final norm output */
    const duo_posset *Olast = &c->outset[L - 1];
    T *HT = c->hT, *HS = c->h2; /* both free now: n x d buffers */
    size_t j = 0;
    double distill = 0;
    int *lab_rows = c->row_map; /* label k -> row in Olast */
    for (size_t r = 0; r < Olast->len; r++)
        if (labels[Olast->pos[r]] != -100) lab_rows[j++] = (int)r;
    for (size_t k = 0; k < nlab; k++) {
        memcpy(HT + k * d, c->xT + (size_t)Olast->pos[lab_rows[k]] * d, d * sizeof(T));
        memcpy(HS + k * d, c->out + (size_t)lab_rows[k] * d, d * sizeof(T));
    }
    FN(rmsnorm)(HT, nlab, c->d, c->final_norm, c->eps, HT);
    FN(rmsnorm)(HS, nlab, c->d, c->final_norm, c->eps, c->hq);
    HS = c->hq;
    for (size_t k = 0; k < nlab; k++) {
        double s = 0;
        for (size_t e = 0; e < d; e++) {
            double diff = (double)HT[k * d + e] - HS[k * d + e];
            s += diff * diff;
        }
        distill += s / (double)d;
    }
    distill /= (double)nlab;
    if (!isfinite(distill)) return duo_fail(err, "the distillation loss is not finite (%g)", distill);
    res->distill = distill;
    res->num_label_positions = nlab;

    /* backward: dH_S = -2 (H_T - H_S) / (d * nlab), through the final norm into the last layer's output */
    /* the rows of the last layer's output at label positions (before dout, which shares out's memory, is cleared) */
    T *xlab = c->xmid;
    for (size_t k = 0; k < nlab; k++) memcpy(xlab + k * d, c->out + (size_t)lab_rows[k] * d, d * sizeof(T));
    memset(c->dout, 0, Olast->len * d * sizeof(T));
    T *dHS = c->dh2; /* scratch nlab x d */
    T coef = (T)(-2.0 / ((double)d * (double)nlab));
    for (size_t k = 0; k < nlab * d; k++) dHS[k] = coef * (HT[k] - HS[k]);
    FN(rmsnorm_bwd)(xlab, nlab, c->d, c->final_norm, c->eps, dHS, c->dxin, 0);
    for (size_t k = 0; k < nlab; k++) memcpy(c->dout + (size_t)lab_rows[k] * d, c->dxin + k * d, d * sizeof(T));

    double *grad = calloc((size_t)(L * KVH), sizeof *grad);
    if (!grad) return duo_fail(err, "out of memory");
    for (int l = L - 1; l >= 0; l--) {
        if (FN(load_layer)(c, l, err)) { free(grad); return -1; }
        FN(student_layer)(c, l, gates, n, 0); /* recompute from the saved input */
        FN(student_layer_bwd)(c, l, gates, grad + (size_t)l * KVH);
        if (l > 0) memcpy(c->dout, c->dxin, c->keyset[l].len * d * sizeof(T));
    }
    for (int i = 0; i < L * KVH; i++) {
        if (!isfinite(grad[i])) {
            free(grad);
            return duo_fail(err, "the gate gradient [%d][%d] is not finite", i / KVH, i % KVH);
        }
        grad_gates[i] = (T)grad[i];
    }
    free(grad);

    /* bookkeeping: cone share and FLOPs (DESIGN §5) */
    double p_layer = (double)c->d * (c->qdim + 2.0 * c->kvdim) + (double)c->qdim * c->d + 3.0 * c->d * c->inter + 2.0 * c->d;
    duo_attn_mask mask = {FN(stream_kind)(c), c->opts.sink_size, c->opts.recent_size};
    double flops = 0;
    for (int l = 0; l < L; l++) {
        const duo_posset *O = &c->outset[l];
        res->cone_positions += O->len;
        flops += 2.0 * p_layer * (double)n + 2.0 * (double)n * (double)n * c->hd * c->H; /* teacher */
        double vis = 0; /* visible (query, key) pairs of the student's streaming attention */
        long sink_end = attn_mask_sink_end(&mask);
        for (size_t r = 0; r < O->len; r++) {
            long i = O->pos[r], a = sink_end < i + 1 ? sink_end : i + 1, b = attn_mask_recent_lo(&mask, i);
            if (b < a) b = a;
            vis += (double)a + (double)(i + 1 - b);
        }
        /* forward + recompute + backward (about twice a forward) of 2 GEMM-like products per pair */
        flops += 3 * 2.0 * p_layer * (double)O->len + 4 * 4.0 * vis * c->hd * c->H;
    }
    res->all_positions = (size_t)L * n;
    res->flops = flops;
    return 0;
}

/* Plain forward (the teacher alone): HF output_hidden_states (embeddings, each layer's output, the last
 * one replaced by the final norm's output: L+1 entries of n x d) and logits (n x vocab); either may be NULL. */
__attribute__((unused)) static int FN(forward)(CTX *c, const int32_t *ids, size_t n, T *hidden, T *logits, duo_error *err) {
    if (n == 0) return duo_fail(err, "empty sample");
    if (FN(ensure_n)(c, n, err)) return -1;
    size_t d = (size_t)c->d;
    FN(rope_tables)(c->inv_freq, c->hd, n, c->cos_t, c->sin_t);
    if (FN(embed)(c, ids, n, c->xT, err)) return -1;
    for (int l = 0; l < c->L; l++) {
        if (hidden) memcpy(hidden + (size_t)l * n * d, c->xT, n * d * sizeof(T));
        if (FN(load_layer)(c, l, err)) return -1;
        FN(teacher_attn)(c, n);
        FN(teacher_rest)(c, n);
    }
    FN(rmsnorm)(c->xT, n, c->d, c->final_norm, c->eps, c->hT);
    if (hidden) memcpy(hidden + (size_t)c->L * n * d, c->hT, n * d * sizeof(T));
    if (logits) {
        const duo_tensor *head = c->m->lm_head;
        size_t vocab = (size_t)head->shape[0];
        T *w = malloc(vocab * d * sizeof(T));
        if (!w) return duo_fail(err, "out of memory for lm_head");
        if (FN(load_tensor)(c, head, w, vocab * d, err)) { free(w); return -1; }
        FN(linear)(c->hT, n, c->d, w, (int)vocab, logits, 0);
        free(w);
    }
    return 0;
}
