/* duo-train bench infer: the DuoAttention inference path (model/infer.h) on one prompt per context length
 * and sparsity: prefill tokens/s, decode ms/token, KV-cache bytes (and their share of full attention),
 * peak RSS.  Patterns are seeded random ones at each sparsity (which heads stream does not change the
 * cost, only how many).  A benchmark, not a test: it prints figures, it never judges them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "cli/dtype_args.h"
#include "data/model.h"
#include "kernels/backend.h"
#include "kernels/prims.h"
#include "model/infer.h"
#include "pattern/export.h"
#include "util/clock.h"
#include "util/format.h"

static const char *const usage_text =
    "usage: duo-train bench infer [--backend cpu|cuda] (--model DIR | --random-shape " BENCH_SHAPE_NAMES ") [options]\n"
    "  --dtype fp32|bf16             compute precision (default: bf16 on CUDA, fp32 on the CPU; CPU bf16: bf16 weights, fp32 math)\n"
    "  --ctx N[,N...]                prompt lengths (default 1024,4096)\n"
    "  --sparsities S[,S...]         share of streaming heads (default 0,0.5)\n"
    "  --new-tokens N                tokens decoded per prompt (default 32)\n"
    "  --sink-size N --recent-size N (default 64, 256)\n"
    "  --prefilling-chunk-size N     (default 0: the whole prompt in one forward)\n";

int bench_infer(int argc, char **argv) {
    static const struct option opts[] = {
        {"backend", required_argument, 0, 'b'}, {"model", required_argument, 0, 'm'},
        {"random-shape", required_argument, 0, 'r'}, {"ctx", required_argument, 0, 'c'},
        {"sparsities", required_argument, 0, 's'}, {"new-tokens", required_argument, 0, 'n'},
        {"sink-size", required_argument, 0, 'k'}, {"recent-size", required_argument, 0, 'R'},
        {"prefilling-chunk-size", required_argument, 0, 'p'}, {"dtype", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *backend = "auto", *model_dir = NULL, *shape = NULL;
    double ctxs[16] = {1024, 4096}, spars[16] = {0, 0.5};
    int nctx = 2, nsp = 2;
    long new_tokens = 32, sink = 64, recent = 256, chunk = 0;
    duo_precision prec = DUO_PREC_DEFAULT;
    cli_normalize_long_options(argc, argv);
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'b': bad = cli_parse_backend("bench infer", optarg, &backend); break;
        case 'm': model_dir = optarg; break;
        case 'r': shape = optarg; break;
        case 'c': bad = cli_parse_list("bench infer", "ctx", optarg, ctxs, 16, &nctx); break;
        case 's': bad = cli_parse_list("bench infer", "sparsities", optarg, spars, 16, &nsp); break;
        case 'n': bad = cli_parse_long("bench infer", "new-tokens", optarg, 1, 1 << 16, &new_tokens); break;
        case 'k': bad = cli_parse_long("bench infer", "sink-size", optarg, 0, CLI_MAX_TOKENS, &sink); break;
        case 'R': bad = cli_parse_long("bench infer", "recent-size", optarg, 1, CLI_MAX_TOKENS, &recent); break;
        case 'p': bad = cli_parse_long("bench infer", "prefilling-chunk-size", optarg, 0, CLI_MAX_TOKENS, &chunk); break;
        case 'd': bad = cli_parse_dtype("bench infer", optarg, &prec); break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_getopt_error("bench infer", ch, optopt, argv[optind - 1]);
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("bench infer", "unexpected argument '%s'", argv[optind]);
    if (!model_dir == !shape) return cli_usage_error("bench infer", "give exactly one of --model DIR or --random-shape");
    if (cli_check_dtype_backend("bench infer", prec, backend)) return 2;
    size_t longest = 0;
    for (int i = 0; i < nctx; i++) {
        if (!(ctxs[i] >= 1 && ctxs[i] <= CLI_MAX_TOKENS) || ctxs[i] != (double)(size_t)ctxs[i])
            return cli_usage_error("bench infer", "--ctx: %s is not a token count", format_double(ctxs[i], (char[40]){0}, 40));
        if ((size_t)ctxs[i] > longest) longest = (size_t)ctxs[i];
    }
    for (int i = 0; i < nsp; i++)
        if (!(spars[i] >= 0 && spars[i] <= 1)) return cli_usage_error("bench infer", "--sparsities: %s is outside [0, 1]", format_double(spars[i], (char[40]){0}, 40));

    duo_model m;
    duo_error err = {{0}};
    int orc = bench_model_open("bench infer", model_dir, shape, backend, &m);
    if (orc) return orc;
    const duo_model_config *c = &m.cfg;
    size_t G = (size_t)c->num_hidden_layers * (size_t)c->num_key_value_heads;
    double *gates = malloc(G * sizeof *gates), *bin = malloc(G * sizeof *bin);
    uint8_t *full = malloc(G);
    int32_t *ids = malloc(longest * sizeof *ids);
    duo_backend *be = NULL;
    duo_infer *ctx = NULL;
    int rc = 1;
    if (!gates || !bin || !full || !ids) {
        duo_fail(&err, "out of memory for %zu gates and a %zu-token prompt", G, (size_t)longest);
        goto done;
    }
    uint64_t st = 42;
    for (size_t i = 0; i < G; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        gates[i] = (double)(st >> 11) / 9007199254740992.0;
        full[i] = 1;
    }
    for (size_t i = 0; i < longest; i++) ids[i] = (int32_t)((i * 2654435761u) % (uint32_t)c->vocab_size);
    be = backend_open_prec(backend, prec, &err);
    if (!be) goto done;
    duo_infer_opts io = {.sink_size = (int)sink, .recent_size = (int)recent, .prefilling_chunk_size = (int)chunk,
                         .decoding_simulation_length = 0, .max_new_tokens = (int)new_tokens, .max_prompt = longest};
    ctx = infer_create(&m, be, full, &io, &err);
    if (!ctx) goto done;
    double t_load = clock_wall_s();
    if (infer_load_weights(ctx, &err)) goto done;
    t_load = clock_wall_s() - t_load;
    printf("model: %s  layers %d  hidden %d  heads %d/%d  head_dim %d  (%s)  backend %s (%s)\n",
           model_dir ? model_dir : shape, c->num_hidden_layers, c->hidden_size, c->num_attention_heads,
           c->num_key_value_heads, c->head_dim, model_dir ? "from file" : "random bf16", be->name,
           be->weight_type == DUO_E_BF16 ? "bf16" : "fp32");
    printf("sink %ld recent %ld, prefill %s, %ld decoded tokens per prompt, random patterns\n", sink, recent,
           chunk ? "in chunks" : "in one forward", new_tokens);
    printf("weights loaded in %.2f s before the timed runs\n", t_load);
    printf("%8s %9s %12s %12s %12s %12s %8s %14s\n", "ctx", "sparsity", "prefill s", "prefill tok/s", "decode ms/t",
           "KV bytes", "of full", "peak RSS MiB");
    for (int k = 0; k < nctx; k++)
        for (int s = 0; s < nsp; s++) {
            if (export_binarise_sparsity(gates, G, spars[s], bin) < 0) {
                duo_fail(&err, "out of memory binarising %zu gates", G);
                goto done;
            }
            for (size_t i = 0; i < G; i++) full[i] = bin[i] != 0;
            duo_infer_result r;
            if (infer_set_pattern(ctx, full, &err) ||
                infer_generate(ctx, ids, (size_t)ctxs[k], NULL, 0, NULL, NULL, 0, &r, &err))
                goto done;
            printf("%8zu %9.3f %12.3f %12.1f %12.2f %12zu %7.1f%% %14.1f\n", (size_t)ctxs[k], spars[s], r.prefill_s,
                   ctxs[k] / r.prefill_s, r.decode_tokens ? 1000 * r.decode_s / (double)r.decode_tokens : 0, r.kv_bytes,
                   100.0 * (double)r.kv_bytes / (double)r.kv_bytes_full, clock_peak_rss_mib());
            fflush(stdout);
            infer_result_free(&r);
        }
    rc = 0;
done:
    if (rc) cli_fail(&err);
    infer_free(ctx);
    backend_free(be);
    free(gates);
    free(bin);
    free(full);
    free(ids);
    bench_model_close(model_dir, &m);
    return rc;
}
