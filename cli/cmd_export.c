/* duo-train export: binarise a trained pattern by target sparsity or by threshold (DESIGN §3) into a
 * directory DuoAttention's load_attn_pattern reads unchanged. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "data/fileio.h"
#include "cli/cli.h"
#include "cli/output_guard.h"
#include "pattern/export.h"
#include "pattern/pyfloat.h"
#include "util/format.h"

static void export_usage(FILE *f) {
    fprintf(f,
            "usage: duo-train export --pattern DIR (--sparsity S | --threshold T) [--output DIR]\n"
            "\n"
            "Reads DIR/full_attention_heads.tsv and DIR/config.json (a trained or published pattern),\n"
            "clips the gates to [0,1] and writes the binarised pattern (1 = full-attention head,\n"
            "0 = streaming head) with its config.json, then prints the achieved sparsity.\n"
            "\n"
            "  --pattern DIR     pattern directory (full_attention_heads.tsv + config.json)\n"
            "  --sparsity S      share of heads made streaming, 0..1: the heads below the S-quantile of the\n"
            "                    gates (the reference's rule; equal gates: lower layer/head index first)\n"
            "  --threshold T     heads with gate >= T stay full, the others become streaming\n"
            "  --output DIR      where to write (default: DIR/sparsity=S or DIR/threshold=T)\n");
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {
        {"pattern", required_argument, 0, 'p'}, {"sparsity", required_argument, 0, 's'},
        {"threshold", required_argument, 0, 't'}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *pattern = NULL, *output = NULL;
    double sparsity = 0, threshold = 0;
    int have_sparsity = 0, have_threshold = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pattern = optarg; break;
        case 'o': output = optarg; break;
        case 's':
            if (cli_parse_double("export", "sparsity", optarg, &sparsity)) return 2;
            have_sparsity = 1;
            break;
        case 't':
            if (cli_parse_double("export", "threshold", optarg, &threshold)) return 2;
            have_threshold = 1;
            break;
        case 'h': export_usage(stdout); return 0;
        default: return cli_getopt_error("export", c, optopt, argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
    if (!pattern) return cli_usage_error("export", "--pattern DIR is required");
    if (have_sparsity == have_threshold)
        return cli_usage_error("export", "give exactly one of --sparsity S or --threshold T");
    if (have_sparsity && (sparsity < 0 || sparsity > 1))
        return cli_usage_error("export", "--sparsity must be between 0 and 1, got %s", format_double(sparsity, (char[40]){0}, 40));
    if (have_threshold && (threshold < 0 || threshold > 1))
        return cli_usage_error("export", "--threshold must be between 0 and 1, got %s", format_double(threshold, (char[40]){0}, 40));
    char out[4096], num[40];
    if (!output) {
        char name[64];
        snprintf(name, sizeof name, "%s=%s", have_sparsity ? "sparsity" : "threshold",
                 py_float_repr(have_sparsity ? sparsity : threshold, num, sizeof num));
        output = path_join(out, sizeof out, pattern, name);
    }
    duo_error err;
    if (output_guard_export_dir(output, pattern, &err)) return cli_fail(&err);
    double achieved;
    size_t streaming, total;
    if (export_binary_pattern(pattern, output, have_sparsity, have_sparsity ? sparsity : threshold, &achieved,
                              &streaming, &total, &err))
        return cli_fail(&err);
    printf("achieved sparsity: %.6f (%zu of %zu heads streaming, %zu full)\n", achieved, streaming, total,
           total - streaming);
    printf("wrote %s/full_attention_heads.tsv and config.json\n", output);
    return 0;
}
