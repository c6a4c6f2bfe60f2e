/* duo-train score: training-free head rankings in the layout `train` writes (eval/score.h, issue 18). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "eval/score.h"

static const char *const usage_text =
    "usage: duo-train score --model DIR --method otf|retrieval|ablation --dataset CORPUS --output_dir DIR [options]\n"
    "\n"
    "Ranks the KV heads without training and writes the layout `train` writes: full_attention_heads.tsv\n"
    "(layers x KV heads in [0, 1], higher = keep full attention), config.json (sink_size, recent_size, the\n"
    "method, its parameters, raw scores and the seconds it took) and full_attention_heads.png, so `export`,\n"
    "`sweep` and DuoAttention take it unchanged.  Methods:\n"
    "  otf        kvpress's duo_attention_on_the_fly: mean query and key of each layer over N texts, repeated at\n"
    "             positions 0..q_len-1 under RoPE, the mean of the last query's cumulative attention curve\n"
    "             (the TSV holds that score: kvpress streams the lowest)\n"
    "  retrieval  Wu et al.'s retrieval score on needle prompts: the share of copied needle tokens for which a\n"
    "             head's most-weighted key is the needle position the token came from (mean over a KV head's\n"
    "             query heads)\n"
    "  ablation   the passkey accuracy drop when that KV head alone streams (L x KV heads + 1 passes)\n"
    "\n"
    "  --model DIR                   Hugging Face checkpoint (with tokenizer.json)\n"
    "  --method NAME                 otf, retrieval or ablation\n"
    "  --dataset CORPUS              jsonl(.zst) with \"text\", or a folder of .txt (otf: the texts; retrieval:\n"
    "                                the haystack; ablation: the passkey samples' haystack)\n"
    "  --output_dir DIR              the pattern folder to write (never a model folder; one holding an\n"
    "                                earlier training or score is refused unless --overwrite, which replaces it)\n"
    "  --overwrite                   replace the earlier run in --output_dir\n"
    "  --samples N                   otf: texts drawn (50); retrieval with --prompts passkey and ablation:\n"
    "                                prompts per context length (10)\n"
    "  --q_len N                     otf: positions of the repeated mean query / key (500)\n"
    "  --max_tokens N                otf: each text's first N tokens (0: all)\n"
    "  --seed N                      the texts drawn, the passkey samples (42)\n"
    "  --prompts niah|passkey        retrieval: the NIAH benchmark's needle (default) or passkey samples\n"
    "  --context_lengths L,...       retrieval, ablation: haystack tokens per prompt (1000)\n"
    "  --depths D,...                retrieval (niah): needle depths in percent (0,25,50,75,100)\n"
    "  --sink_size N, --recent_size N  the streaming window ablation uses and config.json records (128, 256)\n"
    "  --max_new_tokens N            retrieval: needle tokens + 8; ablation: 4 x passkey_length + 8\n"
    "  --prefill reference|streaming, --decoding_simulation_length N (50), --prefilling_chunk_size N (0)\n"
    "                                ablation's inference path, as `sweep`\n"
    "  --num_passkeys N (10), --passkey_length N (32)  passkey samples, as `duo-train synth`\n"
    "  --niah_needle, --niah_question, --niah_answer, --final_context_length_buffer (200)  NIAH templates\n"
    "  --backend cpu|cuda            (default: cuda where built and a GPU answers, else cpu)\n";

int cmd_score(int argc, char **argv) {
    enum { O_MODEL = 256, O_METHOD, O_DATASET, O_OUT, O_SAMPLES, O_QLEN, O_MAXTOK, O_SEED, O_PROMPTS, O_CTX, O_DEPTHS,
           O_SINK, O_RECENT, O_MAXNEW, O_PREFILL, O_SIM, O_CHUNK, O_NPK, O_PKLEN, O_NNEEDLE, O_NQUESTION, O_NANSWER,
           O_NBUF, O_BACKEND, O_OVERWRITE, O_HELP };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"method", required_argument, 0, O_METHOD},
        {"dataset", required_argument, 0, O_DATASET}, {"output-dir", required_argument, 0, O_OUT},
        {"overwrite", no_argument, 0, O_OVERWRITE},
        {"samples", required_argument, 0, O_SAMPLES}, {"q-len", required_argument, 0, O_QLEN},
        {"max-tokens", required_argument, 0, O_MAXTOK}, {"seed", required_argument, 0, O_SEED},
        {"prompts", required_argument, 0, O_PROMPTS}, {"context-lengths", required_argument, 0, O_CTX},
        {"depths", required_argument, 0, O_DEPTHS}, {"sink-size", required_argument, 0, O_SINK},
        {"recent-size", required_argument, 0, O_RECENT}, {"max-new-tokens", required_argument, 0, O_MAXNEW},
        {"prefill", required_argument, 0, O_PREFILL}, {"decoding-simulation-length", required_argument, 0, O_SIM},
        {"prefilling-chunk-size", required_argument, 0, O_CHUNK}, {"num-passkeys", required_argument, 0, O_NPK},
        {"passkey-length", required_argument, 0, O_PKLEN}, {"niah-needle", required_argument, 0, O_NNEEDLE},
        {"niah-question", required_argument, 0, O_NQUESTION}, {"niah-answer", required_argument, 0, O_NANSWER},
        {"final-context-length-buffer", required_argument, 0, O_NBUF}, {"backend", required_argument, 0, O_BACKEND},
        {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};
    score_opts o;
    score_opts_default(&o);
    int have_method = 0, have_samples = 0;
    optind = 1;
    opterr = 0;
    for (;;) {
        int li = -1, c = getopt_long(argc, argv, ":", opts, &li);
        if (c == -1) break;
        const char *opt = li >= 0 ? opts[li].name : "?", *v = optarg;
        long l = 0;
        int bad = 0, n = 0;
        double vals[SWEEP_MAX_LIST];
        switch (c) {
        case O_MODEL: o.model_dir = v; break;
        case O_DATASET: o.dataset = v; break;
        case O_OUT: o.output_dir = v; break;
        case O_OVERWRITE: o.overwrite = 1; break;
        case O_METHOD:
            if (!strcmp(v, "otf")) o.method = SCORE_OTF;
            else if (!strcmp(v, "retrieval")) o.method = SCORE_RETRIEVAL;
            else if (!strcmp(v, "ablation")) o.method = SCORE_ABLATION;
            else return cli_usage_error("score", "--method must be otf, retrieval or ablation, got '%s'", v);
            have_method = 1;
            break;
        case O_SAMPLES:
            bad = cli_parse_long("score", opt, v, 1, 1000000, &l);
            o.samples = (int)l;
            have_samples = 1;
            break;
        case O_QLEN: bad = cli_parse_long("score", opt, v, 1, CLI_MAX_TOKENS, &l); o.q_len = (int)l; break;
        case O_MAXTOK: bad = cli_parse_long("score", opt, v, 0, CLI_MAX_TOKENS, &l); o.max_tokens = (int)l; break;
        case O_SEED: bad = cli_parse_long("score", opt, v, 0, CLI_MAX_STEPS, &l); o.seed = (uint64_t)l; break;
        case O_PROMPTS:
            if (!strcmp(v, "niah")) o.prompts = SCORE_PROMPTS_NIAH;
            else if (!strcmp(v, "passkey")) o.prompts = SCORE_PROMPTS_PASSKEY;
            else return cli_usage_error("score", "--prompts must be niah or passkey, got '%s'", v);
            break;
        case O_CTX:
            bad = cli_parse_list("score", opt, v, vals, SWEEP_MAX_LIST, &n);
            for (int i = 0; !bad && i < n; i++) {
                if (!(vals[i] >= 1 && vals[i] <= CLI_MAX_TOKENS) || vals[i] != (int32_t)vals[i])
                    return cli_usage_error("score", "--context_lengths: %g is not a token count", vals[i]);
                o.eval.context_lengths[i] = (int32_t)vals[i];
            }
            o.eval.num_context_lengths = n;
            break;
        case O_DEPTHS:
            bad = cli_parse_list("score", opt, v, o.eval.depths, SWEEP_MAX_LIST, &o.eval.num_depths);
            for (int i = 0; !bad && i < o.eval.num_depths; i++)
                if (!(o.eval.depths[i] >= 0 && o.eval.depths[i] <= 100))
                    return cli_usage_error("score", "--depths: %g is outside [0, 100]", o.eval.depths[i]);
            break;
        case O_SINK: bad = cli_parse_long("score", opt, v, 0, CLI_MAX_TOKENS, &l); o.sink_size = (int)l; break;
        case O_RECENT: bad = cli_parse_long("score", opt, v, 1, CLI_MAX_TOKENS, &l); o.recent_size = (int)l; break;
        case O_MAXNEW: bad = cli_parse_long("score", opt, v, 1, 1 << 20, &l); o.max_new_tokens = (int)l; break;
        case O_PREFILL:
            if (!strcmp(v, "reference")) o.eval.prefill = PREFILL_REFERENCE;
            else if (!strcmp(v, "streaming")) o.eval.prefill = PREFILL_STREAMING;
            else return cli_usage_error("score", "--prefill must be reference or streaming, got '%s'", v);
            break;
        case O_SIM: bad = cli_parse_long("score", opt, v, 0, CLI_MAX_TOKENS, &l); o.eval.decoding_simulation_length = (int)l; break;
        case O_CHUNK: bad = cli_parse_long("score", opt, v, 0, CLI_MAX_TOKENS, &l); o.eval.prefilling_chunk_size = (int)l; break;
        case O_NPK: bad = cli_parse_long("score", opt, v, 1, CLI_MAX_PASSKEYS, &l); o.eval.passkey.num_passkeys = (int32_t)l; break;
        case O_PKLEN: bad = cli_parse_long("score", opt, v, 1, CLI_MAX_PASSKEY_LENGTH, &l); o.eval.passkey.passkey_length = (int32_t)l; break;
        case O_NNEEDLE: o.eval.niah.needle = v; break;
        case O_NQUESTION: o.eval.niah.retrieval_question = v; break;
        case O_NANSWER: o.eval.niah.answer = v; break;
        case O_NBUF: bad = cli_parse_long("score", opt, v, 0, CLI_MAX_TOKENS, &l); o.eval.niah.final_context_length_buffer = (int32_t)l; break;
        case O_BACKEND: bad = cli_parse_backend("score", v, &o.backend); break;
        case O_HELP: fputs(usage_text, stdout); return 0;
        default: return cli_getopt_error("score", c, optopt, argv[optind - 1]);
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("score", "unexpected argument '%s'", argv[optind]);
    if (!o.model_dir) return cli_usage_error("score", "--model DIR is required");
    if (!have_method) return cli_usage_error("score", "--method otf|retrieval|ablation is required");
    if (!o.dataset) return cli_usage_error("score", "--dataset CORPUS is required");
    if (!o.output_dir) return cli_usage_error("score", "--output_dir DIR is required");
    if (have_samples && o.method == SCORE_RETRIEVAL && o.prompts == SCORE_PROMPTS_NIAH)
        return cli_usage_error("score", "--samples counts passkey prompts (--prompts passkey); the NIAH needle has one "
                                        "prompt per context length and depth");
    duo_error err = {{0}};
    if (score_run(&o, &err)) return cli_fail(&err);
    return 0;
}
