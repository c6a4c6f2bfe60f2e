#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kernels/backend.h"
#include "synth/context_bound.h"
#include "util/format.h"

void cli_normalize_long_options(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strncmp(argv[i], "--", 2) != 0) continue;
        for (char *p = argv[i] + 2; *p && *p != '='; p++)
            if (*p == '_') *p = '-';
    }
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "duo-train%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'duo-train%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
    return 2;
}

int cli_fail(const duo_error *err) {
    fprintf(stderr, "duo-train: %s\n", err->msg);
    return 1;
}

/* Option names as the user reads them in --help and the reference: underscores. */
static const char *shown(const char *opt, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", opt);
    for (char *p = buf; *p; p++)
        if (*p == '-') *p = '_';
    return buf;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out) {
    char nb[64];
    opt = shown(opt, nb, sizeof nb);
    char *end, shown_v[256];
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && !*end && !isfinite(v)) /* "inf", "nan", 1e999 */
        return cli_usage_error(cmd, "--%s must be a finite number, got %s (non-finite)", opt,
                               format_shown_text(s, shown_v, sizeof shown_v));
    if (end == s || *end || errno)
        return cli_usage_error(cmd, "--%s expects a number, got '%s'", opt, format_shown_text(s, shown_v, sizeof shown_v));
    *out = v;
    return 0;
}

int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max, long *out) {
    char nb[64];
    opt = shown(opt, nb, sizeof nb);
    char *end, shown_v[256];
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end != s && !*end && errno == ERANGE)
        return cli_usage_error(cmd, "--%s must be between %ld and %ld, got %s", opt, min, max, s);
    if (end == s || *end || errno)
        return cli_usage_error(cmd, "--%s expects an integer, got '%s'", opt, format_shown_text(s, shown_v, sizeof shown_v));
    if (v < min || v > max)
        return cli_usage_error(cmd, "--%s must be between %ld and %ld, got %ld", opt, min, max, v);
    *out = v;
    return 0;
}

int cli_parse_backend(const char *cmd, const char *value, const char **out) {
    /* cpu-composite[-f64|-bf16]: debugging aids (the composite op table on the CPU), not advertised */
    int debug_backend = !strncmp(value, "cpu-composite", 13) && backend_built(value);
    if (strcmp(value, "cpu") && strcmp(value, "cuda") && strcmp(value, "auto") && !debug_backend)
        return cli_usage_error(cmd, "--backend must be cpu or cuda, got '%s'", value);
    if (!backend_built(value))
        return cli_usage_error(cmd, "--backend %s: this duo-train was built without CUDA (nvcc was not on PATH at "
                                    "build time); use --backend cpu", value);
    *out = value;
    return 0;
}

int cli_getopt_error(const char *cmd, int c, int optopt_value, const char *arg) {
    (void)optopt_value;
    if (c == ':') return cli_usage_error(cmd, "option '%s' needs a value", arg ? arg : "?");
    if (arg && !strncmp(arg, "--", 2) && strchr(arg, '='))
        return cli_usage_error(cmd, "option '%.*s' takes no value", (int)(strchr(arg, '=') - arg), arg);
    return cli_usage_error(cmd, "unknown option '%s'", arg ? arg : "?");
}

int cli_parse_list(const char *cmd, const char *opt, const char *s, double *out, int cap, int *n) {
    char nb[64], shown_v[512];
    opt = shown(opt, nb, sizeof nb);
    *n = 0;
    for (const char *p = s; *p;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end != p && (!*end || *end == ',') && !isfinite(v)) {
            char item[64];
            snprintf(item, sizeof item, "%.*s", (int)(end - p), p);
            return cli_usage_error(cmd, "--%s: %s is non-finite", opt, format_shown_text(item, shown_v, sizeof shown_v));
        }
        if (end == p || (*end && *end != ',') || errno)
            return cli_usage_error(cmd, "--%s expects numbers separated by commas, got '%s'", opt,
                                   format_shown_text(s, shown_v, sizeof shown_v));
        if (*n == cap) return cli_usage_error(cmd, "--%s takes at most %d values", opt, cap);
        out[(*n)++] = v;
        p = *end ? end + 1 : end;
    }
    return *n ? 0 : cli_usage_error(cmd, "--%s needs at least one value", opt);
}

int cli_check_context_bound(const char *cmd, long long tokens, const char *option, const char *model) {
    duo_error err = {{0}};
    if (model && synth_check_context_positions(tokens, option, model, &err)) return cli_usage_error(cmd, "%s", err.msg);
    if (synth_check_context_memory(tokens, option, &err)) return cli_fail(&err);
    return 0;
}
