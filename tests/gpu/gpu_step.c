/* GPU test: the whole paths on the CUDA backend against the CPU backend, on real checkpoints (the bundled
 * retrieval model and the tiny Llama/Mistral/Qwen2/Qwen3 fixtures):
 *   - the step's distillation loss and gate gradient: fp32 within 1e-4 relative, bf16 within 2e-2
 *     (relative to the largest gradient entry);
 *   - 20 training steps (the real loop: clamp, L1 term, AdamW) on copy-a-key samples, whose final gates
 *     rank the heads as the CPU's (every pair the CPU separates by more than 1e-3, in fp32);
 *   - the inference path's greedy ids equal to the CPU's at sparsity 0 and 0.5. */
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "data/model.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/duo_step.h"
#include "model/infer.h"
#include "tests/gpu/gpu_common.h"
#include "train/train_loop.h"

typedef struct {
    const char *dir;
    duo_attn_kind impl;
    int sink, recent;
    size_t n;
} model_case;

static const model_case MODELS[] = {
    {"tests/fixtures/retrieval-model", ATTN_STREAM_BLOCKSPARSE, 16, 64, 400},
    {"tests/fixtures/models/tiny-mistral-gqa-f16", ATTN_STREAM_BLOCKSPARSE, 20, 100, 300},
    {"tests/fixtures/models/tiny-qwen2-gqa-bf16-tied", ATTN_STREAM_SDPA, 6, 40, 200},
    {"tests/fixtures/models/tiny-qwen3-headdim", ATTN_STREAM_BLOCKSPARSE, 10, 100, 330},
    {"tests/fixtures/models/tiny-llama-mha-bf16-tied", ATTN_STREAM_SDPA, 8, 30, 150},
};
#define NMODELS (sizeof MODELS / sizeof *MODELS)

/* A copy-a-key sample: random ids, a key of 8 tokens early, the same key again at the end; the labels
 * are the copy (a retrieval head must look back past the streaming window to predict it). */
static void copy_sample(int32_t *ids, int32_t *labels, size_t n, int vocab, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        ids[i] = (int32_t)(2 + (seed >> 8) % (uint32_t)(vocab - 2));
        labels[i] = -100;
    }
    size_t key = 8 + (seed >> 4) % (n / 4);
    for (size_t k = 0; k < 8; k++) {
        ids[n - 8 + k] = ids[key + k];
        labels[n - 8 + k] = ids[key + k];
    }
}

/* distill and grad of one step of model m on backend be (NULL: the CPU). */
static int step_once(const duo_model *m, const model_case *mc, duo_backend *be, const float *gates, double *distill,
                     float *grad, duo_error *err) {
    size_t n = mc->n;
    int32_t *ids = malloc(n * sizeof *ids), *labels = malloc(n * sizeof *labels);
    copy_sample(ids, labels, n, m->cfg.vocab_size, 777u + (uint32_t)n);
    duo_step_opts o = {mc->sink, mc->recent, mc->impl, 1};
    duo_step_ctx *c = duo_step_create(m, &o, be, err);
    duo_step_result r;
    int rc = c ? duo_step_run(c, ids, labels, n, gates, &r, grad, err) : -1;
    if (!rc) *distill = r.distill;
    duo_step_free(c);
    free(ids);
    free(labels);
    return rc;
}

static void step_matches(test_ctx *t, duo_precision prec, double tol) {
    duo_backend *be;
    GPU_OPEN(be, prec);
    char failure[900] = "";
    for (size_t k = 0; k < NMODELS && !failure[0]; k++) {
        duo_model m;
        duo_error err = {{0}};
        if (model_open(MODELS[k].dir, &m, &err)) {
            snprintf(failure, sizeof failure, "%.800s", err.msg);
            break;
        }
        int G = m.cfg.num_hidden_layers * m.cfg.num_key_value_heads;
        float *gates = malloc(G * sizeof *gates), *gc = malloc(G * sizeof *gc), *gg = malloc(G * sizeof *gg);
        for (int i = 0; i < G; i++) gates[i] = 0.2f + 0.6f * (float)((i * 5) % G) / (float)G;
        double dc = 0, dg = 0;
        if (step_once(&m, &MODELS[k], NULL, gates, &dc, gc, &err) ||
            step_once(&m, &MODELS[k], be, gates, &dg, gg, &err)) {
            snprintf(failure, sizeof failure, "%s: %.700s", MODELS[k].dir, err.msg);
        } else {
            double maxg = 0, maxd = 0;
            for (int i = 0; i < G; i++) maxg = fmax(maxg, fabs(gc[i])), maxd = fmax(maxd, fabs((double)gg[i] - gc[i]));
            double rel_d = fabs(dg - dc) / fmax(fabs(dc), 1e-30), rel_g = maxg > 0 ? maxd / maxg : maxd;
            fprintf(stderr, "  %s (%s): distill cpu %.9g cuda %.9g (%.3g rel), gate gradient %.3g rel\n", MODELS[k].dir,
                    duo_precision_name(prec), dc, dg, rel_d, rel_g);
            if (!(rel_d <= tol) || !(rel_g <= tol) || !(dc > 0))
                snprintf(failure, sizeof failure, "%s: distill %.3g relative, gradient %.3g relative (tolerance %g)",
                         MODELS[k].dir, rel_d, rel_g, tol);
        }
        free(gates), free(gc), free(gg);
        model_close(&m);
    }
    backend_free(be);
    CHECK_MSG(!failure[0], "%s", failure);
}

TEST(step_fp32_matches_cpu) { step_matches(t, DUO_PREC_FP32, 1e-4); }
TEST(step_bf16_matches_cpu) { step_matches(t, DUO_PREC_BF16, 2e-2); }

/* ---- 20 steps of the real training loop ------------------------------------------------------- */

typedef struct {
    const duo_model *m;
    duo_step_ctx *step;
    size_t n;
} train_obj;

static int train_run(void *vctx, long step, const float *gates, size_t ng, double *distill, float *grad,
                     long *sample_length, long *context_length, duo_error *err) {
    train_obj *o = vctx;
    int32_t *ids = malloc(o->n * sizeof *ids), *labels = malloc(o->n * sizeof *labels);
    copy_sample(ids, labels, o->n, o->m->cfg.vocab_size, 1000u + (uint32_t)step * 7919u);
    duo_step_result r;
    int rc = duo_step_run(o->step, ids, labels, o->n, gates, &r, grad, err);
    if (!rc) *distill = r.distill;
    *sample_length = *context_length = (long)o->n;
    free(ids);
    free(labels);
    return rc;
}

static int train20(const duo_model *m, duo_backend *be, const char *dir, float *gates, duo_error *err) {
    const model_case *mc = &MODELS[0];
    duo_step_opts so = {mc->sink, mc->recent, mc->impl, 1};
    train_obj o = {m, duo_step_create(m, &so, be, err), mc->n};
    if (!o.step) return -1;
    mkdir(dir, 0755);
    duo_train_opts to;
    memset(&to, 0, sizeof to);
    to.num_layers = m->cfg.num_hidden_layers;
    to.num_kv_heads = m->cfg.num_key_value_heads;
    to.num_steps = 20;
    to.save_steps = 20;
    to.lr = 0.02;
    to.reg_weight = 0.05;
    to.initial_value = 1.0f;
    to.seed = 42;
    to.output_dir = dir;
    to.run_identity = "{\"test\": \"gpu_step\"}";
    duo_objective obj = {&o, train_run};
    duo_train_result res;
    int rc = train_loop_run(&to, &obj, &res, gates, err);
    duo_step_free(o.step);
    return rc;
}

TEST(twenty_steps_rank_heads_as_cpu) {
    duo_backend *be;
    GPU_OPEN(be, DUO_PREC_FP32);
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open(MODELS[0].dir, &m, &err) == 0, "%.500s", err.msg);
    int G = m.cfg.num_hidden_layers * m.cfg.num_key_value_heads;
    float *gc = malloc(G * sizeof *gc), *gg = malloc(G * sizeof *gg);
    char dc[512], dg[512];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dc, sizeof dc, "%s/gpu_train_cpu.%d", tmp, (int)getpid());
    snprintf(dg, sizeof dg, "%s/gpu_train_cuda.%d", tmp, (int)getpid());
    int rc = train20(&m, NULL, dc, gc, &err);
    if (!rc) rc = train20(&m, be, dg, gg, &err);
    backend_free(be);
    model_close(&m);
    int bad_i = -1, bad_j = -1, separated = 0;
    double spread = 0;
    for (int i = 0; !rc && i < G; i++)
        for (int j = 0; j < G; j++) {
            spread = fmax(spread, fabs((double)gc[i] - gc[j]));
            if (gc[i] - gc[j] > 1e-3) {
                separated++;
                if (!(gg[i] > gg[j]) && bad_i < 0) bad_i = i, bad_j = j;
            }
        }
    fprintf(stderr, "  20 steps: gate spread %.4g on the CPU, %d ordered pairs separated by > 1e-3\n", spread,
            separated);
    float ci = bad_i >= 0 ? gc[bad_i] : 0, cj = bad_i >= 0 ? gc[bad_j] : 0, gi = bad_i >= 0 ? gg[bad_i] : 0,
          gj = bad_i >= 0 ? gg[bad_j] : 0;
    free(gc), free(gg);
    CHECK_MSG(!rc, "%.800s", err.msg);
    CHECK_MSG(separated > 0, "the CPU's 20 steps separated no two heads by 1e-3 (spread %g): nothing to rank", spread);
    CHECK_MSG(bad_i < 0, "heads %d and %d: CPU gates %.6g > %.6g, CUDA %.6g, %.6g", bad_i, bad_j, ci, cj, gi, gj);
}

/* ---- the inference path ------------------------------------------------------------------------ */

static int generate(const duo_model *m, duo_backend *be, const uint8_t *full, const int32_t *prompt, size_t n,
                    int32_t **ids, size_t *nids, duo_error *err) {
    duo_infer_opts o = {.sink_size = 8, .recent_size = 32, .prefilling_chunk_size = 64,
                        .decoding_simulation_length = 10, .prefill = PREFILL_STREAMING, .max_new_tokens = 24,
                        .max_prompt = n};
    duo_infer *ctx = infer_create(m, be, full, &o, err);
    duo_infer_result r;
    int rc = ctx ? infer_generate(ctx, prompt, n, NULL, 0, NULL, NULL, 0, &r, err) : -1;
    if (!rc) *ids = r.ids, *nids = r.n;
    infer_free(ctx);
    return rc;
}

TEST(greedy_ids_equal_cpu_at_sparsity_0_and_half) {
    duo_backend *be;
    GPU_OPEN(be, DUO_PREC_FP32);
    duo_error err = {{0}};
    duo_backend *cpu = backend_cpu_create(0, &err);
    CHECK_MSG(cpu != NULL, "%.500s", err.msg);
    char failure[900] = "";
    for (size_t k = 0; k < NMODELS && !failure[0]; k++) {
        duo_model m;
        if (model_open(MODELS[k].dir, &m, &err)) {
            snprintf(failure, sizeof failure, "%.800s", err.msg);
            break;
        }
        int G = m.cfg.num_hidden_layers * m.cfg.num_key_value_heads;
        uint8_t *full = malloc((size_t)G);
        size_t n = 250;
        int32_t *prompt = malloc(n * sizeof *prompt), *labels = malloc(n * sizeof *labels);
        copy_sample(prompt, labels, n, m.cfg.vocab_size, 4242u + (uint32_t)k);
        for (int sp = 0; sp < 2 && !failure[0]; sp++) {
            for (int i = 0; i < G; i++) full[i] = sp == 0 ? 1 : (uint8_t)(i % 2); /* sparsity 0, then 0.5 */
            int32_t *a = NULL, *b = NULL;
            size_t na = 0, nb = 0;
            if (generate(&m, cpu, full, prompt, n, &a, &na, &err) || generate(&m, be, full, prompt, n, &b, &nb, &err))
                snprintf(failure, sizeof failure, "%s: %.700s", MODELS[k].dir, err.msg);
            else if (na != nb || memcmp(a, b, na * sizeof *a)) {
                size_t at = 0;
                while (at < na && at < nb && a[at] == b[at]) at++;
                snprintf(failure, sizeof failure, "%s, sparsity %s: CUDA's greedy ids differ from the CPU's at %zu",
                         MODELS[k].dir, sp ? "0.5" : "0", at);
            }
            free(a), free(b);
        }
        free(full), free(prompt), free(labels);
        model_close(&m);
    }
    backend_free(cpu);
    backend_free(be);
    CHECK_MSG(!failure[0], "%s", failure);
}

TEST_MAIN()
