/* duo-train sweep: a pattern at several sparsities, with its baselines, on the DuoAttention inference
 * path (eval/sweep.h, DESIGN §4). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/dtype_args.h"
#include "cli/sample_flags.h"
#include "eval/sweep.h"
#include "eval/sweep_report.h"
#include "util/format.h"
#include "util/interrupt.h"

static const char *const usage_text =
    "usage: duo-train sweep --model DIR --pattern DIR --dataset CORPUS [options]\n"
    "\n"
    "Evaluates a trained pattern on the DuoAttention inference path (DESIGN §4): per sparsity the gates are\n"
    "binarised as `duo-train export` does; retrieval heads keep the full KV cache, streaming heads keep the\n"
    "sink + recent window (evicted after every forward); chunked prefill, the decoding simulation, greedy\n"
    "decoding.  The same run evaluates baselines at each sparsity: a seeded random pattern and the inverted\n"
    "pattern.  Prints a table and writes sweep.csv, responses.jsonl (every response) and PNG plots.\n"
    "\n"
    "  --model DIR                   Hugging Face checkpoint (with tokenizer.json)\n"
    "  --pattern DIR                 a trained pattern (full_attention_heads.tsv + config.json)\n"
    "  --dataset CORPUS              haystack text: jsonl(.zst) or a folder of .txt (NIAH: the essays)\n"
    "  --task passkey|niah|longbench multi-passkey retrieval (default), the reference's needle benchmark, or\n"
    "                                LongBench (--dataset: LongBench's data folder; see below)\n"
    "  --sparsities S,...            (0,0.25,0.5,0.75,1)\n"
    "  --context_lengths L,...       haystack tokens per prompt (1000)\n"
    "  --depths D,...                NIAH needle depths in percent (0,25,50,75,100)\n"
    "  --samples N                   passkey prompts per context length (10)\n"
    "  --baselines LIST              of pattern,random,inverted (all three)\n"
    "  --random_patterns K           seeded random patterns per sparsity, their mean reported (1)\n"
    "  --compare DIR[,DIR...]        further pattern folders (e.g. `duo-train score` outputs) evaluated at every\n"
    "                                sparsity as baselines; NAME=DIR names one (default: the folder's name)\n"
    "  --sink_size N, --recent_size N  streaming window (default: the pattern's config.json)\n"
    "  --prefilling_chunk_size N     prefill chunk (0: the whole prompt in one forward)\n"
    "  --decoding_simulation_length N  prompt tokens fed one at a time after the prefill (50)\n"
    "  --prefill reference|streaming reference: the first forward is dense for every head, as the reference\n"
    "                                runs it; streaming: streaming heads are restricted from the first token\n"
"  --share_prefill 0|1           1 (default): each prompt's first forward (dense for every head with prefill\n"
    "                                reference) is computed once and restored for every pattern; 0: computed\n"
    "                                per pattern (the same outputs)\n"
    "  --reuse_identical 0|1         1 (default): a pattern whose binary mask equals an earlier one's (e.g. every\n"
    "                                baseline at sparsity 0) reuses its responses, marked reused_from; 0: reruns\n"
    "  --max_new_tokens N            (passkey: 4 x passkey_length + 8; niah: 50; longbench: each dataset's\n"
    "                                dataset2maxlen, which a smaller N caps)\n"
    "  --seed N                      samples and random patterns (42)\n"
    "  --backend cpu|cuda            (default: cuda where built and a GPU answers, else cpu)\n"
    "  --dtype fp32|bf16             compute precision (default: bf16 on CUDA, fp32 on the CPU; CPU bf16: bf16 weights, fp32 math)\n"
    "  --output_dir DIR              (sweep_out); a folder holding an earlier sweep is refused unless:\n"
    "  --resume                      continue the sweep in --output_dir (prompts / records in responses.jsonl are not rerun)\n"
    "  --overwrite                   replace the earlier sweep in --output_dir\n"
    "  passkey samples, as `duo-train synth`: --num_passkeys (10) --passkey_length (32) --buffer_size (300)\n"
    SAMPLE_TEMPLATE_HELP
    "  NIAH templates: --niah_needle --niah_question --niah_answer --final_context_length_buffer (200)\n"
    "  LongBench (the reference's pred.py and eval.py; English datasets, the jieba ones are refused):\n"
    "    --longbench_config DIR      dataset2prompt.json and dataset2maxlen.json (DATASET/config)\n"
    "    --longbench_datasets A,B    (every English dataset present in DATASET)\n"
    "    --longbench_e               the <name>_e.jsonl files and LongBench-E's 0-4k / 4-8k / 8k+ scores\n"
    "    --samples N                 the first N records of each dataset (all)\n"
    "    --max_length N              prompt tokens before truncation in the middle (max_position_embeddings\n"
    "                                minus the largest generation length)\n"
    "    --model_name NAME           pred.py's model name: chat wrapper, post-processing (the model's folder name)\n"
    "    --chat_wrap auto|none|llama2  [INST]...[/INST] (auto: when the model name holds \"llama-2\")\n";

/* --compare DIR[,DIR...] or NAME=DIR items, appended to o's list; names (the folder's last component
 * by default) must be distinct from each other and from the built-in baselines.  1 on a usage error. */
static int parse_compare(const char *v, sweep_opts *o) {
    static char items[SWEEP_MAX_COMPARE][2048], names[SWEEP_MAX_COMPARE][256];
    char buf[8192];
    if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf) return cli_usage_error("sweep", "--compare: too long") != 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int k = o->num_compare;
        if (k == SWEEP_MAX_COMPARE)
            return cli_usage_error("sweep", "--compare: at most %d folders", SWEEP_MAX_COMPARE) != 0;
        snprintf(items[k], sizeof items[k], "%s", t);
        char *eq = strchr(items[k], '='), *dir = items[k];
        if (eq && eq != items[k]) {
            *eq = 0;
            snprintf(names[k], sizeof names[k], "%s", items[k]);
            dir = eq + 1;
        } else {
            size_t n = strlen(dir);
            while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
            const char *base = strrchr(dir, '/');
            snprintf(names[k], sizeof names[k], "%s", base && base[1] ? base + 1 : dir);
        }
        if (!*dir) return cli_usage_error("sweep", "--compare: '%s' names no folder", t) != 0;
        for (int b = 0; b < SWEEP_NUM_BASELINES + k; b++)
            if (!strcmp(names[k], b < SWEEP_NUM_BASELINES ? SWEEP_BASELINE_NAMES[b] : o->compare_names[b - SWEEP_NUM_BASELINES]))
                return cli_usage_error("sweep", "--compare: the name '%s' is taken (give NAME=DIR)", names[k]) != 0;
        o->compare_dirs[k] = dir;
        o->compare_names[k] = names[k];
        o->num_compare++;
    }
    return 0;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every value once: two equal values would be one cell of the table printed twice (2 when not). */
static int check_distinct(const char *opt, const double *v, int n) {
    char a[40];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (v[i] == v[j]) return cli_usage_error("sweep", "--%s: %s is given twice", opt, format_double(v[i], a, sizeof a));
    return 0;
}

int cmd_sweep(int argc, char **argv) {
    enum { O_MODEL = 256, O_PATTERN, O_DATASET, O_TASK, O_SPARS, O_CTX, O_DEPTHS, O_SAMPLES, O_BASELINES, O_RANDOM,
           O_SINK, O_RECENT, O_CHUNK, O_SIM, O_PREFILL, O_MAXNEW, O_SEED, O_BACKEND, O_OUT, O_NPK, O_PKLEN, O_BUF,
           O_NNEEDLE, O_NQUESTION, O_NANSWER, O_NBUF, O_RESUME, O_OVERWRITE, O_COMPARE, O_HELP, O_DTYPE, O_SHARE, O_REUSE };
    enum { O_LBCONFIG = 512, O_LBDATASETS, O_LBE, O_MAXLEN, O_MODELNAME, O_CHATWRAP }; /* --task longbench */
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"pattern", required_argument, 0, O_PATTERN},
        {"dataset", required_argument, 0, O_DATASET}, {"task", required_argument, 0, O_TASK},
        {"sparsities", required_argument, 0, O_SPARS}, {"sparsity", required_argument, 0, O_SPARS},
        {"context-lengths", required_argument, 0, O_CTX}, {"depths", required_argument, 0, O_DEPTHS},
        {"samples", required_argument, 0, O_SAMPLES}, {"baselines", required_argument, 0, O_BASELINES},
        {"random-patterns", required_argument, 0, O_RANDOM}, {"sink-size", required_argument, 0, O_SINK},
        {"recent-size", required_argument, 0, O_RECENT}, {"prefilling-chunk-size", required_argument, 0, O_CHUNK},
        {"decoding-simulation-length", required_argument, 0, O_SIM}, {"prefill", required_argument, 0, O_PREFILL},
        {"max-new-tokens", required_argument, 0, O_MAXNEW}, {"seed", required_argument, 0, O_SEED},
        {"backend", required_argument, 0, O_BACKEND}, {"output-dir", required_argument, 0, O_OUT},
        {"num-passkeys", required_argument, 0, O_NPK}, {"passkey-length", required_argument, 0, O_PKLEN},
        SAMPLE_TEMPLATE_OPTIONS, {"buffer-size", required_argument, 0, O_BUF},
        {"niah-needle", required_argument, 0, O_NNEEDLE}, {"niah-question", required_argument, 0, O_NQUESTION},
        {"niah-answer", required_argument, 0, O_NANSWER},
        {"final-context-length-buffer", required_argument, 0, O_NBUF}, {"resume", no_argument, 0, O_RESUME},
        {"overwrite", no_argument, 0, O_OVERWRITE}, {"compare", required_argument, 0, O_COMPARE},
        {"help", no_argument, 0, O_HELP}, {"dtype", required_argument, 0, O_DTYPE},
        {"share-prefill", required_argument, 0, O_SHARE}, {"reuse-identical", required_argument, 0, O_REUSE},
        {"longbench-config", required_argument, 0, O_LBCONFIG}, {"longbench-datasets", required_argument, 0, O_LBDATASETS},
        {"longbench-e", no_argument, 0, O_LBE}, {"max-length", required_argument, 0, O_MAXLEN},
        {"model-name", required_argument, 0, O_MODELNAME}, {"chat-wrap", required_argument, 0, O_CHATWRAP},
        {0, 0, 0, 0}};
    sweep_opts o;
    sweep_opts_default(&o);
    optind = 1;
    opterr = 0;
    for (;;) {
        int li = -1, c = getopt_long(argc, argv, ":", opts, &li);
        if (c == -1) break;
        const char *opt = li >= 0 ? opts[li].name : "?", *v = optarg;
        long l = 0;
        int bad = 0;
        double vals[SWEEP_MAX_LIST];
        int n = 0;
        switch (c) {
        case O_MODEL: o.model_dir = v; break;
        case O_PATTERN: o.pattern_dir = v; break;
        case O_DATASET: o.dataset = v; break;
        case O_OUT: o.output_dir = v; break;
        case O_TASK:
            if (!strcmp(v, "passkey")) o.task = SWEEP_PASSKEY;
            else if (!strcmp(v, "niah")) o.task = SWEEP_NIAH;
            else if (!strcmp(v, "longbench")) o.task = SWEEP_LONGBENCH;
            else return cli_usage_error("sweep", "--task must be passkey, niah or longbench, got '%s'", v);
            break;
        case O_SPARS:
            bad = cli_parse_list("sweep", opt, v, o.sparsities, SWEEP_MAX_LIST, &o.num_sparsities);
            for (int i = 0; !bad && i < o.num_sparsities; i++) {
                char num[40];
                if (!(o.sparsities[i] >= 0 && o.sparsities[i] <= 1))
                    return cli_usage_error("sweep", "--sparsities: %s is outside [0, 1]",
                                           format_double(o.sparsities[i], num, sizeof num));
            }
            if (!bad && check_distinct("sparsities", o.sparsities, o.num_sparsities)) return 2;
            /* ascending, whatever the order given: the table, the CSV and the plot's line follow it */
            if (!bad) qsort(o.sparsities, (size_t)o.num_sparsities, sizeof *o.sparsities, by_value);
            break;
        case O_CTX:
            bad = cli_parse_list("sweep", opt, v, vals, SWEEP_MAX_LIST, &n);
            for (int i = 0; !bad && i < n; i++) {
                char num[40];
                if (!(vals[i] >= 1 && vals[i] <= CLI_MAX_TOKENS) || vals[i] != (int32_t)vals[i])
                    return cli_usage_error("sweep", "--context_lengths: %s is not a token count (1 .. %ld)",
                                           format_double(vals[i], num, sizeof num), CLI_MAX_TOKENS);
                o.context_lengths[i] = (int32_t)vals[i];
            }
            if (!bad && check_distinct("context_lengths", vals, n)) return 2;
            o.num_context_lengths = n;
            break;
        case O_DEPTHS:
            bad = cli_parse_list("sweep", opt, v, o.depths, SWEEP_MAX_LIST, &o.num_depths);
            for (int i = 0; !bad && i < o.num_depths; i++) {
                char num[40];
                if (!(o.depths[i] >= 0 && o.depths[i] <= 100))
                    return cli_usage_error("sweep", "--depths: %s is outside [0, 100]",
                                           format_double(o.depths[i], num, sizeof num));
            }
            if (!bad && check_distinct("depths", o.depths, o.num_depths)) return 2;
            break;
        case O_SAMPLES: bad = cli_parse_long("sweep", opt, v, 1, 1000000, &l); o.samples = o.longbench.samples = (int)l; break;
        case O_LBCONFIG: o.longbench.config_dir = v; break;
        case O_LBDATASETS: o.longbench.datasets = v; break;
        case O_LBE: o.longbench.longbench_e = 1; break;
        case O_MAXLEN: bad = cli_parse_long("sweep", opt, v, 1, CLI_MAX_TOKENS, &l); o.longbench.max_length = (int)l; break;
        case O_MODELNAME: o.longbench.model_name = v; break;
        case O_CHATWRAP:
            if (!strcmp(v, "auto")) o.longbench.chat_wrap = LB_CHAT_AUTO;
            else if (!strcmp(v, "none")) o.longbench.chat_wrap = LB_CHAT_NONE;
            else if (!strcmp(v, "llama2")) o.longbench.chat_wrap = LB_CHAT_LLAMA2;
            else return cli_usage_error("sweep", "--chat_wrap must be auto, none or llama2, got '%s'", v);
            break;
        case O_BASELINES: {
            o.baselines = 0;
            /* the whole value, however long (a fixed buffer lost its tail) */
            for (const char *t = v; *t;) {
                size_t len = strcspn(t, ",");
                if (len == 7 && !strncmp(t, "pattern", 7)) o.baselines |= SWEEP_BASE_PATTERN;
                else if (len == 6 && !strncmp(t, "random", 6)) o.baselines |= SWEEP_BASE_RANDOM;
                else if (len == 8 && !strncmp(t, "inverted", 8)) o.baselines |= SWEEP_BASE_INVERTED;
                else if (len) {
                    char *name = strndup(t, len), shown[200];
                    cli_usage_error("sweep", "--baselines: '%s' is not pattern, random or inverted",
                                    format_shown_text(name ? name : "?", shown, sizeof shown));
                    free(name);
                    return 2;
                }
                t += len + (t[len] == ',');
            }
            if (!o.baselines) return cli_usage_error("sweep", "--baselines names none");
            break;
        }
        case O_RANDOM: bad = cli_parse_long("sweep", opt, v, 1, 1000, &l); o.random_patterns = (int)l; break;
        case O_SINK: bad = cli_parse_long("sweep", opt, v, 0, CLI_MAX_TOKENS, &l); o.sink_size = (int)l; break;
        case O_RECENT: bad = cli_parse_long("sweep", opt, v, 1, CLI_MAX_TOKENS, &l); o.recent_size = (int)l; break;
        case O_CHUNK: bad = cli_parse_long("sweep", opt, v, 0, CLI_MAX_TOKENS, &l); o.prefilling_chunk_size = (int)l; break;
        case O_SIM: bad = cli_parse_long("sweep", opt, v, 0, CLI_MAX_TOKENS, &l); o.decoding_simulation_length = (int)l; break;
        case O_PREFILL:
            if (!strcmp(v, "reference")) o.prefill = PREFILL_REFERENCE;
            else if (!strcmp(v, "streaming")) o.prefill = PREFILL_STREAMING;
            else return cli_usage_error("sweep", "--prefill must be reference or streaming, got '%s'", v);
            break;
        case O_MAXNEW: bad = cli_parse_long("sweep", opt, v, 1, 1 << 20, &l); o.max_new_tokens = (int)l; break;
        case O_SEED: bad = cli_parse_long("sweep", opt, v, 0, CLI_MAX_STEPS, &l); o.seed = (uint64_t)l; break;
        case O_BACKEND: bad = cli_parse_backend("sweep", v, &o.backend); break;
        case O_DTYPE: bad = cli_parse_dtype("sweep", v, &o.precision); break;
        case O_NPK: bad = cli_parse_long("sweep", opt, v, 1, CLI_MAX_PASSKEYS, &l); o.passkey.num_passkeys = (int32_t)l; break;
        case O_PKLEN: bad = cli_parse_long("sweep", opt, v, 1, CLI_MAX_PASSKEY_LENGTH, &l); o.passkey.passkey_length = (int32_t)l; break;
        case O_BUF: bad = cli_parse_long("sweep", opt, v, 0, CLI_MAX_TOKENS, &l); o.passkey.buffer_size = (int32_t)l; break;
        case O_NNEEDLE: o.niah.needle = v; break;
        case O_NQUESTION: o.niah.retrieval_question = v; break;
        case O_NANSWER: o.niah.answer = v; break;
        case O_NBUF: bad = cli_parse_long("sweep", opt, v, 0, CLI_MAX_TOKENS, &l); o.niah.final_context_length_buffer = (int32_t)l; break;
        case O_COMPARE:
            if (parse_compare(v, &o)) return 2;
            break;
        case O_SHARE: bad = cli_parse_long("sweep", opt, v, 0, 1, &l); o.share_prefill = (int)l; break;
        case O_REUSE: bad = cli_parse_long("sweep", opt, v, 0, 1, &l); o.reuse_identical = (int)l; break;
        case O_RESUME: o.resume = 1; break;
        case O_OVERWRITE: o.overwrite = 1; break;
        case O_HELP: fputs(usage_text, stdout); return 0;
        default:
            if (sample_template_flag(c, v, &o.passkey)) { /* the passkey templates, as synth takes them */
                if (c == SAMPLE_OPT_PROMPT1) o.niah.prompt_prefix = v; /* NIAH prompts start with it too */
                break;
            }
            return cli_getopt_error("sweep", c, optopt, argv[optind - 1]);
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("sweep", "unexpected argument '%s'", argv[optind]);
    if (cli_check_dtype_backend("sweep", o.precision, o.backend)) return 2;
    if (!o.model_dir) return cli_usage_error("sweep", "--model DIR is required");
    if (!o.pattern_dir) return cli_usage_error("sweep", "--pattern DIR is required (a trained pattern folder)");
    if (!o.dataset)
        return cli_usage_error("sweep", o.task == SWEEP_LONGBENCH ? "--dataset DIR is required (LongBench's data folder)"
                                                                  : "--dataset CORPUS is required (the haystack text)");
    if (o.resume && o.overwrite) return cli_usage_error("sweep", "--resume and --overwrite exclude each other");
    duo_error err = {{0}};
    interrupt_install(); /* Ctrl-C: finish the prompt, write what is done (partial), exit 128 + signal */
    int rc = sweep_run(&o, &err);
    interrupt_uninstall();
    if (rc < 0) return cli_fail(&err);
    return rc ? 128 + rc : 0;
}
