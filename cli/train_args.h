/* `duo-train train` arguments: the reference trainer's names and the published runs' defaults
 * (duo_attn/utils.py parse_args, DESIGN §1), their checks, and what is derived from them: the run
 * directory name, config.json (every argument under the reference's key, plus its fixed ones) and the
 * run identity a --resume must match. */
#ifndef DUO_CLI_TRAIN_ARGS_H
#define DUO_CLI_TRAIN_ARGS_H

#include <jansson.h>
#include <stdio.h>

#include "kernels/backend.h"
#include "model/duo_step.h"
#include "synth/params.h"

typedef struct {
    const char *model;       /* --model (alias --model_name) */
    const char *dataset;     /* --dataset (alias --dataset_name): a `duo-train synth` .h5 file or a corpus */
    const char *output_dir;  /* --output_dir; default patterns_out/<model>/<exp_name> */
    double lr, reg_weight, initial_value;
    long sink_size, recent_size, num_steps, save_steps, seed, stop_after;
    /* data parameters: for a corpus, how samples are built; for a .h5 dataset read from its attributes
     * (a flag given on the command line must agree) */
    long context_length_min, context_length_max, context_lengths_num_intervals, depth_ratio_num_intervals;
    long num_passkeys, passkey_length, buffer_size;
    double min_needle_depth_ratio, max_needle_depth_ratio;
    unsigned given_data_flags; /* bit per data flag set on the command line (see train_args.c) */
    duo_attn_kind streaming;
    const char *backend;     /* --backend: cpu, cuda or auto */
    duo_precision precision; /* --dtype (DUO_PREC_DEFAULT: the backend's); cmd_train sets the one it runs at */
    int resume, use_cone;
    int overwrite;           /* --overwrite: replace an earlier run in output_dir (cli/output_guard.h) */
    synth_params templates;  /* --needle, --prompt1, ... (cli/sample_flags.h): a corpus's sample templates */
} duo_train_args;

void train_args_default(duo_train_args *a);
/* Parses argv (getopt_long; dashed option names, main() maps underscores).  Returns 0 to run, 2 after a
 * usage error was printed, 1 after --help was printed (exit 0). */
int train_args_parse(int argc, char **argv, duo_train_args *a);
void train_args_usage(FILE *f);
/* The sample builder's parameters from the data flags (corpus datasets). */
void train_args_synth_params(const duo_train_args *a, synth_params *p);

/* Takes the data parameters from the dataset file's root attributes; a flag the user gave that
 * differs from the file is an error naming both values. */
int train_args_from_dataset(duo_train_args *a, duo_error *err);

/* "<model_name>/<lr=...-reg=...-ctx=..._...-multi_passkey<N>>" (the reference's exp_name). */
char *train_args_exp_name(const duo_train_args *a, const char *model_name, char *out, size_t cap);

/* config.json: the reference's keys in the reference's order. */
json_t *train_args_config_json(const duo_train_args *a, const char *exp_name, const char *output_dir);

/* JSON text (malloc'd) of what a resumed run must share with the saved one. */
char *train_args_identity(const duo_train_args *a, const char *model_name, int num_layers, int num_kv_heads);

#endif
