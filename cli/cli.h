/* Shared pieces of the duo-train command line: subcommand entry points and option helpers.
 *
 * Conventions: GNU long options through getopt_long; `--foo_bar` and `--foo-bar` are the same option
 * (main() rewrites underscores to dashes in option names before a subcommand parses them), so option
 * tables list dashed names only.  Bad usage prints one message and returns 2; a failure while working
 * prints "duo-train: <message>" and returns 1. */
#ifndef DUO_CLI_CLI_H
#define DUO_CLI_CLI_H

#include "data/error.h"

int cmd_train(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

/* Rewrites "--name_with_underscores[=value]" to "--name-with-underscores[=value]" in place. */
void cli_normalize_long_options(int argc, char **argv);

/* Prints "duo-train <cmd>: <message>" and a hint to use --help on stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "duo-train: <err->msg>" on stderr; returns 1. */
int cli_fail(const duo_error *err);

/* Strict number parsing for option values: the whole string must be a number in range.
 * On failure they print a usage error naming the option and return 2; 0 on success. */
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max, long *out);

/* Comma-separated numbers ("0,0.5,1") into out[cap]; *n gets how many.  A usage error (2) names the option
 * when the text is not such a list or holds more than cap values; 0 on success. */
int cli_parse_list(const char *cmd, const char *opt, const char *s, double *out, int cap, int *n);

/* The longest context a sample builder will grow to, bounded before it starts: by the model's
 * max_position_embeddings (model may be NULL: not checked; a usage error, 2) and by the machine's memory
 * (a failure, 1); 0 when it fits. */
int cli_check_context_bound(const char *cmd, long long tokens, const char *option, const char *model);

/* --backend VALUE: cpu, cuda (or auto, the default).  A name this build lacks is a usage error (2):
 * "cuda" in a build without CUDA says so.  Sets *out to the name; 0 on success. */
int cli_parse_backend(const char *cmd, const char *value, const char **out);

/* The ranges every command checks its integer options against where they are parsed, so a value is
 * never cut to 32 bits later (a context length or window is stored as int32 downstream). */
#define CLI_MAX_TOKENS (1L << 30)        /* context lengths, buffers: more tokens than any model reads */
#define CLI_MAX_WINDOW 2147483647L       /* sink_size, recent_size (sink + recent >= n is full attention) */
#define CLI_MAX_INTERVALS (1L << 20)     /* context_lengths_num_intervals */
#define CLI_MAX_DEPTH_INTERVALS (1L << 24)
#define CLI_MAX_PASSKEY_LENGTH (1L << 16)
#define CLI_MAX_PASSKEYS 20L             /* the templates' ordinals: first..twentieth */
#define CLI_MAX_STEPS (1L << 40)

/* getopt_long's own complaints (an unknown option, a missing value), reported once as a usage error
 * naming the option; call with opterr = 0 and the `c` getopt returned ('?' or ':'). */
int cli_getopt_error(const char *cmd, int c, int optopt_value, const char *arg);

#endif
