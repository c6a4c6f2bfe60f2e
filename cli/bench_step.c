/* duo-train bench step: seconds per training step (the two-way step of model/duo_step.h), GFLOP/s over
 * the step (FLOPs as DESIGN §5), the dependency cone's share of student positions, peak RSS, and the
 * machine's own cblas_sgemm GFLOP/s (large square GEMM) as the yardstick of the >= 60% target.
 * A benchmark, not a test: it prints figures, it never judges them. */
#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/model.h"
#include "kernels/backend.h"
#include "kernels/prims.h"
#include "model/duo_step.h"
#include "model/step_plan.h"
#include "cli/bench.h"
#include "cli/cli.h"
#include "cli/dtype_args.h"
#include "util/clock.h"

/* Best of 3 runs of an s x s x s sgemm (after a warm-up run); *per_cpu_s gets GFLOP per CPU-second,
 * the fair yardstick on a machine shared with other work. */
static double sgemm_gflops(int s, double *per_cpu_s) {
    float *a = malloc((size_t)s * s * sizeof *a), *b = malloc((size_t)s * s * sizeof *b),
          *c = malloc((size_t)s * s * sizeof *c);
    if (!a || !b || !c) { free(a); free(b); free(c); return 0; }
    for (size_t i = 0; i < (size_t)s * s; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = clock_wall_s(), c0 = clock_cpu_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s, s, s, 1, a, s, b, s, 0, c, s);
        double dt = clock_wall_s() - t0, dc = clock_cpu_s() - c0;
        if (r > 0 && dt < best) best = dt; /* the first run warms the thread pool */
        if (r > 0 && dc < best_cpu) best_cpu = dc;
    }
    free(a); free(b); free(c);
    *per_cpu_s = 2.0 * s * (double)s * s / best_cpu / 1e9;
    return 2.0 * s * (double)s * s / best / 1e9;
}


static void usage(FILE *f) {
    fprintf(f,
            "usage: duo-train bench step [--backend cpu|cuda] (--model DIR | --random-shape %s) [options]\n"
            "  --backend cpu|cuda    where the step runs (default: cuda when built with it and a GPU answers)\n"
            "  --dtype fp32|bf16     compute precision (default: bf16 on CUDA, fp32 on the CPU; CPU bf16: bf16 weights, fp32 math)\n"
            "  --plan                print the step's device-memory plan, FLOPs, bytes and the time they imply at\n"
            "                        a peak, per context, without running it (no device, no weights loaded; any\n"
            "                        --backend; auto plans for cuda)\n"
            "  --peak-tflops X       the device peak for --plan (default: H100/H200 SXM, 989.4 bf16 dense, 66.9 fp32)\n"
            "  --peak-gbps X         the device memory bandwidth for --plan (default: H100 SXM, 3350)\n"
            "  --ctx N[,N...]        sequence lengths (default 1024,2048,4096)\n"
            "  --steps N             timed steps per length after one warm-up step (default 1; 0: no warm-up,\n"
            "                        the single step is timed)\n"
            "  --labels N            label positions, the last N tokens (default 256)\n"
            "  --sink-size N         (default 128)   --recent-size N (default 256)\n"
            "  --streaming-attn-implementation blocksparse|sdpa (default blocksparse)\n"
            "  --no-cone             compute the student on every position\n"
            "  --sgemm-size N        size of the square sgemm yardstick (default 4096; 0 skips it)\n",
            BENCH_SHAPE_NAMES);
}

int bench_step(int argc, char **argv) {
    static const struct option opts[] = {
        {"backend", required_argument, 0, 'b'}, {"model", required_argument, 0, 'm'},
        {"random-shape", required_argument, 0, 'r'}, {"ctx", required_argument, 0, 'c'},
        {"steps", required_argument, 0, 's'}, {"labels", required_argument, 0, 'l'},
        {"sink-size", required_argument, 0, 'k'}, {"recent-size", required_argument, 0, 'R'},
        {"streaming-attn-implementation", required_argument, 0, 'i'}, {"no-cone", no_argument, 0, 'n'},
        {"sgemm-size", required_argument, 0, 'g'}, {"dtype", required_argument, 0, 'd'},
        {"plan", no_argument, 0, 'p'}, {"peak-tflops", required_argument, 0, 'T'},
        {"peak-gbps", required_argument, 0, 'G'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *backend = "auto", *model_dir = NULL, *shape = NULL, *ctx_list = "1024,2048,4096";
    long steps = 1, labels = 256, sink = 128, recent = 256, gsize = 4096;
    duo_precision prec = DUO_PREC_DEFAULT;
    int plan = 0;
    double peak_tflops = 0, peak_gbps = 0;
    duo_step_opts so = {.sink_size = 128, .recent_size = 256, .streaming = ATTN_STREAM_BLOCKSPARSE, .use_cone = 1};
    cli_normalize_long_options(argc, argv);
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': backend = optarg; break; /* checked below: --plan takes any backend, built or not */
        case 'm': model_dir = optarg; break;
        case 'r': shape = optarg; break;
        case 'c': ctx_list = optarg; break;
        case 's': if (cli_parse_long("bench step", "steps", optarg, 0, 1000, &steps)) return 2; break;
        case 'l': if (cli_parse_long("bench step", "labels", optarg, 1, 1 << 24, &labels)) return 2; break;
        case 'k': if (cli_parse_long("bench step", "sink-size", optarg, 0, 1 << 24, &sink)) return 2; break;
        case 'R': if (cli_parse_long("bench step", "recent-size", optarg, 1, 1 << 24, &recent)) return 2; break;
        case 'g': if (cli_parse_long("bench step", "sgemm-size", optarg, 0, 32768, &gsize)) return 2; break;
        case 'n': so.use_cone = 0; break;
        case 'd': if (cli_parse_dtype("bench step", optarg, &prec)) return 2; break;
        case 'p': plan = 1; break;
        case 'T':
        case 'G': {
            double *v = ch == 'T' ? &peak_tflops : &peak_gbps;
            if (cli_parse_double("bench step", ch == 'T' ? "peak-tflops" : "peak-gbps", optarg, v)) return 2;
            if (!(*v > 0)) return cli_usage_error("bench step", "--%s must be positive, got '%s'",
                                                  ch == 'T' ? "peak-tflops" : "peak-gbps", optarg);
            break;
        }
        case 'i':
            if (!strcmp(optarg, "blocksparse")) so.streaming = ATTN_STREAM_BLOCKSPARSE;
            else if (!strcmp(optarg, "sdpa")) so.streaming = ATTN_STREAM_SDPA;
            else return cli_usage_error("bench step", "unknown streaming implementation '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("bench step", "bad option");
        }
    }
    if (optind < argc) return cli_usage_error("bench step", "unexpected argument '%s'", argv[optind]);
    if (!model_dir == !shape) return cli_usage_error("bench step", "give exactly one of --model DIR or --random-shape");
    so.sink_size = (int)sink;
    so.recent_size = (int)recent;
    if (plan ? strcmp(backend, "cpu") && strcmp(backend, "cuda") && strcmp(backend, "auto")
             : strcmp(backend, "auto") && cli_parse_backend("bench step", backend, &backend))
        return plan ? cli_usage_error("bench step", "--backend must be cpu or cuda, got '%s'", backend) : 2;
    if (cli_check_dtype_backend("bench step", prec, backend)) return 2;

    size_t ctxs[32];
    int nctx = 0;
    for (const char *p = ctx_list; *p && nctx < 32;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 2 || v > (1 << 24) || (*end && *end != ','))
            return cli_usage_error("bench step", "--ctx expects comma-separated lengths, got '%s'", ctx_list);
        ctxs[nctx++] = (size_t)v;
        p = *end ? end + 1 : end;
    }

    duo_error err = {{0}};
    if (plan) { /* the config alone: no weights, no device */
        duo_model_config cfg;
        char path[4096];
        if (model_dir) {
            snprintf(path, sizeof path, "%s/config.json", model_dir);
            if (model_config_load(path, &cfg, &err)) return cli_fail(&err);
        } else if (bench_random_shape(shape, &cfg)) {
            return cli_usage_error("bench step", "unknown --random-shape '%s' (%s)", shape, BENCH_SHAPE_NAMES);
        }
        return bench_step_plan(&cfg, model_dir ? model_dir : shape, backend, prec, &so, ctxs, nctx, labels,
                               peak_tflops, peak_gbps);
    }
    duo_model m;
    double t0 = clock_wall_s();
    int orc = bench_model_open("bench step", model_dir, shape, backend, &m);
    if (orc) return orc;
    double weight_bytes = 0;
    {
        const duo_tensor *ts[] = {m.embed_tokens, m.norm, m.lm_head != m.embed_tokens ? m.lm_head : NULL};
        for (int i = 0; i < 3; i++) if (ts[i]) weight_bytes += (double)ts[i]->nbytes;
        for (int l = 0; l < m.cfg.num_hidden_layers; l++) {
            const duo_tensor *lt[DUO_LAYER_MAX_TENSORS];
            int nt = model_layer_tensors(&m.layers[l], lt);
            for (int i = 0; i < nt; i++) weight_bytes += (double)lt[i]->nbytes;
        }
    }
    const duo_model_config *c = &m.cfg;
    printf("model: %s  layers %d  hidden %d  heads %d/%d  head_dim %d  inter %d  weights %.1f MiB (%s)  ready in %.1f s\n",
           model_dir ? model_dir : shape, c->num_hidden_layers, c->hidden_size, c->num_attention_heads,
           c->num_key_value_heads, c->head_dim, c->intermediate_size, weight_bytes / (1 << 20),
           model_dir ? "in file" : "random bf16 in memory", clock_wall_s() - t0);
    printf("step: sink %d recent %d %s, cone %s, labels = last %ld tokens, threads: OpenMP + OpenBLAS %d (core %s)\n",
           so.sink_size, so.recent_size, attn_kind_name(so.streaming),
           so.use_cone ? "on" : "off", labels, openblas_get_num_threads(), openblas_get_corename());
    if (!strcmp(openblas_get_corename(), "Prescott"))
        printf("warning: OpenBLAS fell back to its generic SSE3 kernels (it did not recognise this CPU); set\n"
               "         OPENBLAS_CORETYPE (e.g. SkylakeX or Cooperlake on AVX-512 machines, Haswell on AVX2)\n");
    double gf_cpu = 0, gf_peak = gsize ? sgemm_gflops((int)gsize, &gf_cpu) : 0;
    if (gsize)
        printf("cblas_sgemm %ldx%ldx%ld: %.1f GFLOP/s wall, %.1f GFLOP per CPU-second (60%% targets: %.1f, %.1f)\n",
               gsize, gsize, gsize, gf_peak, gf_cpu, 0.6 * gf_peak, 0.6 * gf_cpu);

    duo_backend *be = backend_open_prec(backend, prec, &err);
    duo_step_ctx *ctx = be ? duo_step_create(&m, &so, be, &err) : NULL;
    if (!ctx) {
        backend_free(be);
        bench_model_close(model_dir, &m);
        return cli_fail(&err);
    }
    printf("backend: %s (%s)\n", be->name, be->weight_type == DUO_E_BF16 ? "bf16" : "fp32");
    int rc = 0;
    int G = c->num_hidden_layers * c->num_key_value_heads;
    float *gates = malloc((size_t)G * sizeof *gates), *grad = malloc((size_t)G * sizeof *grad);
    for (int i = 0; i < G; i++) gates[i] = 0.5f;
    printf("%8s %10s %10s %10s %9s %8s %10s %8s %11s %14s %s %s\n", "ctx", "s/step", "cpu s/step", "GFLOP", "GFLOP/s",
           "%sgemm", "GFLOP/cpu-s", "%sgemm", "cone share", "peak RSS MiB", "(RSS budget MiB)",
           "backend memory plan MiB");
    for (int k = 0; k < nctx && rc == 0; k++) {
        size_t n = ctxs[k], nlab = (size_t)labels < n ? (size_t)labels : n;
        int32_t *ids = malloc(n * sizeof *ids), *lab = malloc(n * sizeof *lab);
        for (size_t i = 0; i < n; i++) {
            ids[i] = (int32_t)((i * 2654435761u) % (uint32_t)c->vocab_size);
            lab[i] = i >= n - nlab ? ids[i] : -100;
        }
        duo_step_result res;
        double total = 0, cpu_total = 0;
        int timed = 0;
        for (long s = 0; s < (steps ? steps + 1 : 1); s++) {
            double ts = clock_wall_s(), cs = clock_cpu_s();
            if (duo_step_run(ctx, ids, lab, n, gates, &res, grad, &err)) { rc = cli_fail(&err); break; }
            if (s > 0 || steps == 0) { total += clock_wall_s() - ts; cpu_total += clock_cpu_s() - cs; timed++; }
        }
        free(ids);
        free(lab);
        if (rc) break;
        double sps = total / timed;
        /* what the step says it holds: converted weights, saved activations, per-position buffers */
        double budget = (weight_bytes + (double)res.weight_bytes + (double)res.saved_bytes + (double)res.work_bytes) / (1 << 20);
        double per_cpu = res.flops / 1e9 / (cpu_total / timed);
        /* the step's memory plan (model/step_plan.h) for this sample on this backend: what it allocated */
        duo_step_plan_in pin = {.cfg = c, .opts = so, .n = n, .label_first = n - nlab, .label_count = nlab};
        step_plan_backend_of(be, &pin.be);
        duo_step_plan plan;
        double plan_mib = step_plan_make(&pin, &plan, NULL, NULL, &err) ? -1 : (double)plan.total / (1 << 20);
        if (plan_mib >= 0) step_plan_free(&plan);
        printf("%8zu %10.3f %10.3f %10.1f %9.1f %7.0f%% %10.1f %7.0f%% %10.1f%% %14.1f (%.1f) %10.1f\n", n, sps,
               cpu_total / timed,
               res.flops / 1e9, res.flops / 1e9 / sps, gf_peak > 0 ? 100 * res.flops / 1e9 / sps / gf_peak : 0, per_cpu,
               gf_cpu > 0 ? 100 * per_cpu / gf_cpu : 0,
               100.0 * (double)res.cone_positions / (double)res.all_positions, clock_peak_rss_mib(), budget, plan_mib);
        fflush(stdout);
    }
    free(gates);
    free(grad);
    duo_step_free(ctx);
    backend_free(be);
    bench_model_close(model_dir, &m);
    return rc;
}
