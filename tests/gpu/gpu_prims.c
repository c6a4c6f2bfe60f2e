/* GPU test: every CUDA primitive against the CPU's on a table of shapes (the backend's own start-up
 * self-test at larger, ragged sizes: rows past a block, odd widths, one head, many heads, GQA groups
 * 1-8), outputs between guard bytes, in fp32 and bf16 weight modes; the device-generated random weights
 * are a pure function of (seed, element): any range equals the same range of the whole tensor. */
#include <math.h>

#include "kernels/prims.h"
#include "model/random_model.h"
#include "tests/gpu/gpu_common.h"

static const duo_selftest_shape SHAPES[] = {
    {.m = 2, .d = 4, .nheads = 1, .hd = 2, .ngroups = 1, .nk = 4},         /* the smallest */
    {.m = 37, .d = 1000, .nheads = 32, .hd = 128, .ngroups = 8, .nk = 700},  /* Llama-like heads, GQA 4 */
    {.m = 129, .d = 4099, .nheads = 7, .hd = 6, .ngroups = 7, .nk = 301},    /* odd everything, MHA */
    {.m = 3, .d = 8192, .nheads = 64, .hd = 64, .ngroups = 8, .nk = 2500},   /* wide rows, long tiles */
};

static void run_shapes(test_ctx *t, duo_precision prec) {
    duo_backend *be;
    GPU_OPEN_CUDA(be, prec);
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        duo_error err = {{0}};
        int rc = cuda_selftest_run(be, &SHAPES[i], &err);
        if (rc) {
            backend_free(be);
            FAILF("shape %zu (m %d d %d heads %d hd %d groups %d nk %d): %.700s", i, SHAPES[i].m, SHAPES[i].d,
                  SHAPES[i].nheads, SHAPES[i].hd, SHAPES[i].ngroups, SHAPES[i].nk, err.msg);
        }
    }
    backend_free(be);
}

TEST(every_primitive_fp32) { run_shapes(t, DUO_PREC_FP32); }
TEST(every_primitive_bf16_weights) { run_shapes(t, DUO_PREC_BF16); }

TEST(random_weights_by_range) {
    duo_backend *be;
    GPU_OPEN_CUDA(be, DUO_PREC_FP32);
    duo_model_config c;
    memset(&c, 0, sizeof c);
    c.hidden_size = 64, c.intermediate_size = 96, c.num_hidden_layers = 1, c.num_attention_heads = 4;
    c.num_key_value_heads = 2, c.head_dim = 16, c.vocab_size = 3001;
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(random_model_create_device(&c, DUO_BF16, 42, 1.0, &m, &err) == 0, "%.300s", err.msg);
    const duo_tensor *emb = m.embed_tokens;
    size_t n = tensor_numel(emb), first = 12345, count = 7777;
    float *whole = malloc(n * sizeof *whole), *part = malloc(count * sizeof *part);
    void *d_whole = be->prims->alloc(be, n * 4), *d_part = be->prims->alloc(be, count * 4);
    be->prims->load_tensor(be, emb, 0, n, d_whole, DUO_E_F32);
    be->prims->load_tensor(be, emb, first, count, d_part, DUO_E_F32);
    be->prims->download(be, whole, d_whole, n * 4);
    be->prims->download(be, part, d_part, count * 4);
    int ok = !backend_check(be, &err);
    be->prims->free(be, d_whole);
    be->prims->free(be, d_part);
    double mean = 0, lo = 1e30, hi = -1e30;
    for (size_t i = 0; ok && i < n; i++) mean += whole[i], lo = fmin(lo, whole[i]), hi = fmax(hi, whole[i]);
    mean /= (double)n;
    int same = ok && !memcmp(part, whole + first, count * 4);
    free(whole);
    free(part);
    random_model_free(&m);
    backend_free(be);
    CHECK_MSG(ok, "%.500s", err.msg);
    CHECK_MSG(same, "elements [%zu, %zu) generated alone differ from the same range of the whole tensor", first,
              first + count);
    /* embeddings: uniform(-1, 1) (spec offset 0, amplitude 1) */
    CHECK_MSG(lo >= -1 && hi <= 1 && lo < -0.99 && hi > 0.99, "range [%g, %g]", lo, hi);
    CHECK_MSG(fabs(mean) < 0.01, "mean %g of %zu uniform(-1, 1) values", mean, n);
}

TEST_MAIN()
