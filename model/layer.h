/* The pieces of a decoder layer shared by the training step, the plain forward pass and the inference
 * path, written on the op interface: the dimensions, the MLP in row chunks, and the full-attention
 * layer over every position. */
#ifndef DUO_MODEL_LAYER_H
#define DUO_MODEL_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "data/model.h"
#include "kernels/ops.h"
#include "model/weights.h"

typedef struct {
    int L, d, H, KVH, hd, inter, qdim, kvdim, vocab;
    double eps;
} duo_dims;

/* The MLP runs over rows in chunks, so its n x intermediate activations are never held whole (the step's
 * backward recomputes gate/up per chunk from the saved post-norm input): as many rows as keep one
 * [rows][inter] buffer within DUO_MLP_CHUNK_ELEMS elements, in whole multiples of 256 rows, at least 256
 * (8B-sized models: 256).  A longer chunk gives each product more rows per packing of its weights: at 256
 * rows the CPU's MLP products of a 1024-wide model ran at 80% of the machine's sgemm rate. */
#define DUO_MLP_CHUNK_ELEMS ((size_t)1 << 22)
static inline size_t duo_mlp_chunk(const duo_dims *dm) {
    size_t rows = DUO_MLP_CHUNK_ELEMS / (size_t)(dm->inter > 0 ? dm->inter : 1) / 256 * 256;
    return rows < 256 ? 256 : rows;
}
/* The rows of the MLP's [rows][inter] scratch for forwards of up to n rows: n, at most one chunk. */
static inline size_t duo_mlp_rows(const duo_dims *dm, size_t n) {
    size_t chunk = duo_mlp_chunk(dm);
    return n < chunk ? n : chunk;
}

/* The dimensions of m; -1 with err set when the attention shape is unusable. */
int dims_of(const duo_model *m, duo_dims *dm, duo_error *err);

/* 0 when every id of ids[n] is inside the vocabulary; else -1 with err naming the first one outside and its
 * position. */
int dims_check_ids(const duo_dims *dm, const int32_t *ids, size_t n, duo_error *err);

/* Scratch of a full-attention layer pass over n rows (backend memory, activation elements). */
typedef struct {
    void *h;    /* [n][d] normed input, then normed residual */
    void *q;    /* [n][qdim] */
    void *k, *v;/* [n][kvdim] */
    void *a;    /* [n][qdim] attention output, before o_proj */
    void *g, *u;/* [duo_mlp_chunk][inter] */
} duo_full_bufs;

/* The attention inputs of m rows of normed hidden states h [m][d], before RoPE: q [m][qdim] =
 * q_proj(h) (+ bias), then with per-head norms (Qwen3) every head of q is RMS-normed in place; q_pre
 * (optional, [m][qdim]) keeps q before that norm for the backward pass.  Likewise k, v [m][kvdim]. */
void layer_project_q(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *h, size_t m, void *q,
                     void *q_pre);
void layer_project_kv(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *h, size_t m, void *k,
                      void *v, void *k_pre);
/* Backward of the per-head norms (nothing where the layer has none): dq [m][qdim] in place, from the
 * saved q_pre; likewise dk. */
void layer_project_q_bwd(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *q_pre, size_t m,
                         void *dq);
void layer_project_k_bwd(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *k_pre, size_t m,
                         void *dk);

/* Y[m rows] += down(silu(gate(X)) * up(X)), in row chunks; g, u: [duo_mlp_chunk][inter] scratch. */
void layer_mlp_add(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *X, size_t m, void *Y,
                   void *g, void *u);

/* Attention half of a layer with full causal attention on all n rows of x (positions pos[n], rows at
 * positions 0..n-1): b->a gets the per-head attention output before o_proj.  cos_t/sin_t: RoPE tables. */
void layer_full_attention(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, const void *x, size_t n,
                          const int32_t *pos, const void *cos_t, const void *sin_t, duo_full_bufs *b);
/* The rest of the layer: x += o_proj(b->a); x += MLP(post_norm(x)). */
void layer_finish(duo_backend *be, const duo_dims *dm, const duo_layer_dev *w, void *x, size_t n, duo_full_bufs *b);

#endif
