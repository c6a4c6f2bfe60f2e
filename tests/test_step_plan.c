/* The step's memory plan (model/step_plan.h): its arithmetic on a case computed by hand, that it equals
 * the bytes the step really allocates through the backend (the CPU backend's alloc wrapped to count), the
 * issue's targets on paper (Llama-3-8B in bf16: 32K tokens within 80 GB, 128K within 141 GB), and the
 * refusal that names both the plan and the free memory. */
#include "tests/harness.h"

#include "cli/bench.h"
#include "data/model.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/prims.h"
#include "model/duo_step.h"
#include "model/step_plan.h"
#include "util/format.h"

/* ---- a CPU backend whose alloc / free count the live bytes ---------------------------------------- */
#define MAX_LIVE 4096
static struct {
    void *p[MAX_LIVE];
    size_t bytes[MAX_LIVE];
    int count;
    size_t live, peak;
    int overflow;
} g_mem;

static void *counting_alloc(duo_backend *be, size_t bytes) {
    void *p = cpu_alloc(be, bytes);
    if (!p) return NULL;
    if (g_mem.count == MAX_LIVE) {
        g_mem.overflow = 1;
        return p;
    }
    g_mem.p[g_mem.count] = p;
    g_mem.bytes[g_mem.count++] = bytes;
    g_mem.live += bytes;
    if (g_mem.live > g_mem.peak) g_mem.peak = g_mem.live;
    return p;
}

static void counting_free(duo_backend *be, void *p) {
    if (!p) return;
    for (int i = 0; i < g_mem.count; i++)
        if (g_mem.p[i] == p) {
            g_mem.live -= g_mem.bytes[i];
            g_mem.p[i] = g_mem.p[--g_mem.count];
            g_mem.bytes[i] = g_mem.bytes[g_mem.count];
            break;
        }
    cpu_free(be, p);
}

static duo_ops g_counting_ops;

/* name NULL: the CPU backend's fused ops; else a backend by name (the CPU composites: their workspace
 * comes from the primitives' alloc, which is not counted: it is the plan's backend-held category) */
static duo_backend *counting_backend(const char *name, int resident, duo_error *err) {
    duo_backend *be = name ? backend_open(name, err) : backend_cpu_create(0, err);
    if (!be) return NULL;
    g_counting_ops = *be->ops;
    g_counting_ops.alloc = counting_alloc;
    g_counting_ops.free = counting_free;
    be->ops = &g_counting_ops;
    be->weights_resident = resident;
    memset(&g_mem, 0, sizeof g_mem);
    return be;
}

/* ---- the hand-computed case ---------------------------------------------------------------------- */
static duo_model_config tiny_config(void) {
    duo_model_config c;
    memset(&c, 0, sizeof c);
    c.num_hidden_layers = 2;
    c.hidden_size = 8;
    c.num_attention_heads = 2;
    c.num_key_value_heads = 1;
    c.head_dim = 4;
    c.intermediate_size = 16;
    c.vocab_size = 32;
    return c;
}

/* L 2, d 8, H 2 / KVH 1, hd 4 (qdim 8, kvdim 4), inter 16, n 10, sdpa sink 1 recent 2, labels {8, 9},
 * float32, one layer held.  Layer 1: Q = {8, 9}, keys {0, 7, 8, 9}; layer 0: Q = {0, 7, 8, 9}, keys
 * {0, 6, 7, 8, 9}.  Saved: (4*8 + 2*8)*4 + (5*8 + 4*8)*4 = 192 + 288 = 480.  Index: per layer
 * (2|Q| + |keys|) int32 = 32 + 52, the gate gradient and loss (2 + 1) doubles = 24, four [n] int32 = 160:
 * 268.  RoPE: 2 x 10 x 2 x 4 = 160.  Work: ten [n][d] 3200, five [n][qdim] 1600, four [n][kvdim] 640,
 * lse [n][H] 80, five MLP chunks [10][16] 3200: 8720.  Weights: one layer (2*8 + 64 + 2*32 + 64 + 3*128 =
 * 592 floats) 2368 + the final norm 32 = 2400.  Total 12028.
 * FLOPs: P_layer = 8*(8 + 8) + 64 + 384 + 16 = 592; teacher per layer 2*592*10 + 2*100*4*2 = 13440;
 * student layer 1: 6*592*2 + 16*6*4*2 (6 visible pairs) = 7872; layer 0: 6*592*4 + 16*10*8 (10 pairs) =
 * 15488: 26880 + 23360 = 50240. */
TEST(hand_computed_small_case) {
    duo_model_config cfg = tiny_config();
    duo_step_plan_in in = {.cfg = &cfg, .opts = {.sink_size = 1, .recent_size = 2, .streaming = ATTN_STREAM_SDPA,
                                                 .use_cone = 1},
                           .n = 10, .label_first = 8, .label_count = 2};
    duo_error err;
    CHECK(step_plan_backend_named("cpu", DUO_PREC_DEFAULT, &in.be, &err) == 0);
    duo_step_plan p;
    duo_posset outs[2], keys[2];
    CHECK_MSG(step_plan_make(&in, &p, outs, keys, &err) == 0, "%.300s", err.msg);
    CHECK_EQ_INT(p.layers[1].out_len, 2);
    CHECK_EQ_INT(p.layers[1].keys_len, 4);
    CHECK_EQ_INT(p.layers[0].out_len, 4);
    CHECK_EQ_INT(p.layers[0].keys_len, 5);
    int want_keys0[] = {0, 6, 7, 8, 9}, want_out0[] = {0, 7, 8, 9};
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(keys[0].pos[i], want_keys0[i]);
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(outs[0].pos[i], want_out0[i]);
    for (int l = 0; l < 2; l++) {
        posset_free(&outs[l]);
        posset_free(&keys[l]);
    }
    CHECK_EQ_INT(p.num_labels, 2);
    CHECK_EQ_INT(p.cat[PLAN_SAVED], 480);
    CHECK_EQ_INT(p.cat[PLAN_INDEX], 268);
    CHECK_EQ_INT(p.cat[PLAN_ROPE], 160);
    CHECK_EQ_INT(p.cat[PLAN_WORK], 8720);
    CHECK_EQ_INT(p.cat[PLAN_WEIGHTS], 2400);
    CHECK_EQ_INT(p.cat[PLAN_WORKSPACE], 0);
    CHECK_EQ_INT(p.total, 12028);
    CHECK_EQ_INT(p.step_bytes, 12028);
    CHECK_CLOSE(p.flops, 50240, 0);
    CHECK_EQ_INT(p.cone_positions, 6);
    CHECK_EQ_INT(p.all_positions, 20);
    step_plan_free(&p);

    /* resident (a GPU): both layers; bf16 weights halve them; the CUDA workspace is counted */
    CHECK(step_plan_backend_named("cuda", DUO_PREC_DEFAULT, &in.be, &err) == 0);
    CHECK_EQ_INT(in.be.weight_size, 2);
    CHECK_EQ_INT(in.be.act_size, 4);
    CHECK_MSG(step_plan_make(&in, &p, NULL, NULL, &err) == 0, "%.300s", err.msg);
    CHECK_EQ_INT(p.cat[PLAN_WEIGHTS], 2 * 592 * 2 + 8 * 2);
    CHECK_EQ_INT(p.cat[PLAN_WORKSPACE], DUO_CUDA_COMPOSITE_WORKSPACE_BYTES);
    CHECK_EQ_INT(p.total, 12028 - 2400 + 2 * 592 * 2 + 8 * 2 + DUO_CUDA_COMPOSITE_WORKSPACE_BYTES);
    CHECK_EQ_INT(p.step_bytes, p.total - DUO_CUDA_COMPOSITE_WORKSPACE_BYTES);
    step_plan_free(&p);
    CHECK(step_plan_backend_named("cuda", DUO_PREC_FP32, &in.be, &err) == 0);
    CHECK_EQ_INT(in.be.weight_size, 4);

    /* the cone off: every position in every layer */
    CHECK(step_plan_backend_named("cpu", DUO_PREC_FP32, &in.be, &err) == 0);
    in.opts.use_cone = 0;
    CHECK_MSG(step_plan_make(&in, &p, NULL, NULL, &err) == 0, "%.300s", err.msg);
    CHECK_EQ_INT(p.cat[PLAN_SAVED], 2 * (10 * 8 + 10 * 8) * 4);
    CHECK_EQ_INT(p.cone_positions, 20);
    step_plan_free(&p);
}

TEST(bad_inputs_are_errors) {
    duo_model_config cfg = tiny_config();
    duo_step_plan_in in = {.cfg = &cfg, .opts = {.sink_size = 1, .recent_size = 2, .streaming = ATTN_STREAM_SDPA,
                                                 .use_cone = 1},
                           .n = 10, .label_first = 8, .label_count = 3};
    duo_error err;
    CHECK(step_plan_backend_named("cpu", DUO_PREC_FP32, &in.be, &err) == 0);
    duo_step_plan p;
    CHECK(step_plan_make(&in, &p, NULL, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "[8, 11)") && strstr(err.msg, "10 tokens"), "%.300s", err.msg);
    int32_t labels[10];
    for (int i = 0; i < 10; i++) labels[i] = -100;
    in.labels = labels;
    CHECK(step_plan_make(&in, &p, NULL, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "no label"), "%.300s", err.msg);
    cfg.num_key_value_heads = 3; /* 2 heads in 3 groups */
    labels[9] = 1;
    CHECK(step_plan_make(&in, &p, NULL, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "attention shape"), "%.300s", err.msg);
    /* the CPU's bf16: bf16 weight storage, float32 activations */
    CHECK(step_plan_backend_named("cpu", DUO_PREC_BF16, &in.be, &err) == 0);
    CHECK(in.be.weight_size == 2 && in.be.act_size == sizeof(float));
    CHECK(step_plan_backend_named("tpu", DUO_PREC_FP32, &in.be, &err) == -1);
    CHECK_MSG(strstr(err.msg, "tpu"), "%.300s", err.msg);
}

/* ---- the plan equals what the step allocates ---------------------------------------------------- */
static void allocation_case_on(test_ctx *t, const char *backend, const char *dir, duo_attn_kind kind, int sink,
                               int recent, size_t n, int use_cone, int resident) {
    duo_model m;
    duo_error err;
    duo_backend *be = counting_backend(backend, resident, &err);
    if (!be && backend) SKIP("backend %s: %.200s", backend, err.msg); /* a build without the CPU composites */
    CHECK_MSG(be, "%.300s", err.msg);
    if (model_open(dir, &m, &err)) {
        backend_free(be);
        FAILF("%.300s", err.msg);
    }
    duo_step_opts so = {.sink_size = sink, .recent_size = recent, .streaming = kind, .use_cone = use_cone};
    duo_step_ctx *ctx = duo_step_create(&m, &so, be, &err);
    CHECK_MSG(ctx, "%.300s", err.msg);
    int32_t *ids = malloc(n * sizeof *ids), *labels = malloc(n * sizeof *labels);
    size_t G = (size_t)m.cfg.num_hidden_layers * (size_t)m.cfg.num_key_value_heads;
    float *gates = malloc(G * sizeof *gates), *grad = malloc(G * sizeof *grad);
    for (size_t i = 0; i < n; i++) {
        ids[i] = (int32_t)((i * 2654435761u) % (uint32_t)m.cfg.vocab_size);
        /* two label spans, one in the middle, one at the end: a gapped cone */
        labels[i] = (i >= n / 2 && i < n / 2 + 3) || i + 5 >= n ? ids[i] : -100;
    }
    for (size_t i = 0; i < G; i++) gates[i] = 0.25f + 0.5f * (float)(i % 3) / 2;
    duo_step_result res;
    int rc = duo_step_run(ctx, ids, labels, n, gates, &res, grad, &err);
    size_t live = g_mem.live, peak = g_mem.peak;
    duo_step_plan_in in = {.cfg = &m.cfg, .opts = so, .n = n, .labels = labels};
    step_plan_backend_of(be, &in.be);
    duo_step_plan p;
    int prc = step_plan_make(&in, &p, NULL, NULL, &err);
    size_t ws_budget = be->prims ? be->composite_workspace_bytes : 0;
    duo_step_free(ctx);
    size_t after = g_mem.live;
    int overflow = g_mem.overflow;
    backend_free(be);
    model_close(&m);
    free(ids);
    free(labels);
    free(gates);
    free(grad);
    CHECK_MSG(rc == 0, "%.300s", err.msg);
    CHECK_MSG(prc == 0, "%.300s", err.msg);
    CHECK(!overflow);
    size_t want = p.step_bytes, saved = p.cat[PLAN_SAVED], weights = p.cat[PLAN_WEIGHTS], ws = p.cat[PLAN_WORKSPACE];
    double flops = p.flops;
    step_plan_free(&p);
    CHECK_EQ_INT(live, want);
    CHECK_EQ_INT(peak, want);
    CHECK_EQ_INT(after, 0);
    CHECK_EQ_INT(ws, ws_budget);
    CHECK_EQ_INT(res.saved_bytes, saved);
    CHECK_EQ_INT(res.weight_bytes, weights);
    CHECK_CLOSE(res.flops, flops, 0);
}

static void allocation_case(test_ctx *t, const char *dir, duo_attn_kind kind, int sink, int recent, size_t n,
                            int use_cone, int resident) {
    allocation_case_on(t, NULL, dir, kind, sink, recent, n, use_cone, resident);
}

TEST(plan_equals_allocations_llama_blocksparse) {
    allocation_case(t, "tests/fixtures/retrieval-model", ATTN_STREAM_BLOCKSPARSE, 16, 64, 300, 1, 0);
}
TEST(plan_equals_allocations_llama_sdpa_resident) {
    allocation_case(t, "tests/fixtures/retrieval-model", ATTN_STREAM_SDPA, 4, 16, 200, 1, 1);
}
TEST(plan_equals_allocations_llama_no_cone) {
    allocation_case(t, "tests/fixtures/retrieval-model", ATTN_STREAM_SDPA, 4, 16, 120, 0, 0);
}
TEST(plan_equals_allocations_qwen2_bias) {
    allocation_case(t, "tests/fixtures/models/tiny-qwen2-gqa-bf16-tied", ATTN_STREAM_SDPA, 6, 40, 200, 1, 1);
}
TEST(plan_equals_allocations_qwen3_qk_norm) {
    allocation_case(t, "tests/fixtures/models/tiny-qwen3-headdim", ATTN_STREAM_BLOCKSPARSE, 10, 100, 330, 1, 0);
}

/* the composites on the CPU's primitives (what the CUDA backend runs), bf16 weights included */
TEST(plan_equals_allocations_cpu_composite) {
    allocation_case_on(t, "cpu-composite", "tests/fixtures/retrieval-model", ATTN_STREAM_BLOCKSPARSE, 16, 64, 300, 1, 1);
}
TEST(plan_equals_allocations_cpu_composite_bf16) {
    allocation_case_on(t, "cpu-composite-bf16", "tests/fixtures/models/tiny-qwen3-headdim", ATTN_STREAM_SDPA, 10, 40,
                       200, 1, 0);
}

/* ---- the targets on paper --------------------------------------------------------------- */
static void plan_8b(test_ctx *t, size_t n, duo_precision prec, duo_step_plan *p) {
    duo_model_config cfg;
    CHECK(bench_random_shape("8b", &cfg) == 0);
    /* the published runs' window; labels ≈ the last 900 tokens (DESIGN §5) */
    duo_step_plan_in in = {.cfg = &cfg, .opts = {.sink_size = 128, .recent_size = 256,
                                                 .streaming = ATTN_STREAM_BLOCKSPARSE, .use_cone = 1},
                           .n = n, .label_first = n - 900, .label_count = 900};
    duo_error err;
    CHECK(step_plan_backend_named("cuda", prec, &in.be, &err) == 0);
    CHECK_MSG(step_plan_make(&in, p, NULL, NULL, &err) == 0, "%.300s", err.msg);
}

TEST(llama3_8b_targets_on_paper) {
    const double GB = 1e9;
    duo_step_plan p;
    plan_8b(t, 32768, DUO_PREC_BF16, &p);
    if (t->failed) return;
    /* 32 layers x 218.1M parameters in bf16, all resident: 13.96e9 bytes, + the final norm */
    CHECK_EQ_INT(p.cat[PLAN_WEIGHTS], 32ull * 218112000ull * 2 + 4096 * 2);
    double total32 = (double)p.total;
    CHECK_MSG(total32 <= 80 * GB, "8B at 32K in bf16 needs %.2f GB, more than 80", total32 / GB);
    /* the cone keeps the saved activations at a few GB (DESIGN §5) */
    CHECK_MSG(p.cat[PLAN_SAVED] < 5 * GB, "saved %.2f GB", p.cat[PLAN_SAVED] / GB);
    step_plan_free(&p);
    plan_8b(t, 131072, DUO_PREC_BF16, &p);
    if (t->failed) return;
    CHECK_MSG(p.total <= 141 * GB, "8B at 128K in bf16 needs %.2f GB, more than 141", p.total / GB);
    CHECK(p.total > total32);
    step_plan_free(&p);
    /* fp32 doubles the weights */
    plan_8b(t, 32768, DUO_PREC_FP32, &p);
    if (t->failed) return;
    CHECK_EQ_INT(p.cat[PLAN_WEIGHTS], 32ull * 218112000ull * 4 + 4096 * 4);
    step_plan_free(&p);
}

TEST(check_fits_names_both_figures) {
    duo_step_plan p;
    plan_8b(t, 32768, DUO_PREC_BF16, &p);
    if (t->failed) return;
    duo_error err;
    CHECK(step_plan_check_fits(&p, p.total, "cuda device 0", &err) == 0);
    CHECK(step_plan_check_fits(&p, p.total - 1, "cuda device 0", &err) == -1);
    char want_plan[64], want_free[64];
    snprintf(want_plan, sizeof want_plan, "(%zu bytes) of device memory", p.total);
    snprintf(want_free, sizeof want_free, "(%zu bytes) free", p.total - 1);
    char need[32], avail[32];
    format_bytes((double)p.total, need, sizeof need);
    format_bytes((double)(p.total - 1), avail, sizeof avail);
    CHECK_MSG(strstr(err.msg, want_plan) && strstr(err.msg, want_free) && strstr(err.msg, "32768 tokens") &&
                  strstr(err.msg, need) && strstr(err.msg, avail) &&
                  strstr(err.msg, "cuda device 0"),
              "%.300s", err.msg);
    step_plan_free(&p);
}

TEST_MAIN()
