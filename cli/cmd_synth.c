/* duo-train synth: build multi-passkey retrieval samples into an HDF5 file, show one decoded, or list /
 * show the needle-in-a-haystack prompts. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/corpus.h"
#include "data/tokenizer.h"
#include "synth/context_bound.h"
#include "synth/encoder_tok.h"
#include "synth/h5file.h"
#include "synth/multipasskey.h"
#include "synth/niah.h"
#include "cli/cli.h"
#include "cli/sample_flags.h"
#include "cli/output_guard.h"
#include "data/fingerprint.h"
#include "util/interrupt.h"
#include "util/progress.h"

static const char *const usage_text =
    "usage: duo-train synth (--model DIR | --tokenizer PATH) --dataset CORPUS --out FILE.h5 [options]\n"
    "       duo-train synth --show FILE.h5 [--index I] [--model DIR | --tokenizer PATH]\n"
    "       duo-train synth --niah --haystack_dir DIR (--model DIR | --tokenizer PATH) [--list |\n"
    "                       --context_length C --depth_percent D] [NIAH options]\n"
    "\n"
    "Multi-passkey retrieval samples (DESIGN section 2; defaults of the published runs):\n"
    "  --dataset CORPUS                    JSON lines with \"text\" (.jsonl or .jsonl.zst) or a .txt directory\n"
    "  --out FILE.h5                       written atomically; same inputs and seed give the same bytes\n"
    "  --num_samples N                     default: context_lengths_num_intervals (one epoch)\n"
    "  --context_length_min N              1000\n"
    "  --context_length_max N              32000\n"
    "  --context_lengths_num_intervals N   50\n"
    "  --min_needle_depth_ratio R          0.05   (alias --min_depth_ratio)\n"
    "  --max_needle_depth_ratio R          0.95   (alias --max_depth_ratio)\n"
    "  --depth_ratio_num_intervals N       1000\n"
    "  --num_passkeys N                    10 (at most 20)\n"
    "  --passkey_length N                  32 NATO words\n"
    "  --buffer_size N                     300\n"
    "  --pad_to_multiple_of N              16\n"
    "  --seed N                            42\n"
    "  --no_shuffle                        context lengths in order instead of a shuffled epoch\n"
    "  --allow_repeat                      repeat a corpus shorter than context_length_max\n"
    "  --needle T, --retrieval_question T, --prompt1 T, --prompt2 T, --separator T\n"
    "                                      templates; {ordinal_number} becomes first, second, ...\n"
    "\n"
    "Showing: --show FILE.h5 --index I prints sample I decoded, needles in [[...]] and the supervised\n"
    "  span in {{...}} (colours on a terminal; --no_color to keep the markers).\n"
    "\n"
    "Needle in a haystack (the reference benchmark's defaults):\n"
    "  --haystack_dir DIR                  e.g. ../shared/corpus/paul_graham_essays\n"
    "  --list                              print the grid and each prompt's length\n"
    "  --context_length C --depth_percent D   print one prompt\n"
    "  --context_lengths_min N (1000)  --context_lengths_max N (1048000)  --context_lengths_num_intervals N (40)\n"
    "  --document_depth_percent_min N (0)  --document_depth_percent_max N (100)\n"
    "  --document_depth_percent_intervals N (10)  --final_context_length_buffer N (200)\n"
    "  --niah_needle T  --niah_question T  --niah_answer T\n"
    "  --print_ids                         also print the prompt's token ids\n";

enum {
    O_MODEL = 1000, O_TOKENIZER, O_DATASET, O_OUT, O_NUM_SAMPLES, O_CTX_MIN, O_CTX_MAX, O_CTX_INTERVALS,
    O_MIN_DEPTH, O_MAX_DEPTH, O_DEPTH_INTERVALS, O_NUM_PASSKEYS, O_PASSKEY_LENGTH, O_BUFFER, O_PAD, O_SEED,
    O_NO_SHUFFLE, O_ALLOW_REPEAT, O_SHOW, O_INDEX,
    O_NO_COLOR, O_NIAH, O_HAYSTACK_DIR, O_LIST, O_CONTEXT_LENGTH, O_DEPTH_PERCENT, O_N_CTX_MIN, O_N_CTX_MAX,
    O_N_DEPTH_MIN, O_N_DEPTH_MAX, O_N_DEPTH_INTERVALS, O_N_BUFFER, O_N_NEEDLE, O_N_QUESTION, O_N_ANSWER, O_PRINT_IDS, O_HELP,
};

static const struct option options[] = {
    {"model", required_argument, 0, O_MODEL},
    {"tokenizer", required_argument, 0, O_TOKENIZER},
    {"dataset", required_argument, 0, O_DATASET},
    {"dataset-name", required_argument, 0, O_DATASET},
    {"out", required_argument, 0, O_OUT},
    {"num-samples", required_argument, 0, O_NUM_SAMPLES},
    {"context-length-min", required_argument, 0, O_CTX_MIN},
    {"context-length-max", required_argument, 0, O_CTX_MAX},
    {"context-lengths-num-intervals", required_argument, 0, O_CTX_INTERVALS},
    {"min-needle-depth-ratio", required_argument, 0, O_MIN_DEPTH},
    {"min-depth-ratio", required_argument, 0, O_MIN_DEPTH},
    {"max-needle-depth-ratio", required_argument, 0, O_MAX_DEPTH},
    {"max-depth-ratio", required_argument, 0, O_MAX_DEPTH},
    {"depth-ratio-num-intervals", required_argument, 0, O_DEPTH_INTERVALS},
    {"num-passkeys", required_argument, 0, O_NUM_PASSKEYS},
    {"num-passkey", required_argument, 0, O_NUM_PASSKEYS},
    {"passkey-length", required_argument, 0, O_PASSKEY_LENGTH},
    {"buffer-size", required_argument, 0, O_BUFFER},
    {"pad-to-multiple-of", required_argument, 0, O_PAD},
    {"seed", required_argument, 0, O_SEED},
    {"no-shuffle", no_argument, 0, O_NO_SHUFFLE},
    {"allow-repeat", no_argument, 0, O_ALLOW_REPEAT},
    SAMPLE_TEMPLATE_OPTIONS,
    {"show", required_argument, 0, O_SHOW},
    {"index", required_argument, 0, O_INDEX},
    {"no-color", no_argument, 0, O_NO_COLOR},
    {"niah", no_argument, 0, O_NIAH},
    {"haystack-dir", required_argument, 0, O_HAYSTACK_DIR},
    {"list", no_argument, 0, O_LIST},
    {"context-length", required_argument, 0, O_CONTEXT_LENGTH},
    {"depth-percent", required_argument, 0, O_DEPTH_PERCENT},
    {"context-lengths-min", required_argument, 0, O_N_CTX_MIN},
    {"context-lengths-max", required_argument, 0, O_N_CTX_MAX},
    {"document-depth-percent-min", required_argument, 0, O_N_DEPTH_MIN},
    {"document-depth-percent-max", required_argument, 0, O_N_DEPTH_MAX},
    {"document-depth-percent-intervals", required_argument, 0, O_N_DEPTH_INTERVALS},
    {"final-context-length-buffer", required_argument, 0, O_N_BUFFER},
    {"niah-needle", required_argument, 0, O_N_NEEDLE},
    {"niah-question", required_argument, 0, O_N_QUESTION},
    {"niah-answer", required_argument, 0, O_N_ANSWER},
    {"print-ids", no_argument, 0, O_PRINT_IDS},
    {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0},
};

typedef struct {
    const char *model, *tokenizer, *dataset, *out, *show, *haystack_dir;
    long num_samples, index, context_length;
    double depth_percent;
    int niah, list, no_color, have_ctx_intervals, have_depth, have_niah_max, print_ids;
    synth_params p;
    niah_params np;
} synth_args;

static int parse_int(const char *opt, const char *s, long min, long max, int32_t *out) {
    long v;
    if (cli_parse_long("synth", opt, s, min, max, &v)) return 2;
    *out = (int32_t)v;
    return 0;
}

static int parse_args(int argc, char **argv, synth_args *a) {
    memset(a, 0, sizeof *a);
    synth_params_default(&a->p);
    niah_params_default(&a->np);
    a->num_samples = -1;
    a->context_length = -1;
    a->depth_percent = -1;
    optind = 1;
    opterr = 0;
    for (;;) {
        int li = -1;
        int c = getopt_long(argc, argv, ":", options, &li);
        if (c == -1) break;
        const char *v = optarg;
        const char *opt = li >= 0 ? options[li].name : "?";
        long l;
        int bad = 0;
        switch (c) {
        case O_MODEL: a->model = v; break;
        case O_TOKENIZER: a->tokenizer = v; break;
        case O_DATASET: a->dataset = v; break;
        case O_OUT: a->out = v; break;
        case O_NUM_SAMPLES: bad = cli_parse_long("synth", opt, v, 1, 100000000, &a->num_samples); break;
        case O_CTX_MIN: bad = parse_int(opt, v, 1, CLI_MAX_TOKENS, &a->p.context_length_min); break;
        case O_CTX_MAX: bad = parse_int(opt, v, 1, CLI_MAX_TOKENS, &a->p.context_length_max); break;
        case O_CTX_INTERVALS:
            bad = parse_int(opt, v, 1, CLI_MAX_INTERVALS, &a->p.context_lengths_num_intervals);
            a->np.context_lengths_num_intervals = a->p.context_lengths_num_intervals;
            a->have_ctx_intervals = 1;
            break;
        case O_MIN_DEPTH: bad = cli_parse_double("synth", opt, v, &a->p.min_depth_ratio); break;
        case O_MAX_DEPTH: bad = cli_parse_double("synth", opt, v, &a->p.max_depth_ratio); break;
        case O_DEPTH_INTERVALS: bad = parse_int(opt, v, 1, CLI_MAX_DEPTH_INTERVALS, &a->p.depth_ratio_num_intervals); break;
        case O_NUM_PASSKEYS: bad = parse_int(opt, v, 1, CLI_MAX_PASSKEYS, &a->p.num_passkeys); break;
        case O_PASSKEY_LENGTH: bad = parse_int(opt, v, 1, CLI_MAX_PASSKEY_LENGTH, &a->p.passkey_length); break;
        case O_BUFFER: bad = parse_int(opt, v, 0, CLI_MAX_TOKENS, &a->p.buffer_size); break;
        case O_PAD: bad = parse_int(opt, v, 1, 1 << 16, &a->p.pad_to_multiple_of); break;
        case O_SEED:
            bad = cli_parse_long("synth", opt, v, 0, LONG_MAX, &l);
            a->p.seed = (uint64_t)l;
            break;
        case O_NO_SHUFFLE: a->p.shuffle = 0; break;
        case O_ALLOW_REPEAT: a->p.allow_repeat = 1; break;
        case O_SHOW: a->show = v; break;
        case O_INDEX: bad = cli_parse_long("synth", opt, v, 0, LONG_MAX, &a->index); break;
        case O_NO_COLOR: a->no_color = 1; break;
        case O_NIAH: a->niah = 1; break;
        case O_HAYSTACK_DIR: a->haystack_dir = v; break;
        case O_LIST: a->list = 1; break;
        case O_CONTEXT_LENGTH: bad = cli_parse_long("synth", opt, v, 1, CLI_MAX_TOKENS, &a->context_length); break;
        case O_DEPTH_PERCENT:
            bad = cli_parse_double("synth", opt, v, &a->depth_percent);
            a->have_depth = 1;
            break;
        case O_N_CTX_MIN: bad = parse_int(opt, v, 1, CLI_MAX_TOKENS, &a->np.context_lengths_min); break;
        case O_N_CTX_MAX:
            bad = parse_int(opt, v, 1, CLI_MAX_TOKENS, &a->np.context_lengths_max);
            a->have_niah_max = 1;
            break;
        case O_PRINT_IDS: a->print_ids = 1; break;
        case O_N_DEPTH_MIN: bad = parse_int(opt, v, 0, 100, &a->np.document_depth_percent_min); break;
        case O_N_DEPTH_MAX: bad = parse_int(opt, v, 0, 100, &a->np.document_depth_percent_max); break;
        case O_N_DEPTH_INTERVALS: bad = parse_int(opt, v, 1, 10000, &a->np.document_depth_percent_intervals); break;
        case O_N_BUFFER: bad = parse_int(opt, v, 0, CLI_MAX_TOKENS, &a->np.final_context_length_buffer); break;
        case O_N_NEEDLE: a->np.needle = v; break;
        case O_N_QUESTION: a->np.retrieval_question = v; break;
        case O_N_ANSWER: a->np.answer = v; break;
        case O_HELP: fputs(usage_text, stdout); return -1;
        default:
            if (sample_template_flag(c, v, &a->p)) break;
            return cli_getopt_error("synth", c, optopt, argv[optind - 1]);
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
    return 0;
}

static duo_tokenizer *load_tokenizer(const synth_args *a, const char *fallback, const char **used, duo_error *err) {
    const char *path = a->tokenizer ? a->tokenizer : a->model ? a->model : fallback;
    *used = path;
    if (!path) {
        duo_fail(err, "no tokenizer: pass --model DIR or --tokenizer PATH");
        return NULL;
    }
    return tokenizer_load(path, err);
}

static void progress_cb(void *ctx, int64_t done, int64_t total) {
    (void)total;
    progress_update((duo_progress *)ctx, (long)done, NULL);
}

static int run_build(const synth_args *a) {
    duo_error err = {0};
    if (!a->model && !a->tokenizer) return cli_usage_error("synth", "--model DIR or --tokenizer PATH is required");
    if (!a->dataset) return cli_usage_error("synth", "--dataset CORPUS is required");
    if (!a->out) return cli_usage_error("synth", "--out FILE.h5 is required");
    if (synth_params_validate(&a->p, &err)) return cli_usage_error("synth", "%s", err.msg);
    const char *tpath = a->tokenizer ? a->tokenizer : a->model;
    if (output_guard_synth_out(a->out, a->dataset, tpath, &err)) return cli_fail(&err);
    duo_tokenizer *tok = load_tokenizer(a, NULL, &tpath, &err);
    if (!tok) return cli_fail(&err);
    duo_corpus *corpus = corpus_open(a->dataset, &err);
    if (!corpus) {
        tokenizer_free(tok);
        duo_error_prefix(&err, "--dataset");
        return cli_fail(&err);
    }
    int bound = cli_check_context_bound("synth", a->p.context_length_max, "context_length_max", a->model);
    if (bound) {
        corpus_close(corpus);
        tokenizer_free(tok);
        return bound;
    }
    char tok_fp[64];
    duo_error ignored;
    int have_fp = fingerprint_tokenizer(tpath, tok_fp, sizeof tok_fp, &ignored) == 0;
    synth_encoder enc;
    synth_encoder_from_tokenizer(tok, tpath, &enc);
    synth_text_source src = synth_source_from_corpus_prefixes(corpus, a->dataset);
    synth_builder *b = synth_builder_new(&a->p, &enc, &src, &err);
    corpus_close(corpus);
    int rc = 0;
    if (!b) {
        rc = cli_fail(&err);
    } else {
        int64_t n = a->num_samples > 0 ? a->num_samples : a->p.context_lengths_num_intervals;
        if (synth_builder_repeated(b))
            fprintf(stderr, "duo-train synth: note: corpus %s is shorter than %d tokens; it was repeated "
                            "(--allow_repeat)\n", a->dataset, a->p.context_length_max);
        duo_progress prog;
        progress_start(&prog, "synth", (long)n);
        synth_file_meta meta = {tpath, a->dataset, progress_cb, &prog};
        interrupt_install();  /* Ctrl-C: stop between samples and remove the temporary file */
        if (synth_file_write_fp(a->out, b, n, &meta, have_fp ? tok_fp : NULL, &err)) rc = cli_fail(&err);
        if (rc && interrupt_requested()) rc = 128 + interrupt_requested();
        interrupt_uninstall();
        progress_end(&prog);
        if (!rc)
            printf("wrote %lld samples to %s (haystack %d tokens from %d texts, seed %llu)\n", (long long)n, a->out,
                   synth_builder_haystack_length(b), synth_builder_haystack_texts(b),
                   (unsigned long long)a->p.seed);
        synth_builder_free(b);
    }
    tokenizer_free(tok);
    return rc;
}

/* Prints ids[from, to) decoded, wrapped in open/close markers when given. */
static void put_span(const duo_tokenizer *tok, const int32_t *ids, int32_t from, int32_t to, const char *open,
                     const char *close) {
    if (to <= from) return;
    char *s = tokenizer_decode(tok, ids + from, (size_t)(to - from), 0);
    fputs(open, stdout);
    fputs(s ? s : "<undecodable>", stdout);
    fputs(close, stdout);
    free(s);
}

static int run_show(const synth_args *a) {
    duo_error err = {0};
    synth_file *f = synth_file_open(a->show, &err);
    if (!f) return cli_fail(&err);
    synth_sample s;
    if (synth_file_read(f, a->index, &s, &err)) {
        synth_file_close(f);
        return cli_fail(&err);
    }
    char *recorded = synth_file_attr_str(f, "tokenizer");
    synth_file_close(f);
    const char *tpath;
    duo_tokenizer *tok = load_tokenizer(a, recorded && *recorded ? recorded : NULL, &tpath, &err);
    free(recorded);
    if (!tok) {
        synth_sample_free(&s);
        return cli_fail(&err);
    }
    int color = !a->no_color && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    const char *n_open = color ? "\033[1;33m" : "[[", *n_close = color ? "\033[0m" : "]]";
    const char *q_open = color ? "\033[1;32m" : "{{", *q_close = color ? "\033[0m" : "}}";
    printf("sample %ld (index %lld): %zu tokens, context_length %d (haystack %d tokens), %d passkeys, "
           "supervised [%d, %zu) = %zu tokens\n",
           a->index, (long long)s.index, s.n, s.context_length, s.haystack_length, s.num_passkeys, s.qa_start, s.n,
           s.n - (size_t)s.qa_start);
    int32_t at = 0;
    for (int32_t i = 0; i < s.num_passkeys; i++) {
        put_span(tok, s.input_ids, at, s.needle_pos[i][0], "", "");
        put_span(tok, s.input_ids, s.needle_pos[i][0], s.needle_pos[i][1], n_open, n_close);
        at = s.needle_pos[i][1];
    }
    put_span(tok, s.input_ids, at, s.qa_start, "", "");
    put_span(tok, s.input_ids, s.qa_start, (int32_t)s.n, q_open, q_close);
    putchar('\n');
    tokenizer_free(tok);
    synth_sample_free(&s);
    return 0;
}

static int run_niah(synth_args *a) {
    duo_error err = {0};
    if (!a->haystack_dir) return cli_usage_error("synth", "--niah needs --haystack_dir DIR");
    if (!a->model && !a->tokenizer) return cli_usage_error("synth", "--model DIR or --tokenizer PATH is required");
    if (!a->list && (a->context_length < 0 || !a->have_depth))
        return cli_usage_error("synth", "--niah needs --list, or --context_length C and --depth_percent D");
    if (!a->have_ctx_intervals) a->np.context_lengths_num_intervals = 40;
    if (niah_params_validate(&a->np, &err)) return cli_usage_error("synth", "%s", err.msg);
    if (!a->list) {
        /* One prompt.  The reference sizes the haystack for the whole grid (which can change the last
         * tokens of a context that ends in the haystack's last copy): with --context_lengths_max given,
         * keep that grid; otherwise the haystack only has to reach this length. */
        if (!a->have_niah_max || a->context_length > a->np.context_lengths_max) {
            a->np.context_lengths_min = a->np.context_lengths_max = (int32_t)a->context_length;
            a->np.context_lengths_num_intervals = 1;
        } else if (a->np.context_lengths_min > a->np.context_lengths_max) {
            a->np.context_lengths_min = a->np.context_lengths_max;
        }
    }
    const char *tpath;
    duo_tokenizer *tok = load_tokenizer(a, NULL, &tpath, &err);
    if (!tok) return cli_fail(&err);
    duo_corpus *corpus = corpus_open(a->haystack_dir, &err);
    if (!corpus) {
        tokenizer_free(tok);
        return cli_fail(&err);
    }
    int bound = cli_check_context_bound("synth", a->np.context_lengths_max, a->list || a->have_niah_max ? "context_lengths_max"
                                                                                           : "context_length", a->model);
    if (bound) {
        corpus_close(corpus);
        tokenizer_free(tok);
        return bound;
    }
    synth_encoder enc;
    synth_encoder_from_tokenizer(tok, tpath, &enc);
    synth_text_source src = synth_source_from_corpus(corpus, a->haystack_dir);
    niah_builder *b = niah_builder_new(&a->np, &enc, &src, &err);
    corpus_close(corpus);
    int rc = 0;
    if (!b) {
        rc = cli_fail(&err);
    } else if (a->list) {
        printf("context_length\tdepth_percent\tprompt_tokens\tinsertion_point\n");
        for (int32_t i = 0; i < niah_num_context_lengths(b) && !rc; i++)
            for (int32_t j = 0; j < niah_num_depths(b) && !rc; j++) {
                niah_prompt pr;
                if (niah_prompt_build(b, niah_context_lengths(b)[i], niah_depth_percents(b)[j], &pr, &err)) {
                    rc = cli_fail(&err);
                    break;
                }
                printf("%d\t%d\t%zu\t%d\n", pr.context_length, niah_depth_percents(b)[j], pr.n, pr.insertion_point);
                niah_prompt_free(&pr);
            }
    } else {
        niah_prompt pr;
        if (niah_prompt_build(b, (int32_t)a->context_length, a->depth_percent, &pr, &err)) {
            rc = cli_fail(&err);
        } else {
            printf("niah: context_length %d, depth %g%%, %zu prompt tokens, needle at context token %d of %d; "
                   "expected answer: %s\n",
                   pr.context_length, pr.depth_percent, pr.n, pr.insertion_point, pr.context_tokens, pr.answer);
            if (a->print_ids) {
                printf("input_ids:");
                for (size_t t = 0; t < pr.n; t++) printf(" %d", pr.ids[t]);
                putchar('\n');
            }
            char *text = tokenizer_decode(tok, pr.ids, pr.n, 0);
            fputs(text ? text : "<undecodable>", stdout);
            putchar('\n');
            free(text);
            niah_prompt_free(&pr);
        }
    }
    niah_builder_free(b);
    tokenizer_free(tok);
    return rc;
}

int cmd_synth(int argc, char **argv) {
    synth_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (a.show) return run_show(&a);
    if (a.niah) return run_niah(&a);
    return run_build(&a);
}
