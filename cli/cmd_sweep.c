/* duo-train sweep: evaluation of patterns on the DuoAttention inference path (DESIGN §4).
 * The inference path itself (split KV cache, chunked prefill, decoding) is the sparsity-sweep
 * issue's work; until it lands this command says so plainly instead of pretending. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: duo-train sweep --model DIR --pattern DIR [--sparsity S,...] [options]\n\n"
            "Evaluates a pattern at several sparsities on the DuoAttention inference path (DESIGN §4):\n"
            "retrieval heads keep the full KV cache, streaming heads keep sink + recent entries; chunked\n"
            "prefill, greedy decoding; passkey and needle-in-a-haystack accuracy (prompts from\n"
            "`duo-train synth --niah`), KV-cache bytes, prefill and decode time, as a table, CSV and plot.\n\n"
            "Not built yet: the inference path arrives with the sparsity-sweep issue.\n");
}

int cmd_sweep(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "duo-train sweep: the evaluation path (DESIGN §4: split KV cache, chunked prefill, "
                    "decoding) is not built yet\n");
    return 2;
}
