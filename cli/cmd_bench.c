/* duo-train bench <what> [options]: benchmarks that report speed and memory (never timed tests). */
#include <stdio.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} benches[] = {
    {"tokenizer", bench_tokenizer, "tokenisation throughput (MB/s, one thread)"},
    {"synth", bench_synth, "building multi-passkey samples: seconds and peak memory"},
    {"step", bench_step, "the training step: s/step, GFLOP/s, cone share, peak RSS; --plan: device memory, FLOPs, time at a peak"},
    {"infer", bench_infer, "the inference path: prefill tokens/s, decode ms/token, KV-cache bytes by sparsity"},
    {"gemm", bench_gemm, "the backend's GEMM: GFLOP/s, square and the model's projection shapes, 1 and all threads"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: duo-train bench <what> [options]\n\n");
    for (size_t i = 0; i < sizeof benches / sizeof *benches; i++)
        fprintf(f, "  %-10s %s\n", benches[i].name, benches[i].summary);
    fprintf(f, "\n'duo-train bench <what> --help' lists each benchmark's options.\n");
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof benches / sizeof *benches; i++)
        if (!strcmp(argv[1], benches[i].name)) return benches[i].run(argc - 1, argv + 1);
    return cli_usage_error("bench", "unknown benchmark '%s'", argv[1]);
}
