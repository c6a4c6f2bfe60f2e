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

/* --backend VALUE: cpu, cuda (or auto, the default).  A name this build lacks is a usage error (2):
 * "cuda" in a build without CUDA says so.  Sets *out to the name; 0 on success. */
int cli_parse_backend(const char *cmd, const char *value, const char **out);

#endif
