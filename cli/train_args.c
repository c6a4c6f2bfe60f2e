#include "cli/train_args.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5store.h"
#include "cli/cli.h"
#include "cli/dtype_args.h"
#include "cli/sample_flags.h"
#include "pattern/export.h"
#include "synth/params.h"
#include "util/format.h"

enum { /* given_data_flags bits */
    GIVEN_CTX_MIN = 1, GIVEN_CTX_MAX = 2, GIVEN_CTX_INTERVALS = 4, GIVEN_DEPTH_INTERVALS = 8,
    GIVEN_PASSKEYS = 16, GIVEN_PASSKEY_LEN = 32, GIVEN_MIN_DEPTH = 64, GIVEN_MAX_DEPTH = 128, GIVEN_BUFFER = 256,
};

void train_args_default(duo_train_args *a) {
    memset(a, 0, sizeof *a);
    a->lr = 0.02;
    a->reg_weight = 0.05;
    a->initial_value = 1.0;
    a->sink_size = 128;
    a->recent_size = 256;
    a->num_steps = 2000;
    a->save_steps = 50;
    a->seed = 42;
    a->context_length_min = 1000;
    a->context_length_max = 32000;
    a->context_lengths_num_intervals = 50;
    a->depth_ratio_num_intervals = 1000;
    a->num_passkeys = 10;
    a->passkey_length = 32;
    a->buffer_size = 300;
    a->min_needle_depth_ratio = 0.05;
    a->max_needle_depth_ratio = 0.95;
    a->streaming = ATTN_STREAM_BLOCKSPARSE;
    a->backend = "auto";
    a->precision = DUO_PREC_DEFAULT;
    a->use_cone = 1;
    synth_params_default(&a->templates);
}

void train_args_usage(FILE *f) {
    fprintf(f,
        "usage: duo-train train --model DIR --dataset FILE.h5|CORPUS [options]\n"
        "\n"
        "Trains one gate per KV head (DESIGN §1: distillation of the final hidden states against the unmodified\n"
        "model, plus reg_weight x mean|gate|; AdamW, the reference's warm-up/decay schedule, gates clamped to\n"
        "[0,1] before every step) and writes the pattern DuoAttention loads: full_attention_heads.tsv,\n"
        "_step=<k>.tsv and _latest.tsv every --save_steps, config.json, full_attention_heads.png (heat map)\n"
        "and train_state.h5 (gates, AdamW moments, step, sample stream, per-step logs, gate history).\n"
        "\n"
        "  --model DIR                 Hugging Face Llama/Mistral checkpoint (alias --model_name)\n"
        "  --dataset FILE              samples built by `duo-train synth` (.h5; alias --dataset_name): sample k\n"
        "                              of the file at step k (modulo its size); or a corpus (.jsonl, .jsonl.zst,\n"
        "                              a folder of .txt) to generate sample k at step k with the model's\n"
        "                              tokenizer and the data flags below (seeded by --seed)\n"
        "  --output_dir DIR            default patterns_out/<model>/lr=<lr>-reg=<reg>-ctx=<min>_<max>-multi_passkey<N>\n"
        "  --lr X                      peak learning rate (0.02)\n"
        "  --reg_weight X, --reg X     weight of the L1 term mean|gate| (0.05; small models need more, e.g. 1.0)\n"
        "  --sink_size N               attention-sink tokens of a streaming head (128)\n"
        "  --recent_size N             recent-window tokens of a streaming head (256).  sink + recent >= a\n"
        "                              sample's length is accepted, as the reference does: streaming attention\n"
        "                              then equals full attention and that sample teaches the gates nothing\n"
        "  --streaming_attn_implementation blocksparse|sdpa   (blocksparse, the published runs')\n"
        "  --initial_value X           initial gate value (1.0)\n"
        "  --num_steps N               optimiser steps, >= 5 (2000)\n"
        "  --save_steps N              checkpoint every N steps (50)\n"
        "  --seed N                    seed of samples generated from a corpus (42)\n"
        "  --resume                    continue from output_dir/train_state.h5 (bit-identical to an\n"
        "                              uninterrupted run); refused if the model or settings differ\n"
        "  --stop_after K              stop once K steps are done and save the state (resume later; Ctrl-C\n"
        "                              does the same at the end of the current step)\n"
        "  --overwrite                 replace an earlier run in output_dir (without it such a folder is refused)\n"
        "  --no_cone                   compute the student on every position (same results, slower)\n"
        "  --backend cpu|cuda          where the step runs (default: cuda when this build has it and a GPU\n"
        "                              answers, else cpu)\n"
        "  --dtype fp32|bf16           compute precision (default: bf16 on a GPU, as the reference trains; fp32 on\n"
        "                              the CPU, where bf16 stores the weights bf16 and computes in fp32).  Recorded in\n"
        "                              config.json; --resume continues only at the precision the run started with\n"
        "  data flags (--context_length_min 1000, --context_length_max 32000, --context_lengths_num_intervals 50,\n"
        "  --depth_ratio_num_intervals 1000, --num_passkeys 10, --passkey_length 32, --buffer_size 300, --min_needle_depth_ratio\n"
        "  0.05, --max_needle_depth_ratio 0.95) build the samples from a corpus; with a .h5 dataset they are\n"
        "  read from the file, and given here they must agree.\n"
        SAMPLE_TEMPLATE_HELP);
}

/* The data flags are checked as `synth` checks them, at parse time (a bad value is a usage error, 2).
 * A .h5 dataset brings its own values (a given flag must then agree with the file, checked on open). */
void train_args_synth_params(const duo_train_args *a, synth_params *p) {
    synth_params_default(p);
    p->context_length_min = (int32_t)a->context_length_min;
    p->context_length_max = (int32_t)a->context_length_max;
    p->context_lengths_num_intervals = (int32_t)a->context_lengths_num_intervals;
    p->depth_ratio_num_intervals = (int32_t)a->depth_ratio_num_intervals;
    p->num_passkeys = (int32_t)a->num_passkeys;
    p->passkey_length = (int32_t)a->passkey_length;
    p->buffer_size = (int32_t)a->buffer_size;
    p->min_depth_ratio = a->min_needle_depth_ratio;
    p->max_depth_ratio = a->max_needle_depth_ratio;
    p->seed = (uint64_t)a->seed;
    p->needle = a->templates.needle;
    p->retrieval_question = a->templates.retrieval_question;
    p->prompt1 = a->templates.prompt1;
    p->prompt2 = a->templates.prompt2;
    p->separator = a->templates.separator;
}

static int check_data_flags(const duo_train_args *a) {
    size_t n = strlen(a->dataset);
    if (n >= 3 && !strcmp(a->dataset + n - 3, ".h5")) {
        if (sample_templates_given(&a->templates))
            return cli_usage_error("train", "--needle, --retrieval_question, --prompt1, --prompt2 and --separator build "
                                            "samples from a corpus; %s holds samples built already", a->dataset);
        return 0;
    }
    synth_params p;
    train_args_synth_params(a, &p);
    duo_error err;
    if (synth_params_validate(&p, &err)) return cli_usage_error("train", "%s", err.msg);
    return 0;
}

int train_args_parse(int argc, char **argv, duo_train_args *a) {
    enum { O_LR = 256, O_REG, O_SINK, O_RECENT, O_STEPS, O_SAVE, O_SEED, O_STOP, O_INIT, O_IMPL, O_RESUME, O_NOCONE,
           O_CMIN, O_CMAX, O_CINT, O_DINT, O_NPK, O_PKLEN, O_MIND, O_MAXD, O_OUT, O_MODEL, O_DATA, O_BUF, O_BACKEND, O_OVERWRITE, O_DTYPE };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"model-name", required_argument, 0, O_MODEL},
        {"dataset", required_argument, 0, O_DATA}, {"dataset-name", required_argument, 0, O_DATA},
        {"output-dir", required_argument, 0, O_OUT}, {"lr", required_argument, 0, O_LR},
        {"reg-weight", required_argument, 0, O_REG}, {"reg", required_argument, 0, O_REG},
        {"sink-size", required_argument, 0, O_SINK}, {"recent-size", required_argument, 0, O_RECENT},
        {"num-steps", required_argument, 0, O_STEPS}, {"save-steps", required_argument, 0, O_SAVE},
        {"seed", required_argument, 0, O_SEED}, {"stop-after", required_argument, 0, O_STOP},
        {"initial-value", required_argument, 0, O_INIT},
        {"streaming-attn-implementation", required_argument, 0, O_IMPL}, {"resume", no_argument, 0, O_RESUME},
        {"no-cone", no_argument, 0, O_NOCONE}, {"context-length-min", required_argument, 0, O_CMIN},
        {"context-length-max", required_argument, 0, O_CMAX},
        {"context-lengths-num-intervals", required_argument, 0, O_CINT},
        {"depth-ratio-num-intervals", required_argument, 0, O_DINT}, {"num-passkeys", required_argument, 0, O_NPK},
        {"passkey-length", required_argument, 0, O_PKLEN}, {"buffer-size", required_argument, 0, O_BUF},
        {"min-needle-depth-ratio", required_argument, 0, O_MIND},
        {"max-needle-depth-ratio", required_argument, 0, O_MAXD}, {"backend", required_argument, 0, O_BACKEND},
        {"overwrite", no_argument, 0, O_OVERWRITE}, {"dtype", required_argument, 0, O_DTYPE}, SAMPLE_TEMPLATE_OPTIONS,
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const long BIG = CLI_MAX_STEPS, TOK = CLI_MAX_TOKENS, WIN = CLI_MAX_WINDOW;
    int c, idx;
    optind = 0; /* glibc: a full re-initialisation, so the parser can run more than once per process */
    opterr = 0; /* its complaints are reported once, by cli_getopt_error */
    while ((c = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
        const char *name = c >= 256 && c < SAMPLE_OPT_NEEDLE ? opts[idx].name : "";
        int bad = 0;
        switch (c) {
        case O_MODEL: a->model = optarg; break;
        case O_DATA: a->dataset = optarg; break;
        case O_OUT: a->output_dir = optarg; break;
        case O_LR: bad = cli_parse_double("train", name, optarg, &a->lr); break;
        case O_REG: bad = cli_parse_double("train", name, optarg, &a->reg_weight); break;
        case O_INIT: bad = cli_parse_double("train", name, optarg, &a->initial_value); break;
        case O_SINK: bad = cli_parse_long("train", name, optarg, 0, WIN, &a->sink_size); break;
        case O_RECENT: bad = cli_parse_long("train", name, optarg, 1, WIN, &a->recent_size); break;
        case O_STEPS: bad = cli_parse_long("train", name, optarg, 5, BIG, &a->num_steps); break;
        case O_SAVE: bad = cli_parse_long("train", name, optarg, 1, BIG, &a->save_steps); break;
        case O_SEED: bad = cli_parse_long("train", name, optarg, 0, LONG_MAX, &a->seed); break;
        case O_STOP: bad = cli_parse_long("train", name, optarg, 1, BIG, &a->stop_after); break;
        case O_RESUME: a->resume = 1; break;
        case O_NOCONE: a->use_cone = 0; break;
        case O_BACKEND: bad = cli_parse_backend("train", optarg, &a->backend); break;
        case O_OVERWRITE: a->overwrite = 1; break;
        case O_DTYPE: bad = cli_parse_dtype("train", optarg, &a->precision); break;
        case O_IMPL:
            if (!strcmp(optarg, "blocksparse")) a->streaming = ATTN_STREAM_BLOCKSPARSE;
            else if (!strcmp(optarg, "sdpa")) a->streaming = ATTN_STREAM_SDPA;
            else return cli_usage_error("train", "--streaming_attn_implementation must be blocksparse or sdpa, got '%s'", optarg);
            break;
        case O_CMIN: bad = cli_parse_long("train", name, optarg, 1, TOK, &a->context_length_min); a->given_data_flags |= GIVEN_CTX_MIN; break;
        case O_CMAX: bad = cli_parse_long("train", name, optarg, 1, TOK, &a->context_length_max); a->given_data_flags |= GIVEN_CTX_MAX; break;
        case O_CINT: bad = cli_parse_long("train", name, optarg, 1, CLI_MAX_INTERVALS, &a->context_lengths_num_intervals); a->given_data_flags |= GIVEN_CTX_INTERVALS; break;
        case O_DINT: bad = cli_parse_long("train", name, optarg, 1, CLI_MAX_DEPTH_INTERVALS, &a->depth_ratio_num_intervals); a->given_data_flags |= GIVEN_DEPTH_INTERVALS; break;
        case O_NPK: bad = cli_parse_long("train", name, optarg, 1, CLI_MAX_PASSKEYS, &a->num_passkeys); a->given_data_flags |= GIVEN_PASSKEYS; break;
        case O_PKLEN: bad = cli_parse_long("train", name, optarg, 1, CLI_MAX_PASSKEY_LENGTH, &a->passkey_length); a->given_data_flags |= GIVEN_PASSKEY_LEN; break;
        case O_BUF: bad = cli_parse_long("train", name, optarg, 0, TOK, &a->buffer_size); a->given_data_flags |= GIVEN_BUFFER; break;
        case O_MIND: bad = cli_parse_double("train", name, optarg, &a->min_needle_depth_ratio); a->given_data_flags |= GIVEN_MIN_DEPTH; break;
        case O_MAXD: bad = cli_parse_double("train", name, optarg, &a->max_needle_depth_ratio); a->given_data_flags |= GIVEN_MAX_DEPTH; break;
        case 'h': train_args_usage(stdout); return 1;
        default:
            if (sample_template_flag(c, optarg, &a->templates)) break;
            return cli_getopt_error("train", c, optopt, argv[optind - 1]);
        }
        if (bad) return 2;
    }
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (cli_check_dtype_backend("train", a->precision, a->backend)) return 2;
    if (!a->model) return cli_usage_error("train", "--model DIR is required");
    if (!a->dataset) return cli_usage_error("train", "--dataset is required (a `duo-train synth` .h5 file, or a corpus)");
    if (!(a->lr > 0)) return cli_usage_error("train", "--lr must be positive, got %s", format_double(a->lr, (char[40]){0}, 40));
    if (a->reg_weight < 0) return cli_usage_error("train", "--reg_weight must not be negative, got %s", format_double(a->reg_weight, (char[40]){0}, 40));
    if (a->stop_after && a->stop_after > a->num_steps)
        return cli_usage_error("train", "--stop_after %ld is beyond --num_steps %ld", a->stop_after, a->num_steps);
    return check_data_flags(a);
}

/* One data parameter: the file's value wins unless the user gave a different one. */
static int data_i64(duo_h5 *h, const char *attr, long *v, int given, duo_error *err) {
    int64_t x;
    if (h5store_get_attr_i64(h, "/", attr, &x, err)) return -1;
    if (given && *v != (long)x)
        return duo_fail(err, "--%s %ld differs from the dataset's %s = %lld", attr, *v, attr, (long long)x);
    *v = (long)x;
    return 0;
}

static int data_f64(duo_h5 *h, const char *attr, double *v, int given, duo_error *err) {
    double x;
    if (h5store_get_attr_f64(h, "/", attr, &x, err)) return -1;
    if (given && *v != x) return duo_fail(err, "--%s %s differs from the dataset's %s = %s", attr, format_double(*v, (char[40]){0}, 40), attr,
                                                format_double(x, (char[40]){0}, 40));
    *v = x;
    return 0;
}

int train_args_from_dataset(duo_train_args *a, duo_error *err) {
    duo_h5 *h = h5store_open(a->dataset, 0, err);
    if (!h) return -1;
    unsigned g = a->given_data_flags;
    int rc = data_i64(h, "context_length_min", &a->context_length_min, g & GIVEN_CTX_MIN, err) ||
             data_i64(h, "context_length_max", &a->context_length_max, g & GIVEN_CTX_MAX, err) ||
             data_i64(h, "context_lengths_num_intervals", &a->context_lengths_num_intervals, g & GIVEN_CTX_INTERVALS, err) ||
             data_i64(h, "depth_ratio_num_intervals", &a->depth_ratio_num_intervals, g & GIVEN_DEPTH_INTERVALS, err) ||
             data_i64(h, "num_passkeys", &a->num_passkeys, g & GIVEN_PASSKEYS, err) ||
             data_i64(h, "passkey_length", &a->passkey_length, g & GIVEN_PASSKEY_LEN, err) ||
             data_i64(h, "buffer_size", &a->buffer_size, g & GIVEN_BUFFER, err) ||
             data_f64(h, "min_needle_depth_ratio", &a->min_needle_depth_ratio, g & GIVEN_MIN_DEPTH, err) ||
             data_f64(h, "max_needle_depth_ratio", &a->max_needle_depth_ratio, g & GIVEN_MAX_DEPTH, err);
    h5store_close(h);
    if (rc) duo_error_prefix(err, "dataset %s", a->dataset);
    return rc ? -1 : 0;
}

char *train_args_exp_name(const duo_train_args *a, const char *model_name, char *out, size_t cap) {
    char run[256];
    export_exp_name(run, sizeof run, a->lr, a->reg_weight, a->context_length_min, a->context_length_max, a->num_passkeys);
    snprintf(out, cap, "%s/%s", model_name, run);
    return out;
}

json_t *train_args_config_json(const duo_train_args *a, const char *exp_name, const char *output_dir) {
    json_t *o = json_object();
#define S(k, v) json_object_set_new(o, k, json_string(v))
#define I(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
#define R(k, v) json_object_set_new(o, k, json_real(v))
#define B(k, v) json_object_set_new(o, k, json_boolean(v))
#define N(k) json_object_set_new(o, k, json_null())
    S("model_name", a->model);
    N("config_name");
    S("dataset_name", a->dataset);
    S("dataset_format", "multiple_passkey");
    S("split", "train");
    R("lr", a->lr);
    I("num_steps", a->num_steps);
    I("batch_size", 1);
    I("max_length", a->context_length_max);
    I("context_length_min", a->context_length_min);
    I("context_length_max", a->context_length_max);
    I("context_lengths_num_intervals", a->context_lengths_num_intervals);
    I("depth_ratio_num_intervals", a->depth_ratio_num_intervals);
    I("num_passkeys", a->num_passkeys);
    S("output_dir", output_dir);
    I("sink_size", a->sink_size);
    I("recent_size", a->recent_size);
    N("deploy_sink_size");
    N("deploy_recent_size");
    R("reg_weight", a->reg_weight);
    R("initial_value", a->initial_value);
    S("exp_name", exp_name);
    B("enable_pp", 0);
    B("enable_tp", 0);
    B("disable_wandb", 1);
    R("min_needle_depth_ratio", a->min_needle_depth_ratio);
    R("max_needle_depth_ratio", a->max_needle_depth_ratio);
    I("save_steps", a->save_steps);
    I("gradient_accumulation_steps", 1);
    B("resume", a->resume);
    N("rope_theta");
    S("device", "cpu");
    S("dtype", a->precision == DUO_PREC_BF16 ? "bf16" : "fp32");
    S("streaming_attn_implementation", attn_kind_name(a->streaming));
    S("supervision", "distill");
    N("n_samples");
    S("task", "default");
    N("attn_load_dir");
    R("threshold", 0.5);
    N("sparsity");
    I("passkey_length", a->passkey_length);
    I("context_length", 16384);
    I("generation_length", 256);
    I("stride_length", 256);
    I("prefilling_chunk_size", 4096);
    I("seed", a->seed);
#undef S
#undef I
#undef R
#undef B
#undef N
    return o;
}

char *train_args_identity(const duo_train_args *a, const char *model_name, int num_layers, int num_kv_heads) {
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(model_name));
    json_object_set_new(o, "num_layers", json_integer(num_layers));
    json_object_set_new(o, "num_kv_heads", json_integer(num_kv_heads));
    json_object_set_new(o, "dataset", json_string(a->dataset));
    json_object_set_new(o, "lr", json_real(a->lr));
    json_object_set_new(o, "reg_weight", json_real(a->reg_weight));
    json_object_set_new(o, "initial_value", json_real(a->initial_value));
    json_object_set_new(o, "sink_size", json_integer(a->sink_size));
    json_object_set_new(o, "recent_size", json_integer(a->recent_size));
    json_object_set_new(o, "num_steps", json_integer(a->num_steps));
    json_object_set_new(o, "seed", json_integer(a->seed));
    json_object_set_new(o, "streaming_attn_implementation", json_string(attn_kind_name(a->streaming)));
    /* the precision changes the results, so a run resumes only at its own; absent means fp32, the only
     * precision before --dtype, so those runs' states still resume */
    if (a->precision == DUO_PREC_BF16) json_object_set_new(o, "dtype", json_string("bf16"));
    /* the data: for a corpus these flags define the samples; for a .h5 file they come from it */
    json_object_set_new(o, "context_length_min", json_integer(a->context_length_min));
    json_object_set_new(o, "context_length_max", json_integer(a->context_length_max));
    json_object_set_new(o, "context_lengths_num_intervals", json_integer(a->context_lengths_num_intervals));
    json_object_set_new(o, "depth_ratio_num_intervals", json_integer(a->depth_ratio_num_intervals));
    json_object_set_new(o, "num_passkeys", json_integer(a->num_passkeys));
    json_object_set_new(o, "passkey_length", json_integer(a->passkey_length));
    json_object_set_new(o, "buffer_size", json_integer(a->buffer_size));
    json_object_set_new(o, "min_needle_depth_ratio", json_real(a->min_needle_depth_ratio));
    json_object_set_new(o, "max_needle_depth_ratio", json_real(a->max_needle_depth_ratio));
    if (sample_templates_given(&a->templates)) { /* only when given: earlier runs' identities stay valid */
        json_object_set_new(o, "needle", json_string(a->templates.needle));
        json_object_set_new(o, "retrieval_question", json_string(a->templates.retrieval_question));
        json_object_set_new(o, "prompt1", json_string(a->templates.prompt1));
        json_object_set_new(o, "prompt2", json_string(a->templates.prompt2));
        json_object_set_new(o, "separator", json_string(a->templates.separator));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}
