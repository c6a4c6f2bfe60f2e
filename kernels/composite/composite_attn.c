/* Attention forward, backward and argmax as composites (kernels/ops.h attn_*; DESIGN §5): the CPU's
 * algorithm on primitives.  Queries in tiles of up to TILE_ROWS rows (TILE_ROWS_FULL for full
 * attention), each against the one or two contiguous key spans its mask needs (kernels/math/attn_rows.h);
 * per KV group, the scores of up to all of the group's query heads in one strided batch of GEMMs (K's
 * stride 0: GQA needs no copies), masked softmax rows by tile primitives, products by GEMM.  Tiles shrink
 * (rows, then heads) to fit be->composite_workspace_bytes.  Positions are downloaded once per call: the
 * spans are planned on the host, the tile primitives read the positions in backend memory. */
#include <math.h>

#include "kernels/composite/composite_impl.h"
#include "kernels/math/attn_rows.h"

/* Query rows per tile at most: streaming masks see a window, so taller tiles would compute more masked
 * scores; full attention sees every earlier key, and taller tiles only mean fewer launches. */
#define TILE_ROWS 256
#define TILE_ROWS_FULL 1024

typedef struct {
    duo_backend *be;
    const duo_attn_shape *sh;
    const duo_attn_args *a;
    const int32_t *hq, *hk; /* host copies of qpos / kpos (hk NULL: row r is position r) */
    duo_elem at;
    size_t es;
    int group;
} attn_call;

/* Columns rounded up so that tile rows start 16-byte aligned. */
static long long tile_ld(int cols) { return cols < 1 ? 4 : ((long long)cols + 3) / 4 * 4; }

/* Bytes a tile of rows x heads needs: nbuf score-sized buffers plus one row statistic per (head, row). */
static size_t tile_bytes(int rows, int heads, long long ld, int nbuf, size_t es) {
    return ((size_t)nbuf * (size_t)ld + 1) * (size_t)rows * (size_t)heads * es;
}

/* The tile for queries [r0, ...): its rows and heads per batch chosen to fit the workspace; 0, or -1
 * (recorded) when not even one row of one head fits. */
static int plan_tile(attn_call *c, size_t r0, int nbuf, duo_score_tile *t, int *heads) {
    duo_backend *be = c->be;
    size_t budget = be->composite_workspace_bytes, left = c->a->nq - r0;
    composite_state *st = be->composite; /* made by call_begin */
    int cap = st->tile_rows ? st->tile_rows : c->sh->mask.kind == ATTN_FULL ? TILE_ROWS_FULL : TILE_ROWS;
    int rows = left < (size_t)cap ? (int)left : cap, hb = c->group;
    t->mask = c->sh->mask;
    t->kpos = c->a->kpos;
    t->nk = c->a->nk;
    t->scale = 1.0 / sqrt((double)c->sh->head_dim);
    for (;;) {
        duo_tile_set_span(t, c->hk, c->hq[r0], c->hq[r0 + rows - 1]);
        t->ld = tile_ld(t->cols);
        if (tile_bytes(rows, hb, t->ld, nbuf, c->es) <= budget) break;
        if (rows > 1) rows = (rows + 1) / 2;
        else if (hb > 1) hb = (hb + 1) / 2;
        else {
            BACKEND_FAIL(be, "attention", "one score row of %d keys (%zu bytes) does not fit the workspace of %zu bytes",
                         t->cols, tile_bytes(1, 1, t->ld, nbuf, c->es), budget);
            return -1;
        }
    }
    t->qpos = c->a->qpos + r0;
    t->rows = rows;
    *heads = hb;
    return 0;
}

/* S[t][rows][ld] = X_t[rows][hd] Y_cols^T for the tile's heads h0.. (X rows x_stride apart, head t at
 * column (h0 + t) * hd; Y: K or V rows of KV group g).  Unscaled. */
static void tile_products_t(attn_call *c, const duo_score_tile *t, int hb, int h0, int g, const void *X, size_t x_stride,
                            size_t r0, const void *Y, void *S) {
    int hd = c->sh->head_dim;
    size_t es = c->es, ys = c->a->kv_stride;
    const void *Xt = comp_at(X, (r0 * x_stride + (size_t)h0 * hd) * es);
    if (t->a_rows)
        composite_gemm_rm(c->be, 0, 1, t->rows, (int)t->a_rows, hd, 1, Xt, c->at, (long long)x_stride, hd,
                          comp_at(Y, (size_t)g * hd * es), c->at, (long long)ys, 0, 0, S, c->at, t->ld,
                          (long long)t->rows * t->ld, hb);
    if (t->b_rows)
        composite_gemm_rm(c->be, 0, 1, t->rows, (int)t->b_rows, hd, 1, Xt, c->at, (long long)x_stride, hd,
                          comp_at(Y, (t->b_row * ys + (size_t)g * hd) * es), c->at, (long long)ys, 0, 0,
                          comp_at(S, t->a_rows * es), c->at, t->ld, (long long)t->rows * t->ld, hb);
}

/* OUT_t[rows][hd] = P_t[rows][cols] Y_cols (beta 0: overwritten), heads batched. */
static void tile_times_keys(attn_call *c, const duo_score_tile *t, int hb, int h0, int g, const void *P, const void *Y,
                            void *OUT, size_t out_stride, size_t r0) {
    int hd = c->sh->head_dim;
    size_t es = c->es, ys = c->a->kv_stride;
    void *Ot = comp_at(OUT, (r0 * out_stride + (size_t)h0 * hd) * es);
    if (t->a_rows)
        composite_gemm_rm(c->be, 0, 0, t->rows, hd, (int)t->a_rows, 1, P, c->at, t->ld, (long long)t->rows * t->ld,
                          comp_at(Y, (size_t)g * hd * es), c->at, (long long)ys, 0, 0, Ot, c->at, (long long)out_stride,
                          hd, hb);
    if (t->b_rows)
        composite_gemm_rm(c->be, 0, 0, t->rows, hd, (int)t->b_rows, 1, comp_at(P, t->a_rows * es), c->at, t->ld,
                          (long long)t->rows * t->ld, comp_at(Y, (t->b_row * ys + (size_t)g * hd) * es), c->at,
                          (long long)ys, 0, t->a_rows ? 1 : 0, Ot, c->at, (long long)out_stride, hd, hb);
}

/* dY_g[key rows] += P_t^T X_t for each head t of the tile (one GEMM per head: the heads share dY_g). */
static void tile_keys_accumulate(attn_call *c, const duo_score_tile *t, int hb, int h0, int g, const void *P,
                                 const void *X, size_t x_stride, size_t r0, void *dY) {
    int hd = c->sh->head_dim;
    size_t es = c->es, ys = c->a->kv_stride;
    for (int j = 0; j < hb; j++) {
        const void *Pj = comp_at(P, (size_t)j * t->rows * t->ld * es);
        const void *Xj = comp_at(X, (r0 * x_stride + (size_t)(h0 + j) * hd) * es);
        if (t->a_rows)
            composite_gemm_rm(c->be, 1, 0, (int)t->a_rows, hd, t->rows, 1, Pj, c->at, t->ld, 0, Xj, c->at,
                              (long long)x_stride, 0, 1, comp_at(dY, (size_t)g * hd * es), c->at, (long long)ys, 0, 1);
        if (t->b_rows)
            composite_gemm_rm(c->be, 1, 0, (int)t->b_rows, hd, t->rows, 1, comp_at(Pj, t->a_rows * es), c->at, t->ld, 0,
                              Xj, c->at, (long long)x_stride, 0, 1, comp_at(dY, (t->b_row * ys + (size_t)g * hd) * es),
                              c->at, (long long)ys, 0, 1);
    }
}

static int call_begin(attn_call *c, duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a,
                      const char *name) {
    c->be = be;
    c->sh = sh;
    c->a = a;
    c->at = (duo_elem)be->act_type;
    c->es = be->act_size;
    c->group = sh->num_heads / sh->num_kv_heads;
    composite_state *st = composite_get(be, name);
    if (!st) return -1;
    c->hq = composite_host_ints(be, a->qpos, a->nq, &st->hq, &st->hq_cap, name);
    c->hk = a->kpos ? composite_host_ints(be, a->kpos, a->nk, &st->hk, &st->hk_cap, name) : NULL;
    return c->hq && (c->hk || !a->kpos) ? 0 : -1;
}

/* One tile of a call's walk: queries [r0, r0 + t->rows) x heads [h0, h0 + t->heads) of KV group g, with
 * workspace ws sized for hb heads (the tile's nbuf score buffers and row statistics). */
typedef void (*tile_fn)(attn_call *c, duo_score_tile *t, int g, int h0, size_t r0, void *ws, int hb, void *ctx);

/* Every tile of the call: per KV group, the queries in tiles that fit the workspace (plan_tile), the
 * group's heads hb at a time; stops at the first failure (recorded). */
static void for_each_tile(attn_call *c, int nbuf, const char *name, tile_fn fn, void *ctx) {
    duo_backend *be = c->be;
    for (int g = 0; g < c->sh->num_kv_heads; g++)
        for (size_t r0 = 0; r0 < c->a->nq;) {
            duo_score_tile t;
            int hb;
            if (plan_tile(c, r0, nbuf, &t, &hb)) return;
            void *ws = composite_ws(be, tile_bytes(t.rows, hb, t.ld, nbuf, c->es), name);
            if (!ws) return;
            for (int h0 = g * c->group; h0 < (g + 1) * c->group; h0 += hb) {
                t.heads = (g + 1) * c->group - h0 < hb ? (g + 1) * c->group - h0 : hb;
                fn(c, &t, g, h0, r0, ws, hb, ctx);
            }
            r0 += t.rows;
        }
}

static void fwd_tile(attn_call *c, duo_score_tile *t, int g, int h0, size_t r0, void *ws, int hb, void *ctx) {
    duo_backend *be = c->be;
    const duo_attn_args *a = c->a;
    int H = c->sh->num_heads;
    void *S = ws, *lse_s = comp_at(ws, (size_t)hb * t->rows * t->ld * c->es); /* [heads][rows][ld], [heads][rows] */
    tile_products_t(c, t, t->heads, h0, g, a->Q, a->q_stride, r0, a->K, S);
    if (a->lse) be->prims->tile_softmax(be, t, S, comp_at(a->lse, (r0 * H + h0) * c->es), H, 1);
    else be->prims->tile_softmax(be, t, S, lse_s, 1, t->rows);
    tile_times_keys(c, t, t->heads, h0, g, S, a->V, a->O, a->o_stride, r0);
}

void composite_attn_fwd(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a) {
    attn_call c;
    if (a->nq == 0 || call_begin(&c, be, sh, a, "attn_fwd")) return;
    for_each_tile(&c, 1, "attn_fwd", fwd_tile, NULL);
}

/* dV += P^T dO; dP = dO V^T; dS = P (dP - rowsum(dO*O)) scale; dQ = dS K; dK += dS^T Q. */
static void bwd_tile(attn_call *c, duo_score_tile *t, int g, int h0, size_t r0, void *ws, int hb, void *ctx) {
    duo_backend *be = c->be;
    const duo_attn_args *a = c->a;
    int H = c->sh->num_heads, nh = t->heads, hd = c->sh->head_dim;
    size_t tile = (size_t)hb * t->rows * t->ld * c->es;
    void *Pb = ws, *dP = comp_at(ws, tile), *D = comp_at(ws, 2 * tile); /* [hb][rows][ld] x2, [rows][hb] */
    tile_products_t(c, t, nh, h0, g, a->Q, a->q_stride, r0, a->K, Pb);
    be->prims->tile_probs(be, t, Pb, comp_at(a->lse, (r0 * H + h0) * c->es), H, 1);
    tile_products_t(c, t, nh, h0, g, a->dO, a->o_stride, r0, a->V, dP);
    tile_keys_accumulate(c, t, nh, h0, g, Pb, a->dO, a->o_stride, r0, a->dV);
    size_t off = (r0 * a->o_stride + (size_t)h0 * hd) * c->es;
    be->prims->head_dot_rows(be, comp_at(a->dO, off), a->o_stride, comp_at(a->O, off), a->o_stride, t->rows, nh, hd, D,
                             nh);
    be->prims->tile_dscores(be, t, Pb, dP, D, nh, 1);
    tile_times_keys(c, t, nh, h0, g, Pb, a->K, a->dQ, a->q_stride, r0);
    tile_keys_accumulate(c, t, nh, h0, g, Pb, a->Q, a->q_stride, r0, a->dK);
}

void composite_attn_bwd(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a) {
    attn_call c;
    if (a->nq == 0 || call_begin(&c, be, sh, a, "attn_bwd")) return;
    for_each_tile(&c, 2, "attn_bwd", bwd_tile, NULL);
}

static void argmax_tile(attn_call *c, duo_score_tile *t, int g, int h0, size_t r0, void *ws, int hb, void *ctx) {
    int32_t *amax = ctx;
    tile_products_t(c, t, t->heads, h0, g, c->a->Q, c->a->q_stride, r0, c->a->K, ws);
    c->be->prims->tile_argmax(c->be, t, ws, amax + r0 * c->sh->num_heads + h0, c->sh->num_heads, 1);
}

void composite_attn_argmax(duo_backend *be, const duo_attn_shape *sh, const duo_attn_args *a, int32_t *amax) {
    attn_call c;
    if (a->nq == 0 || call_begin(&c, be, sh, a, "attn_argmax")) return;
    for_each_tile(&c, 1, "attn_argmax", argmax_tile, amax);
}
