#include "pattern/export.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "kernels/gate.h"
#include "pattern/pyfloat.h"

char *export_exp_name(char *out, size_t cap, double lr, double reg_weight, long ctx_min, long ctx_max,
                      long num_passkeys) {
    char a[40], b[40];
    snprintf(out, cap, "lr=%s-reg=%s-ctx=%ld_%ld-multi_passkey%ld", py_float_repr(lr, a, sizeof a),
             py_float_repr(reg_weight, b, sizeof b), ctx_min, ctx_max, num_passkeys);
    return out;
}

/* One value as Python's "%.18e" % v prints it (glibc agrees except on NaN's sign). */
static int format_e18(char *out, size_t cap, double v) {
    if (isnan(v)) return snprintf(out, cap, "nan");
    return snprintf(out, cap, "%.18e", v);
}

char *export_format_tsv(const float *values, int rows, int cols, size_t *len) {
    size_t cap = (size_t)rows * (size_t)cols * 32 + 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            if (c) buf[n++] = '\t';
            n += (size_t)format_e18(buf + n, cap - n, (double)values[(size_t)r * (size_t)cols + (size_t)c]);
        }
        buf[n++] = '\n';
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int export_write_tsv(const char *path, const float *values, int rows, int cols, duo_error *err) {
    size_t len;
    char *text = export_format_tsv(values, rows, cols, &len);
    if (!text) return duo_fail(err, "%s: out of memory", path);
    int rc = file_write_atomic(path, text, len, err);
    free(text);
    return rc;
}

int export_read_tsv(const char *path, double **values, int *rows, int *cols, duo_error *err) {
    *values = NULL;
    *rows = *cols = 0;
    size_t text_len = 0;
    char *text = file_read_all(path, &text_len, err);
    if (!text) return -1;
    const char *nul = memchr(text, '\0', text_len);
    if (nul) {  /* the rows after it would be dropped silently */
        long at_line = 1;
        size_t off = (size_t)(nul - text);
        for (const char *p = text; p < nul; p++) at_line += *p == '\n';
        free(text);
        return duo_fail(err, "%s: line %ld: a NUL byte at offset %zu (not a text file)", path, at_line, off);
    }
    size_t cap = 256, n = 0;
    double *v = malloc(cap * sizeof *v);
    if (!v) {
        free(text);
        return duo_fail(err, "%s: out of memory", path);
    }
    int nrows = 0, ncols = -1, line = 0;
    for (char *ln = text, *next; ln; ln = next) {
        char *nl = strchr(ln, '\n');
        if (nl) *nl = '\0';
        next = nl ? nl + 1 : NULL;
        line++;
        int k = 0;
        char *p = ln, *end;
        for (;;) {
            while (*p == '\t' || *p == ' ' || *p == '\r') p++;
            if (!*p) break;
            errno = 0;
            double x = strtod(p, &end);
            if (end == p) {
                duo_fail(err, "%s: line %d: not a number at \"%.20s\"", path, line, p);
                free(text);
                free(v);
                return -1;
            }
            if (!isfinite(x)) {
                duo_fail(err, "%s: line %d: \"%.*s\" is not a finite number", path, line, (int)(end - p), p);
                free(text);
                free(v);
                return -1;
            }
            if (n == cap) {
                double *grown = realloc(v, cap * 2 * sizeof *v);
                if (!grown) {
                    free(text);
                    free(v);
                    return duo_fail(err, "%s: out of memory", path);
                }
                v = grown;
                cap *= 2;
            }
            v[n++] = x;
            k++;
            p = end;
        }
        if (k == 0) continue; /* blank line */
        if (ncols >= 0 && k != ncols) {
            duo_fail(err, "%s: line %d has %d values, the first row has %d", path, line, k, ncols);
            free(text);
            free(v);
            return -1;
        }
        ncols = k;
        nrows++;
    }
    free(text);
    if (nrows == 0) {
        free(v);
        return duo_fail(err, "%s: no values", path);
    }
    *values = v;
    *rows = nrows;
    *cols = ncols;
    return 0;
}

/* The fewest significant digits that print every real in v so it reads back exactly (1..17). */
static int real_digits_needed(const json_t *v) {
    int need = 1;
    if (json_is_real(v)) {
        double x = json_real_value(v);
        char buf[40];
        for (need = 1; need < 17; need++) {
            snprintf(buf, sizeof buf, "%.*g", need, x);
            if (strtod(buf, NULL) == x) break;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) {
            int d = real_digits_needed(e);
            if (d > need) need = d;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            int d = real_digits_needed(e);
            if (d > need) need = d;
        }
    }
    return need;
}

int export_write_json(const char *path, const json_t *obj, duo_error *err) {
    /* Shortest round-trip precision, so 0.02 is written "0.02" as Python's json.dump does. */
    char *text = json_dumps(obj, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(real_digits_needed(obj)));
    if (!text) return duo_fail(err, "%s: cannot serialise JSON", path);
    int rc = file_write_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}


static double sparsity_of(const double *full, size_t n) {
    double kept = 0;
    for (size_t i = 0; i < n; i++) kept += full[i];
    return n ? 1.0 - kept / (double)n : 0.0;
}

typedef struct { double v; size_t i; } ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

double export_binarise_sparsity(const double *gates, size_t n, double sparsity, double *full) {
    size_t k; /* number of streaming heads */
    if (sparsity <= 0) k = 0;
    else if (sparsity >= 1) k = n;
    else {
        /* numpy's linear quantile sits at virtual index s*n - s (method "linear", alpha = beta = 1);
         * with distinct values, gates >= threshold keeps all but ceil(index) heads.  An index within
         * rounding of an integer i gives threshold == sorted[i] in numpy's lerp, so i heads. */
        double vi = (double)n * sparsity - sparsity, r = nearbyint(vi);
        k = fabs(vi - r) <= 1e-9 * fmax(1.0, vi) ? (size_t)r : (size_t)ceil(vi);
        if (k > n) k = n;
    }
    ranked *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return -1.0; /* out of memory: callers check for a negative sparsity */
    for (size_t i = 0; i < n; i++) order[i] = (ranked){gate_clamp(gates[i]), i};
    qsort(order, n, sizeof *order, cmp_ranked);
    for (size_t j = 0; j < n; j++) full[order[j].i] = j < k ? 0.0 : 1.0;
    free(order);
    return sparsity_of(full, n);
}

double export_binarise_threshold(const double *gates, size_t n, double threshold, double *full) {
    for (size_t i = 0; i < n; i++) full[i] = gate_clamp(gates[i]) >= threshold ? 1.0 : 0.0;
    return sparsity_of(full, n);
}

int export_binary_pattern(const char *pattern_dir, const char *out_dir, int by_sparsity, double value,
                          double *achieved, size_t *streaming, size_t *total, duo_error *err) {
    char path[4096];
    double *gates = NULL;
    int rows, cols;
    path_join(path, sizeof path, pattern_dir, "full_attention_heads.tsv");
    if (export_read_tsv(path, &gates, &rows, &cols, err)) return -1;
    path_join(path, sizeof path, pattern_dir, "config.json");
    json_error_t jerr;
    if (file_check_regular(path, err)) {
        free(gates);
        return -1;
    }
    json_t *cfg = json_load_file(path, 0, &jerr);
    if (!cfg || !json_is_object(cfg)) {
        free(gates);
        int parsed = cfg != NULL;  /* valid JSON but not an object: jansson has no line for that */
        json_decref(cfg);
        return parsed ? duo_fail(err, "%s: not a JSON object", path)
                      : duo_fail(err, "%s: line %d: %s", path, jerr.line, jerr.text);
    }
    if (!json_is_integer(json_object_get(cfg, "sink_size")) || !json_is_integer(json_object_get(cfg, "recent_size"))) {
        free(gates);
        json_decref(cfg);
        return duo_fail(err, "%s: needs integer \"sink_size\" and \"recent_size\" (DuoAttention loads them)", path);
    }
    size_t n = (size_t)rows * (size_t)cols;
    double *full = malloc(n * sizeof *full);
    float *ff = malloc(n * sizeof *ff);
    double s = -1;
    if (full && ff)
        s = by_sparsity ? export_binarise_sparsity(gates, n, value, full) : export_binarise_threshold(gates, n, value, full);
    if (s < 0) {
        free(gates);
        free(full);
        free(ff);
        json_decref(cfg);
        return duo_fail(err, "%s: out of memory binarising %zu gates", pattern_dir, n);
    }
    size_t nstream = 0;
    for (size_t i = 0; i < n; i++) {
        ff[i] = (float)full[i];
        nstream += full[i] == 0.0;
    }
    json_object_set_new(cfg, "sparsity", by_sparsity ? json_real(value) : json_null());
    json_object_set_new(cfg, "threshold", by_sparsity ? json_null() : json_real(value));
    int rc = make_dirs(out_dir, err);
    if (!rc) rc = export_write_tsv(path_join(path, sizeof path, out_dir, "full_attention_heads.tsv"), ff, rows, cols, err);
    if (!rc) rc = export_write_json(path_join(path, sizeof path, out_dir, "config.json"), cfg, err);
    free(gates);
    free(full);
    free(ff);
    json_decref(cfg);
    if (rc) return -1;
    if (achieved) *achieved = s;
    if (streaming) *streaming = nstream;
    if (total) *total = n;
    return 0;
}
