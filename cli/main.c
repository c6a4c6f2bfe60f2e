/* duo-train: finds the retrieval heads of long-context LLMs, the DuoAttention way. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/runtime_env.h"
#include "kernels/backend.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"train", cmd_train, "train one gate per KV head (full vs streaming attention) and export attn_patterns"},
    {"synth", cmd_synth, "build multi-passkey retrieval samples into an HDF5 file, or show one"},
    {"export", cmd_export, "binarise a trained pattern by target sparsity or threshold"},
    {"sweep", cmd_sweep, "evaluate patterns at several sparsities on the DuoAttention inference path"},
    {"score", cmd_score, "rank the heads without training (kvpress otf, retrieval score, ablation)"},
    {"bench", cmd_bench, "measure speed and memory of the training step and the tokenizer"},
    {"inspect", cmd_inspect, "print a checkpoint's architecture, size and gate count"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: duo-train <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'duo-train <command> --help' describes a command's options.\n"
               "Long options accept dashes or underscores: --reg_weight and --reg-weight are the same.\n"
               "Backends in this build: %s.\n", backend_list());
}

int main(int argc, char **argv) {
    runtime_env_settle(argc, argv);
    /* A file-size limit (ulimit -f) makes write() fail with EFBIG, which every writer reports naming its
     * file, instead of killing the process mid-line with SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            cli_normalize_long_options(argc - 1, argv + 1);
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "duo-train: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
