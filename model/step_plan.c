/* The step's memory plan and work count (model/step_plan.h).  Every figure here is what model/duo_step.c
 * allocates or computes: the step takes its buffer sizes, its cone and its FLOP count from this file. */
#include "model/step_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/prims.h"
#include "model/layer.h"
#include "util/format.h"

int step_plan_backend_named(const char *backend, duo_precision prec, duo_plan_backend *out, duo_error *err) {
    memset(out, 0, sizeof *out);
    if (!strcmp(backend, "cpu") || !strcmp(backend, "cpu-composite")) {
        out->name = !strcmp(backend, "cpu") ? "cpu" : "cpu-composite";
        out->act_size = sizeof(float);
        out->weight_size = prec == DUO_PREC_BF16 ? 2 : sizeof(float); /* bf16: weights stored bf16 */
        out->workspace_bytes = strcmp(backend, "cpu") ? DUO_CPU_COMPOSITE_WORKSPACE_BYTES : 0;
        return 0;
    }
    if (!strcmp(backend, "cuda")) { /* kernels/cuda/backend_cuda.cu: float32 activations, weights per --dtype */
        out->name = "cuda";
        out->act_size = sizeof(float);
        out->weight_size = prec == DUO_PREC_FP32 ? sizeof(float) : 2;
        out->weights_resident = 1;
        out->workspace_bytes = DUO_CUDA_COMPOSITE_WORKSPACE_BYTES;
        return 0;
    }
    return duo_fail(err, "unknown backend '%s' for a memory plan (cpu, cuda)", backend);
}

void step_plan_backend_of(const duo_backend *be, duo_plan_backend *out) {
    out->name = be->name;
    out->act_size = be->act_size;
    out->weight_size = be->weight_size;
    out->weights_resident = be->weights_resident;
    out->workspace_bytes = be->prims ? be->composite_workspace_bytes : 0;
}

const char *step_plan_category_name(int cat) {
    static const char *const names[PLAN_NUM_CATS] = {"weights", "saved activations", "work buffers",
                                                      "RoPE tables", "index arrays", "composite workspace"};
    return cat >= 0 && cat < PLAN_NUM_CATS ? names[cat] : "?";
}

/* Bytes a linear layer moves over m rows: the weight [nout][k] once, the input rows and the output rows. */
static double linear_bytes(const duo_plan_backend *be, double m, double k, double nout) {
    return k * nout * (double)be->weight_size + m * (k + nout) * (double)be->act_size;
}

/* The MLP over m rows in chunks of duo_mlp_chunk rows: passes linear calls per chunk (3: gate, up, down;
 * 5 in the backward: the recomputed gate and up, then down, gate and up transposed). */
static double mlp_bytes(const duo_plan_backend *be, const duo_dims *dm, size_t m, int passes) {
    double bytes = 0;
    size_t chunk = duo_mlp_chunk(dm);
    for (size_t r0 = 0; r0 < m; r0 += chunk) {
        double rows = (double)(m - r0 < chunk ? m - r0 : chunk);
        bytes += passes * linear_bytes(be, rows, dm->d, dm->inter);
    }
    return bytes;
}

/* The attention projections of one layer pass: q and o on mo rows, k and v on mk rows. */
static double proj_bytes(const duo_plan_backend *be, const duo_dims *dm, size_t mo, size_t mk) {
    return linear_bytes(be, (double)mo, dm->d, dm->qdim) + 2 * linear_bytes(be, (double)mk, dm->d, dm->kvdim) +
           linear_bytes(be, (double)mo, dm->qdim, dm->d);
}

static void plan_buffers(const duo_dims *dm, int qk_norm, size_t a, size_t n, size_t *b) {
    size_t d = (size_t)dm->d, qd = (size_t)dm->qdim, kvd = (size_t)dm->kvdim, half = (size_t)(dm->hd / 2);
    size_t mlp = duo_mlp_rows(dm, n) * (size_t)dm->inter * a;
    b[STEP_BUF_COS] = b[STEP_BUF_SIN] = n * half * a;
    b[STEP_BUF_XT] = b[STEP_BUF_HT] = b[STEP_BUF_XMID] = b[STEP_BUF_H2] = b[STEP_BUF_DOUT] = b[STEP_BUF_DXMID] =
        b[STEP_BUF_DH2] = b[STEP_BUF_DH1] = b[STEP_BUF_DHQ] = b[STEP_BUF_DXIN] = n * d * a;
    b[STEP_BUF_Q] = b[STEP_BUF_SA] = b[STEP_BUF_ATT] = b[STEP_BUF_DATT] = b[STEP_BUF_DQ] = n * qd * a;
    b[STEP_BUF_KC] = b[STEP_BUF_VC] = b[STEP_BUF_DKC] = b[STEP_BUF_DVC] = n * kvd * a;
    b[STEP_BUF_LSE] = n * (size_t)dm->H * a;
    b[STEP_BUF_G] = b[STEP_BUF_U] = b[STEP_BUF_DACT] = b[STEP_BUF_DG] = b[STEP_BUF_DU] = mlp;
    b[STEP_BUF_ALLPOS] = b[STEP_BUF_IDS] = b[STEP_BUF_LABPOS] = b[STEP_BUF_LABROWS] = n * sizeof(int32_t);
    b[STEP_BUF_QPRE] = qk_norm ? n * qd * a : 0;
    b[STEP_BUF_KPRE] = qk_norm ? n * kvd * a : 0;
}

static int buffer_category(int buf) {
    if (buf == STEP_BUF_COS || buf == STEP_BUF_SIN) return PLAN_ROPE;
    if (buf >= STEP_BUF_ALLPOS && buf <= STEP_BUF_LABROWS) return PLAN_INDEX;
    return PLAN_WORK;
}

/* The last layer's outputs: the label positions (cone on) or every position. */
static int last_outputs(const duo_step_plan_in *in, duo_posset *o, size_t *nlab, duo_error *err) {
    size_t n = in->n;
    o->len = 0;
    o->pos = malloc((n ? n : 1) * sizeof *o->pos);
    if (!o->pos) return duo_fail(err, "out of memory for the dependency cone");
    *nlab = 0;
    for (size_t i = 0; i < n; i++) {
        int lab = in->labels ? in->labels[i] != -100 : i >= in->label_first && i - in->label_first < in->label_count;
        *nlab += lab;
        if (!in->opts.use_cone || lab) o->pos[o->len++] = (int)i;
    }
    if (*nlab == 0) {
        posset_free(o);
        return duo_fail(err, "sample of %zu tokens has no label positions", n);
    }
    return 0;
}

int step_plan_make(const duo_step_plan_in *in, duo_step_plan *p, duo_posset *outs, duo_posset *keys, duo_error *err) {
    memset(p, 0, sizeof *p);
    duo_model shape; /* dims_of reads the config only */
    memset(&shape, 0, sizeof shape);
    shape.cfg = *in->cfg;
    snprintf(shape.dir, sizeof shape.dir, "the model");
    duo_dims dm;
    if (dims_of(&shape, &dm, err)) return -1;
    size_t n = in->n, a = in->be.act_size, ws = in->be.weight_size;
    if (n == 0) return duo_fail(err, "empty sample");
    if (!in->labels && (in->label_count == 0 || in->label_first > n || in->label_count > n - in->label_first))
        return duo_fail(err, "labels [%zu, %zu) are not inside a sample of %zu tokens", in->label_first,
                        in->label_first + in->label_count, n);
    const duo_model_config *cfg = in->cfg;
    size_t d = (size_t)dm.d, qd = (size_t)dm.qdim, kvd = (size_t)dm.kvdim, L = (size_t)dm.L;
    p->n = n;
    p->num_layers = dm.L;
    p->layers = calloc(L ? L : 1, sizeof *p->layers);
    if (!p->layers) return duo_fail(err, "out of memory");

    /* weights (model/weights.c): per layer two norms, q/k/v/o, gate/up/down, Qwen's biases and q/k norms */
    size_t per_layer = 2 * d + qd * d + 2 * kvd * d + d * qd + 3 * d * (size_t)dm.inter;
    if (cfg->attention_bias) per_layer += qd + 2 * kvd;
    if (cfg->qk_norm) per_layer += 2 * (size_t)dm.hd;
    p->layer_weight_bytes = per_layer * ws;
    p->final_norm_bytes = d * ws;
    p->cat[PLAN_WEIGHTS] = (in->be.weights_resident ? L : 1) * p->layer_weight_bytes + p->final_norm_bytes;
    p->scalar_bytes = (L * (size_t)dm.KVH + 1) * sizeof(double);
    p->cat[PLAN_INDEX] += p->scalar_bytes;

    plan_buffers(&dm, cfg->qk_norm, a, n, p->buf_bytes);
    for (int b = 0; b < STEP_NUM_BUFS; b++) p->cat[buffer_category(b)] += p->buf_bytes[b];
    p->cat[PLAN_WORKSPACE] = in->be.workspace_bytes;

    /* the cone, last layer first (as the step builds it), with the saved activations and the work */
    duo_attn_mask mask = {in->opts.streaming, in->opts.sink_size, in->opts.recent_size};
    double p_layer = (double)dm.d * (dm.qdim + 2.0 * dm.kvdim) + (double)dm.qdim * dm.d + 3.0 * dm.d * dm.inter +
                     2.0 * dm.d;
    duo_posset out = {0}, prev_keys = {0};
    double flops = 0;
    int rc = last_outputs(in, &out, &p->num_labels, err);
    double *vis = rc ? NULL : calloc(L ? L : 1, sizeof *vis);
    if (!rc && !vis) rc = duo_fail(err, "out of memory");
    for (int l = dm.L - 1; !rc && l >= 0; l--) {
        if (l < dm.L - 1) { /* Q_l = the rows layer l + 1 reads */
            if (!in->opts.use_cone) {
                out.pos = malloc(n * sizeof *out.pos);
                if (out.pos)
                    for (size_t i = 0; i < n; i++) out.pos[i] = (int)i;
                out.len = n;
            } else {
                out.pos = malloc((prev_keys.len ? prev_keys.len : 1) * sizeof *out.pos);
                if (out.pos) memcpy(out.pos, prev_keys.pos, prev_keys.len * sizeof *out.pos);
                out.len = prev_keys.len;
            }
            if (!keys) posset_free(&prev_keys);
            if (!out.pos) {
                rc = duo_fail(err, "out of memory for the dependency cone");
                break;
            }
        }
        duo_posset k = {0};
        if (cone_keys(&out, &mask, n, &k)) {
            posset_free(&out);
            rc = duo_fail(err, "out of memory for the dependency cone");
            break;
        }
        duo_plan_layer *pl = &p->layers[l];
        pl->out_len = out.len;
        pl->keys_len = k.len;
        vis[l] = cone_visible_pairs(&out, &mask);
        pl->input_bytes = k.len * d * a;
        pl->fa_bytes = out.len * qd * a;
        p->cat[PLAN_SAVED] += pl->input_bytes + pl->fa_bytes;
        p->cat[PLAN_INDEX] += (2 * out.len + k.len) * sizeof(int32_t);
        if (outs) outs[l] = out;
        else posset_free(&out);
        out = (duo_posset){0};
        if (keys) keys[l] = k;
        prev_keys = k;
    }
    if (!keys) posset_free(&prev_keys);
    if (rc) {
        if (outs || keys)
            for (int l = 0; l < dm.L; l++) {
                if (outs) posset_free(&outs[l]);
                if (keys) posset_free(&keys[l]);
            }
        free(vis);
        step_plan_free(p);
        return -1;
    }
    /* FLOPs as DESIGN §5 counts them (in the step's own order of summation) and the bytes moved */
    double gemm = 0, tiles = 0, teacher_pairs = (double)n * ((double)n + 1) / 2;
    for (int l = 0; l < dm.L; l++) {
        const duo_plan_layer *pl = &p->layers[l];
        p->cone_positions += pl->out_len;
        flops += 2.0 * p_layer * (double)n + 2.0 * (double)n * (double)n * dm.hd * dm.H; /* teacher */
        /* forward + recompute + backward (about twice a forward) of 2 GEMM-like products per pair */
        flops += 3 * 2.0 * p_layer * (double)pl->out_len + 4 * 4.0 * vis[l] * dm.hd * dm.H;
        /* teacher; student forward (with the MLP), recompute (without), backward (its transposes) */
        gemm += proj_bytes(&in->be, &dm, n, n) + mlp_bytes(&in->be, &dm, n, 3);
        gemm += 3 * proj_bytes(&in->be, &dm, pl->out_len, pl->keys_len) + mlp_bytes(&in->be, &dm, pl->out_len, 3) +
                mlp_bytes(&in->be, &dm, pl->out_len, 5);
        /* score tiles, per visible pair and query head: forward 4 element passes (scores written,
         * softmax read + write, read by P.V); the student's recompute 4 and backward 10 (scores, probs
         * read + write, dP, dscores 3, read by dQ, dK and dV) */
        tiles += (4 * teacher_pairs + 18 * vis[l]) * dm.H * (double)a;
    }
    free(vis);
    p->all_positions = L * n;
    p->flops = flops;
    p->gemm_bytes = gemm;
    p->tile_bytes = tiles;
    for (int c = 0; c < PLAN_NUM_CATS; c++) p->total += p->cat[c];
    p->step_bytes = p->total - p->cat[PLAN_WORKSPACE];
    return 0;
}

void step_plan_free(duo_step_plan *p) {
    free(p->layers);
    p->layers = NULL;
}

int step_plan_check_fits(const duo_step_plan *p, size_t free_bytes, const char *device, duo_error *err) {
    if (p->total <= free_bytes) return 0;
    char need[32], avail[32], w[32], sv[32], wk[32], ws[32];
    return duo_fail(err,
                    "the step needs %s (%zu bytes) of device memory for samples of %zu tokens (weights %s, saved "
                    "activations %s, work buffers %s, composite workspace %s), but %s has %s (%zu bytes) free; "
                    "use shorter samples (--context_length_max) or a larger device",
                    format_bytes((double)p->total, need, sizeof need), p->total, p->n,
                    format_bytes((double)p->cat[PLAN_WEIGHTS], w, sizeof w),
                    format_bytes((double)p->cat[PLAN_SAVED], sv, sizeof sv),
                    format_bytes((double)p->cat[PLAN_WORK], wk, sizeof wk),
                    format_bytes((double)p->cat[PLAN_WORKSPACE], ws, sizeof ws), device,
                    format_bytes((double)free_bytes, avail, sizeof avail), free_bytes);
}
