/* The training step's memory plan (DESIGN §5), backend-neutral: every buffer model/duo_step.c allocates
 * through a backend, computed from the model config, the sample (length n, label positions), the step
 * options and what the backend holds (element sizes, weight residency, the composites' workspace).  The
 * step sizes its buffers FROM this plan, so a plan made on a machine without a device (`bench step
 * --plan`) is what the device will be asked for, and `train` can check it against the device's free
 * memory before it starts.  The plan also counts the step's FLOPs (DESIGN §5) and the bytes its GEMMs and
 * attention score tiles move, for the time they imply at a device's peak. */
#ifndef DUO_MODEL_STEP_PLAN_H
#define DUO_MODEL_STEP_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/model_config.h"
#include "kernels/backend.h"
#include "model/cone.h"
#include "model/duo_step.h"

/* What the plan needs to know of a backend. */
typedef struct {
    const char *name;                 /* "cpu", "cuda", ... */
    size_t act_size, weight_size;     /* bytes of one activation / weight element */
    int weights_resident;             /* 1: every layer's weights held (a GPU); 0: one layer at a time */
    size_t workspace_bytes;           /* the composites' scratch the backend itself holds (attention tiles,
                                       * bf16 operand copies); 0 for a backend of fused ops (the CPU's) */
} duo_plan_backend;

/* The traits of a backend by name, without opening it (no device needed): "cpu" (fp32; bf16: bf16 weights), "cuda"
 * (fp32 or bf16; DEFAULT: bf16), "cpu-composite" (the CPU primitives under the composites).  -1 with
 * err set for an unknown name or a precision the backend cannot run. */
int step_plan_backend_named(const char *backend, duo_precision prec, duo_plan_backend *out, duo_error *err);
/* The traits of an opened backend. */
void step_plan_backend_of(const duo_backend *be, duo_plan_backend *out);

/* The step's per-position buffers (model/duo_step.c), each [rows][width] of activation elements unless
 * said otherwise; rows = n except where noted. */
enum {
    STEP_BUF_COS, STEP_BUF_SIN,                                  /* [n][hd/2] RoPE tables */
    STEP_BUF_XT, STEP_BUF_HT,                                    /* [n][d] teacher residual, normed rows */
    STEP_BUF_Q, STEP_BUF_KC, STEP_BUF_VC, STEP_BUF_SA,           /* [n][qdim], [n][kvdim] x2, [n][qdim] */
    STEP_BUF_LSE, STEP_BUF_ATT,                                  /* [n][H], [n][qdim] */
    STEP_BUF_XMID, STEP_BUF_H2, STEP_BUF_DOUT, STEP_BUF_DXMID, STEP_BUF_DH2, /* [n][d] */
    STEP_BUF_DATT, STEP_BUF_DQ,                                  /* [n][qdim] */
    STEP_BUF_DKC, STEP_BUF_DVC,                                  /* [n][kvdim] */
    STEP_BUF_DH1, STEP_BUF_DHQ, STEP_BUF_DXIN,                   /* [n][d] */
    STEP_BUF_G, STEP_BUF_U, STEP_BUF_DACT, STEP_BUF_DG, STEP_BUF_DU, /* [min(n, duo_mlp_chunk)][inter] */
    STEP_BUF_ALLPOS, STEP_BUF_IDS, STEP_BUF_LABPOS, STEP_BUF_LABROWS, /* [n] int32 */
    STEP_BUF_QPRE, STEP_BUF_KPRE,                                /* [n][qdim], [n][kvdim]; Qwen3's q/k norms
                                                                  * only (0 bytes otherwise) */
    STEP_NUM_BUFS
};

/* The categories the plan reports. */
enum {
    PLAN_WEIGHTS,   /* layer weights (resident: all layers; else one) and the final norm */
    PLAN_SAVED,     /* each layer's student input on its cone and the teacher's FA_T on Q_l */
    PLAN_WORK,      /* the per-position activation buffers (and the MLP's row chunks) */
    PLAN_ROPE,      /* cos/sin tables */
    PLAN_INDEX,     /* int32 positions / rows / ids, the gate gradient and the loss */
    PLAN_WORKSPACE, /* the composites' scratch (held by the backend, not the step) */
    PLAN_NUM_CATS
};
const char *step_plan_category_name(int cat);

typedef struct {
    size_t out_len, keys_len;   /* |Q_l| and the rows layer l reads (Q_l and every key its queries see) */
    size_t input_bytes, fa_bytes; /* saved: the student input [keys_len][d], the teacher's FA_T [out_len][qdim] */
} duo_plan_layer;

typedef struct {
    size_t n, num_labels;
    int num_layers;
    size_t buf_bytes[STEP_NUM_BUFS];
    size_t layer_weight_bytes;      /* one layer's tensors */
    size_t final_norm_bytes;
    size_t scalar_bytes;            /* the gate gradient [L][KVH] and the loss, doubles */
    duo_plan_layer *layers;         /* [num_layers] */
    size_t cat[PLAN_NUM_CATS];
    size_t total;                   /* every category */
    size_t step_bytes;              /* what the step itself allocates: total - workspace */
    /* work, DESIGN §5 */
    double flops;                   /* as duo_step_result.flops */
    double gemm_bytes, tile_bytes;  /* bytes the GEMMs read and write (weights + activation rows) and
                                     * the attention score tiles move (written, softmaxed, read) */
    size_t cone_positions, all_positions;
} duo_step_plan;

typedef struct {
    const duo_model_config *cfg;
    duo_step_opts opts;
    duo_plan_backend be;
    size_t n;
    /* the label positions: labels[n] (-100: not supervised), or, when NULL, the positions
     * [label_first, label_first + label_count) */
    const int32_t *labels;
    size_t label_first, label_count;
} duo_step_plan_in;

/* The plan of one step.  outs / keys (may be NULL): [num_layers] receive each layer's cone (Q_l and
 * the rows it reads; the caller frees them with posset_free), as the step's bookkeeping needs them.
 * -1 with err set on a bad input (no label, labels beyond n, an unusable shape) or out of memory. */
int step_plan_make(const duo_step_plan_in *in, duo_step_plan *p, duo_posset *outs, duo_posset *keys, duo_error *err);
void step_plan_free(duo_step_plan *p);

/* 0 when the plan fits in free_bytes of device memory; else -1 with err naming both figures (and the
 * plan's largest categories). */
int step_plan_check_fits(const duo_step_plan *p, size_t free_bytes, const char *device, duo_error *err);

#endif
