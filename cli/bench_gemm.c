/* duo-train bench gemm: the machine's GEMM rate through the backend's own matrix product
 * (P->gemm, the call every composite linear layer and attention tile goes through; the fused CPU
 * backend, which calls cblas_sgemm itself, through the CPU primitives' gemm, the same cblas_sgemm call): GFLOP/s for a square
 * product and, given a model or a named shape, its projection shapes at prefill and decode row counts,
 * at one thread and at all threads (CPU).  Operands are multiples of 1/8 in [-1, 1], so every product
 * and partial sum is exact in float32 (and in bf16 / TF32 inputs) whatever the summation order: each run
 * checks sampled entries of the result against a double dot product and must match exactly.
 * A benchmark, not a test: it prints rates, it never judges them (a wrong product is an error). */
#include <cblas.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "cli/dtype_args.h"
#include "data/model_config.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/prims.h"
#include "util/clock.h"

static const char *const usage_text =
    "usage: duo-train bench gemm [--backend cpu|cuda] [options]\n"
    "  --dtype fp32|bf16             weight operand type (default: bf16 on CUDA, fp32 on the CPU)\n"
    "  --size N                      the square N x N x N product (default 2048; 0 skips it)\n"
    "  --model DIR | --random-shape " BENCH_SHAPE_NAMES "\n"
    "                                also the model's projections (q, k/v, o, gate/up, down, lm_head)\n"
    "  --tokens N[,N...]             rows of the projections (default 1024,1: prefill and decode)\n"
    "  --threads N[,N...]            CPU threads (default 1 and all, OPENBLAS_NUM_THREADS or the cores)\n"
    "  --repeats N                   timed samples per shape after a warm-up (default 5)\n"
    "Row-major Y[M][N] = X[M][K] W[N][K]^T, as a linear layer: 2 M N K FLOPs.\n";

typedef struct {
    char name[32];
    int M, N, K;
} gemm_shape;

/* An exact operand value: a multiple of 1/8 in [-1, 1] from (salt, i). */
static float op_value(size_t i, uint64_t salt) {
    uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ull ^ salt;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (float)((int)(h % 17) - 8) / 8.0f;
}

/* A host float array of n exact values into backend memory of type t (bf16: through the backend's own
 * narrowing, exact for these values).  NULL on failure (be->status or out of host memory, err set). */
static void *upload_operand(duo_backend *be, const duo_prims *P, const float *host, size_t n, duo_elem t, duo_error *err) {
    void *f = P->alloc(be, n * sizeof(float));
    if (!f) {
        duo_fail(err, "out of backend memory for a %zu-element operand", n);
        return NULL;
    }
    P->upload(be, f, host, n * sizeof(float));
    if (t == DUO_E_F32) return f;
    void *d = P->alloc(be, n * duo_elem_size(t));
    if (d) P->convert(be, f, DUO_E_F32, d, t, n);
    P->sync(be);
    P->free(be, f);
    if (!d) duo_fail(err, "out of backend memory for a %zu-element %s operand", n, duo_elem_name(t));
    return d;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times shape s at `threads` (0: the backend's own, CUDA) and prints its row; -1 with err set on a
 * failure or a wrong product. */
static int run_shape(duo_backend *be, const duo_prims *P, const gemm_shape *s, int threads, int repeats, duo_error *err) {
    size_t M = (size_t)s->M, N = (size_t)s->N, K = (size_t)s->K;
    float *hx = malloc(M * K * sizeof *hx), *hw = malloc(N * K * sizeof *hw); /* [M][K], [N][K] */
    void *X = NULL, *W = NULL, *Y = NULL;                                       /* same, and Y [M][N] f32 */
    double *samples = malloc((size_t)repeats * sizeof *samples), *cpu = malloc((size_t)repeats * sizeof *cpu);
    int rc = -1;
    if (!hx || !hw || !samples || !cpu) {
        duo_fail(err, "out of host memory for the %s operands (%zu x %zu, %zu x %zu)", s->name, M, K, N, K);
        goto done;
    }
    for (size_t i = 0; i < M * K; i++) hx[i] = op_value(i, 1);
    for (size_t i = 0; i < N * K; i++) hw[i] = op_value(i, 2);
    duo_elem wt = (duo_elem)be->weight_type;
    if (!(X = upload_operand(be, P, hx, M * K, DUO_E_F32, err)) || !(W = upload_operand(be, P, hw, N * K, wt, err)))
        goto done;
    if (!(Y = P->alloc(be, M * N * sizeof(float)))) {
        duo_fail(err, "out of backend memory for the %s result (%zu x %zu)", s->name, M, N);
        goto done;
    }
    if (threads > 0) {
        openblas_set_num_threads(threads);
        omp_set_num_threads(threads);
    }
    /* column-major Y^T[N][M] = W X^T: m = N, n = M, A = W (transposed, lda K), B = X (ldb K) */
    duo_gemm g = {.trans_a = 1, .trans_b = 0, .m = (int)N, .n = (int)M, .k = (int)K, .a_type = wt,
                  .b_type = DUO_E_F32, .c_type = DUO_E_F32, .A = W, .lda = (long long)K, .B = X,
                  .ldb = (long long)K, .C = Y, .ldc = (long long)N, .batch = 1, .alpha = 1, .beta = 0};
    double t0 = clock_wall_s();
    P->gemm(be, &g); /* warm-up: thread pool, device handles; also sizes the inner loop */
    P->sync(be);
    double once = clock_wall_s() - t0;
    int iters = once >= 0.05 ? 1 : once <= 5e-5 ? 1000 : (int)(0.05 / once);
    for (int r = 0; r < repeats; r++) {
        double w0 = clock_wall_s(), c0 = clock_cpu_s();
        for (int i = 0; i < iters; i++) P->gemm(be, &g);
        P->sync(be);
        samples[r] = (clock_wall_s() - w0) / iters;
        cpu[r] = (clock_cpu_s() - c0) / iters;
    }
    if (backend_check(be, err)) goto done;
    /* 64 sampled entries against a double dot product; the operands make the product exact */
    for (int q = 0; q < 64; q++) {
        size_t r = ((size_t)q * 7919u) % M, c = ((size_t)q * 104729u + 13u) % N;
        double want = 0;
        for (size_t k = 0; k < K; k++) want += (double)hx[r * K + k] * (double)hw[c * K + k];
        float got;
        P->download(be, &got, (const float *)Y + r * N + c, sizeof got);
        if (backend_check(be, err)) goto done;
        if ((double)got != want) {
            duo_fail(err, "bench gemm %s (%zu x %zu x %zu): Y[%zu][%zu] = %.9g, the exact product is %.9g", s->name,
                     M, N, K, r, c, (double)got, want);
            goto done;
        }
    }
    double best = samples[0], best_cpu = cpu[0];
    for (int r = 1; r < repeats; r++)
        if (samples[r] < best) best = samples[r], best_cpu = cpu[r];
    qsort(samples, (size_t)repeats, sizeof *samples, cmp_double);
    double median = repeats % 2 ? samples[repeats / 2] : 0.5 * (samples[repeats / 2 - 1] + samples[repeats / 2]);
    double flop = 2.0 * (double)M * (double)N * (double)K;
    char th[16];
    snprintf(th, sizeof th, threads > 0 ? "%d" : "-", threads);
    printf("%-18s %6zu %6zu %6zu %7s %11.4f %11.1f %11.1f %11.1f  exact\n", s->name, M, N, K, th, 1000 * best,
           flop / best / 1e9, flop / median / 1e9, best_cpu > 0 ? flop / best_cpu / 1e9 : 0.0);
    fflush(stdout);
    rc = 0;
done:
    if (X) P->free(be, X);
    if (W) P->free(be, W);
    if (Y) P->free(be, Y);
    free(hx);
    free(hw);
    free(samples);
    free(cpu);
    return rc;
}

/* The projections of cfg at `tokens` rows, appended to out (capacity cap); the new count. */
static int model_shapes(const duo_model_config *c, int tokens, gemm_shape *out, int n, int cap) {
    int H = c->hidden_size, Q = c->num_attention_heads * c->head_dim, KV = c->num_key_value_heads * c->head_dim;
    const struct { const char *name; int N, K; } p[] = {
        {"q_proj", Q, H}, {"k_proj/v_proj", KV, H}, {"o_proj", H, Q},
        {"gate/up_proj", c->intermediate_size, H}, {"down_proj", H, c->intermediate_size}, {"lm_head", c->vocab_size, H}};
    for (size_t i = 0; i < sizeof p / sizeof *p && n < cap; i++, n++) {
        snprintf(out[n].name, sizeof out[n].name, "%s", p[i].name);
        out[n].M = tokens;
        out[n].N = p[i].N;
        out[n].K = p[i].K;
    }
    return n;
}

int bench_gemm(int argc, char **argv) {
    static const struct option opts[] = {
        {"backend", required_argument, 0, 'b'}, {"dtype", required_argument, 0, 'd'},
        {"size", required_argument, 0, 's'}, {"model", required_argument, 0, 'm'},
        {"random-shape", required_argument, 0, 'r'}, {"tokens", required_argument, 0, 't'},
        {"threads", required_argument, 0, 'j'}, {"repeats", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *backend = "auto", *model_dir = NULL, *shape = NULL;
    double toks[8] = {1024, 1}, thr[8];
    int ntok = 2, nthr = 0;
    long size = 2048, repeats = 5;
    duo_precision prec = DUO_PREC_DEFAULT;
    cli_normalize_long_options(argc, argv);
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'b': bad = cli_parse_backend("bench gemm", optarg, &backend); break;
        case 'd': bad = cli_parse_dtype("bench gemm", optarg, &prec); break;
        case 's': bad = cli_parse_long("bench gemm", "size", optarg, 0, 32768, &size); break;
        case 'm': model_dir = optarg; break;
        case 'r': shape = optarg; break;
        case 't': bad = cli_parse_list("bench gemm", "tokens", optarg, toks, 8, &ntok); break;
        case 'j': bad = cli_parse_list("bench gemm", "threads", optarg, thr, 8, &nthr); break;
        case 'n': bad = cli_parse_long("bench gemm", "repeats", optarg, 1, 1000, &repeats); break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_getopt_error("bench gemm", ch, optopt, argv[optind - 1]);
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("bench gemm", "unexpected argument '%s'", argv[optind]);
    if (model_dir && shape) return cli_usage_error("bench gemm", "give at most one of --model DIR or --random-shape");
    if (cli_check_dtype_backend("bench gemm", prec, backend)) return 2;
    for (int i = 0; i < ntok; i++)
        if (!(toks[i] >= 1 && toks[i] <= 65536) || toks[i] != (double)(int)toks[i])
            return cli_usage_error("bench gemm", "--tokens: %g is not a row count in [1, 65536]", toks[i]);
    for (int i = 0; i < nthr; i++)
        if (!(thr[i] >= 1 && thr[i] <= 1024) || thr[i] != (double)(int)thr[i])
            return cli_usage_error("bench gemm", "--threads: %g is not a thread count in [1, 1024]", thr[i]);

    gemm_shape shapes[64];
    int ns = 0;
    if (size) {
        snprintf(shapes[ns].name, sizeof shapes[ns].name, "square");
        shapes[ns].M = shapes[ns].N = shapes[ns].K = (int)size;
        ns++;
    }
    duo_error err = {{0}};
    if (model_dir || shape) {
        duo_model_config cfg;
        char path[4096];
        if (model_dir) {
            snprintf(path, sizeof path, "%s/config.json", model_dir);
            if (model_config_load(path, &cfg, &err)) return cli_fail(&err);
        } else if (bench_random_shape(shape, &cfg)) {
            return cli_usage_error("bench gemm", "unknown --random-shape '%s' (%s)", shape, BENCH_SHAPE_NAMES);
        }
        for (int i = 0; i < ntok; i++) ns = model_shapes(&cfg, (int)toks[i], shapes, ns, 64);
    }
    if (!ns) return cli_usage_error("bench gemm", "nothing to run: --size 0 and no --model or --random-shape");

    duo_backend *be = backend_open_prec(backend, prec, &err);
    if (!be) return cli_fail(&err);
    const duo_prims *P = be->prims ? be->prims : &cpu_prims_f32; /* NULL prims: the fused CPU backend */
    int cpu = !strcmp(be->name, "cpu"), all = openblas_get_num_threads(), omp_all = omp_get_max_threads();
    if (!nthr) {
        thr[nthr++] = 1;
        if (all > 1) thr[nthr++] = all;
    }
    if (!cpu) nthr = 1, thr[0] = 0; /* the device has no thread count */
    printf("backend %s, weights %s", be->name, duo_elem_name((duo_elem)be->weight_type));
    if (cpu) printf(", OpenBLAS core %s, %d threads available", openblas_get_corename(), all);
    printf("%s%s\n", model_dir || shape ? ", model " : "", model_dir ? model_dir : shape ? shape : "");
    printf("%-18s %6s %6s %6s %7s %11s %11s %11s %11s  %s\n", "shape", "M", "N", "K", "threads", "ms best",
           "GFLOP/s", "median", "GFLOP/cpu-s", "check");
    int rc = 0;
    for (int t = 0; t < nthr && !rc; t++)
        for (int i = 0; i < ns && !rc; i++) rc = run_shape(be, P, &shapes[i], (int)thr[t], (int)repeats, &err);
    if (cpu) {
        openblas_set_num_threads(all);
        omp_set_num_threads(omp_all);
    }
    backend_free(be);
    return rc ? cli_fail(&err) : 0;
}
