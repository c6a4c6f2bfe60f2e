/* duo-train bench synth: seconds and peak memory to build multi-passkey samples from a corpus and write
 * them to HDF5 (the haystack is gathered once, then every sample is generated and written). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/corpus.h"
#include "data/tokenizer.h"
#include "synth/encoder_tok.h"
#include "synth/h5file.h"
#include "synth/multipasskey.h"
#include "cli/bench.h"
#include "cli/cli.h"
#include "util/clock.h"

static const char *const usage_text =
    "usage: duo-train bench synth (--model DIR | --tokenizer PATH) --dataset CORPUS [--num_samples N (50)]\n"
    "                             [--context_length N (32000)] [--num_passkeys N (10)] [--out FILE.h5]\n"
    "Builds N samples with context_length_min = context_length_max = N and writes them (to a temporary\n"
    "file unless --out); prints seconds (haystack, samples + write, total) and peak RSS.\n";

int bench_synth(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},       {"tokenizer", required_argument, 0, 't'},
        {"dataset", required_argument, 0, 'd'},     {"num-samples", required_argument, 0, 'n'},
        {"context-length", required_argument, 0, 'c'}, {"num-passkeys", required_argument, 0, 'p'},
        {"out", required_argument, 0, 'o'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *tpath = NULL, *dataset = NULL, *out = NULL;
    long n = 50, ctx = 32000, passkeys = 10;
    optind = 1;
    opterr = 0;
    for (;;) {
        int li = -1, c = getopt_long(argc, argv, "", opts, &li);
        if (c == -1) break;
        switch (c) {
        case 'm': case 't': tpath = optarg; break;
        case 'd': dataset = optarg; break;
        case 'o': out = optarg; break;
        case 'n': if (cli_parse_long("bench synth", "num_samples", optarg, 1, 1000000, &n)) return 2; break;
        case 'c': if (cli_parse_long("bench synth", "context_length", optarg, 64, 1 << 30, &ctx)) return 2; break;
        case 'p': if (cli_parse_long("bench synth", "num_passkeys", optarg, 1, 20, &passkeys)) return 2; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage_error("bench synth", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (!tpath || !dataset) return cli_usage_error("bench synth", "--model|--tokenizer and --dataset are required");
    char tmp[4096];
    if (!out) {
        const char *dir = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/duo-bench-synth-%ld.h5", dir ? dir : "/tmp", (long)getpid());
        out = tmp;
    }
    duo_error err = {0};
    synth_params p;
    synth_params_default(&p);
    p.context_length_min = p.context_length_max = (int32_t)ctx;
    p.context_lengths_num_intervals = 1;
    p.num_passkeys = (int32_t)passkeys;

    double t0 = clock_wall_s();
    duo_tokenizer *tok = tokenizer_load(tpath, &err);
    if (!tok) return cli_fail(&err);
    double t_tok = clock_wall_s();
    duo_corpus *corpus = corpus_open(dataset, &err);
    if (!corpus) {
        tokenizer_free(tok);
        return cli_fail(&err);
    }
    synth_encoder enc;
    synth_encoder_from_tokenizer(tok, tpath, &enc);
    synth_text_source src = synth_source_from_corpus_prefixes(corpus, dataset);
    synth_builder *b = synth_builder_new(&p, &enc, &src, &err);
    corpus_close(corpus);
    double t_hay = clock_wall_s();
    int rc = 0;
    if (!b || synth_file_write(out, b, n, &(synth_file_meta){tpath, dataset, NULL, NULL}, &err)) {
        rc = cli_fail(&err);
    } else {
        double t_end = clock_wall_s();
        printf("bench synth: %ld samples x context_length %ld (%d passkeys), haystack %d tokens from %d texts\n",
               n, ctx, p.num_passkeys, synth_builder_haystack_length(b), synth_builder_haystack_texts(b));
        printf("  tokenizer load %.3f s, haystack %.3f s, samples + HDF5 write %.3f s, total %.3f s\n",
               t_tok - t0, t_hay - t_tok, t_end - t_hay, t_end - t0);
        printf("  peak RSS %.1f MB\n", clock_peak_rss_mib());
    }
    if (out == tmp) unlink(tmp);
    synth_builder_free(b);
    tokenizer_free(tok);
    return rc;
}
