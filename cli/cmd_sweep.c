/* duo-train sweep: a pattern at several sparsities, with its baselines, on the DuoAttention inference
 * path (eval/sweep.h, DESIGN §4). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "eval/sweep.h"

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
    "  --sink_size N, --recent_size N  streaming window (default: the pattern's config.json)\n"
    "  --prefilling_chunk_size N     prefill chunk (0: the whole prompt in one forward)\n"
    "  --decoding_simulation_length N  prompt tokens fed one at a time after the prefill (50)\n"
    "  --prefill reference|streaming reference: the first forward is dense for every head, as the reference\n"
    "                                runs it; streaming: streaming heads are restricted from the first token\n"
    "  --max_new_tokens N            (passkey: 4 x passkey_length + 8; niah: 50; longbench: each dataset's\n"
    "                                dataset2maxlen, which a smaller N caps)\n"
    "  --seed N                      samples and random patterns (42)\n"
    "  --backend cpu|cuda            (default: cuda where built and a GPU answers, else cpu)\n"
    "  --output_dir DIR              (sweep_out)\n"
    "  passkey samples, as `duo-train synth`: --num_passkeys (10) --passkey_length (32) --needle\n"
    "    --retrieval_question --prompt1 --prompt2 --separator --buffer_size (300)\n"
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

int cmd_sweep(int argc, char **argv) {
    enum { O_MODEL = 256, O_PATTERN, O_DATASET, O_TASK, O_SPARS, O_CTX, O_DEPTHS, O_SAMPLES, O_BASELINES, O_RANDOM,
           O_SINK, O_RECENT, O_CHUNK, O_SIM, O_PREFILL, O_MAXNEW, O_SEED, O_BACKEND, O_OUT, O_NPK, O_PKLEN, O_NEEDLE,
           O_QUESTION, O_PROMPT1, O_PROMPT2, O_SEP, O_BUF, O_NNEEDLE, O_NQUESTION, O_NANSWER, O_NBUF, O_HELP };
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
        {"needle", required_argument, 0, O_NEEDLE}, {"retrieval-question", required_argument, 0, O_QUESTION},
        {"prompt1", required_argument, 0, O_PROMPT1}, {"prompt2", required_argument, 0, O_PROMPT2},
        {"separator", required_argument, 0, O_SEP}, {"buffer-size", required_argument, 0, O_BUF},
        {"niah-needle", required_argument, 0, O_NNEEDLE}, {"niah-question", required_argument, 0, O_NQUESTION},
        {"niah-answer", required_argument, 0, O_NANSWER},
        {"final-context-length-buffer", required_argument, 0, O_NBUF}, {"help", no_argument, 0, O_HELP},
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
            for (int i = 0; !bad && i < o.num_sparsities; i++)
                if (!(o.sparsities[i] >= 0 && o.sparsities[i] <= 1))
                    return cli_usage_error("sweep", "--sparsities: %g is outside [0, 1]", o.sparsities[i]);
            break;
        case O_CTX:
            bad = cli_parse_list("sweep", opt, v, vals, SWEEP_MAX_LIST, &n);
            for (int i = 0; !bad && i < n; i++) {
                if (!(vals[i] >= 1 && vals[i] <= CLI_MAX_TOKENS) || vals[i] != (int32_t)vals[i])
                    return cli_usage_error("sweep", "--context_lengths: %g is not a token count", vals[i]);
                o.context_lengths[i] = (int32_t)vals[i];
            }
            o.num_context_lengths = n;
            break;
        case O_DEPTHS:
            bad = cli_parse_list("sweep", opt, v, o.depths, SWEEP_MAX_LIST, &o.num_depths);
            for (int i = 0; !bad && i < o.num_depths; i++)
                if (!(o.depths[i] >= 0 && o.depths[i] <= 100))
                    return cli_usage_error("sweep", "--depths: %g is outside [0, 100]", o.depths[i]);
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
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
                if (!strcmp(t, "pattern")) o.baselines |= SWEEP_BASE_PATTERN;
                else if (!strcmp(t, "random")) o.baselines |= SWEEP_BASE_RANDOM;
                else if (!strcmp(t, "inverted")) o.baselines |= SWEEP_BASE_INVERTED;
                else return cli_usage_error("sweep", "--baselines: '%s' is not pattern, random or inverted", t);
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
        case O_NPK: bad = cli_parse_long("sweep", opt, v, 1, CLI_MAX_PASSKEYS, &l); o.passkey.num_passkeys = (int32_t)l; break;
        case O_PKLEN: bad = cli_parse_long("sweep", opt, v, 1, CLI_MAX_PASSKEY_LENGTH, &l); o.passkey.passkey_length = (int32_t)l; break;
        case O_BUF: bad = cli_parse_long("sweep", opt, v, 0, CLI_MAX_TOKENS, &l); o.passkey.buffer_size = (int32_t)l; break;
        case O_NEEDLE: o.passkey.needle = v; break;
        case O_QUESTION: o.passkey.retrieval_question = v; break;
        case O_PROMPT1: o.passkey.prompt1 = o.niah.prompt_prefix = v; break;
        case O_PROMPT2: o.passkey.prompt2 = v; break;
        case O_SEP: o.passkey.separator = v; break;
        case O_NNEEDLE: o.niah.needle = v; break;
        case O_NQUESTION: o.niah.retrieval_question = v; break;
        case O_NANSWER: o.niah.answer = v; break;
        case O_NBUF: bad = cli_parse_long("sweep", opt, v, 0, CLI_MAX_TOKENS, &l); o.niah.final_context_length_buffer = (int32_t)l; break;
        case O_HELP: fputs(usage_text, stdout); return 0;
        default: return cli_getopt_error("sweep", c, optopt, argv[optind - 1]);
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("sweep", "unexpected argument '%s'", argv[optind]);
    if (!o.model_dir) return cli_usage_error("sweep", "--model DIR is required");
    if (!o.pattern_dir) return cli_usage_error("sweep", "--pattern DIR is required (a trained pattern folder)");
    if (!o.dataset)
        return cli_usage_error("sweep", o.task == SWEEP_LONGBENCH ? "--dataset DIR is required (LongBench's data folder)"
                                                                  : "--dataset CORPUS is required (the haystack text)");
    duo_error err = {{0}};
    if (sweep_run(&o, &err)) return cli_fail(&err);
    return 0;
}
