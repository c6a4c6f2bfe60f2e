/* A model's frozen weights on a backend (DESIGN §5): per layer, the tensors converted from the
 * checkpoint's storage dtype to the backend's weight type.  A backend with weights_resident keeps every
 * layer (a GPU); otherwise one layer is held at a time and converted when it is asked for (the CPU:
 * layers are used in order, forward then backward, so each is converted twice per step). */
#ifndef DUO_MODEL_WEIGHTS_H
#define DUO_MODEL_WEIGHTS_H

#include "data/model.h"
#include "kernels/ops.h"

/* One layer in backend memory (weight elements; shapes as the checkpoint's, [out][in]). */
typedef struct {
    void *in_norm;          /* [hidden] input_layernorm */
    void *wq, *wk, *wv;     /* [heads*hd][hidden], [kv*hd][hidden] x2 */
    void *wo;               /* [hidden][heads*hd] */
    void *post_norm;        /* [hidden] post_attention_layernorm */
    void *wg, *wu;          /* [inter][hidden] gate_proj, up_proj */
    void *wd;               /* [hidden][inter] down_proj */
    /* present where the architecture has them (Qwen), NULL otherwise */
    void *bq, *bk, *bv;     /* [heads*hd], [kv*hd] x2 biases of q/k/v_proj */
    void *q_norm, *k_norm;  /* [hd] RMSNorm weights of every query / key head, before RoPE */
} duo_layer_dev;

typedef struct duo_weights duo_weights;

/* keep_all 1 holds every layer even where the backend does not ask for it (the inference path runs all
 * layers once per token, so converting them again each time would dominate). */
duo_weights *weights_create(const duo_model *m, duo_backend *be, int keep_all, duo_error *err);
/* Layer l, converted if it is not held; NULL with err set on failure. */
const duo_layer_dev *weights_layer(duo_weights *w, int l, duo_error *err);
/* [hidden] model.norm, always held. */
const void *weights_final_norm(const duo_weights *w);
/* [vocab][hidden] lm_head (the embeddings when tied), converted on first use and kept. */
const void *weights_lm_head(duo_weights *w, duo_error *err);
/* Bytes of backend memory the weights hold now. */
size_t weights_bytes(const duo_weights *w);
void weights_free(duo_weights *w);

#endif
