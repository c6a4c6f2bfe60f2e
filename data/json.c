/* JSON as Python's json module reads it, through jansson: out-of-range integers and NaN/Infinity are
 * rewritten before parsing (see json.h). */
#include "data/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* 1 when the n digits d[0..n) (no sign, no leading zeros in valid JSON) are outside int64
 * (-9223372036854775808 .. 9223372036854775807). */
static int int64_overflows(const char *d, size_t n, int negative) {
    if (n != 19) return n > 19;
    return memcmp(d, negative ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

/* 1 when the real literal s[0..n) is beyond a double's range (1e999, or 400 digits before the point),
 * which Python reads as inf and jansson refuses.  Only an exponent or more than 308 integer digits can make
 * it so: a cheap test first, strtod for the rest. */
static int real_overflows(const char *s, size_t n) {
    const char *e = memchr(s, 'e', n);
    if (!e) e = memchr(s, 'E', n);
    size_t int_digits = 0;
    for (size_t i = *s == '-'; i < n && is_digit(s[i]); i++) int_digits++;
    if (!e && int_digits <= 308) return 0;
    char small[64], *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) return 0; /* out of memory: leave it to jansson */
    memcpy(buf, s, n);
    buf[n] = '\0';
    int inf = isinf(strtod(buf, NULL));
    if (buf != small) free(buf);
    return inf;
}

/* Appends s[0..n) at out + *m when out is non-NULL; always advances *m (the measuring pass). */
static void put(char *out, size_t *m, const char *s, size_t n) {
    if (out) memcpy(out + *m, s, n);
    *m += n;
}

/* One pass over text: with out == NULL it only measures the rewritten length and counts rewrites. */
static size_t rewrite(const char *text, size_t len, char *out, size_t *n_rewrites) {
    static const struct { const char *word, *quoted; } specials[] = {
        {"-Infinity", "\"-Infinity\""}, {"Infinity", "\"Infinity\""}, {"NaN", "\"NaN\""}};
    size_t m = 0, i = 0, copied = 0; /* text[copied..i) is pending, unchanged */
    *n_rewrites = 0;
    while (i < len) {
        char c = text[i];
        if (c == '"') { /* a string: skip to its closing quote */
            for (i++; i < len && text[i] != '"'; i++)
                if (text[i] == '\\') i++;
            i++;
            continue;
        }
        int special = -1;
        for (int k = 0; k < 3 && special < 0; k++) {
            size_t wl = strlen(specials[k].word);
            if (len - i >= wl && !memcmp(text + i, specials[k].word, wl)) special = k;
        }
        if (special >= 0) {
            put(out, &m, text + copied, i - copied);
            put(out, &m, specials[special].quoted, strlen(specials[special].quoted));
            i += strlen(specials[special].word);
            copied = i;
            ++*n_rewrites;
            continue;
        }
        if (c != '-' && !is_digit(c)) {
            i++;
            continue;
        }
        size_t start = i, digits = i + (c == '-');
        for (i = digits; i < len && is_digit(text[i]); i++) {}
        size_t ndig = i - digits;
        if (i < len && (text[i] == '.' || text[i] == 'e' || text[i] == 'E')) {
            while (i < len && (is_digit(text[i]) || strchr(".eE+-", text[i]))) i++;
            if (!real_overflows(text + start, i - start)) continue; /* jansson reads it */
            put(out, &m, text + copied, start - copied);
            put(out, &m, c == '-' ? "\"-Infinity\"" : "\"Infinity\"", c == '-' ? 11 : 10);
            copied = i;
            ++*n_rewrites;
            continue;
        }
        if (ndig == 0 || !int64_overflows(text + digits, ndig, c == '-')) continue;
        put(out, &m, text + copied, start - copied);
        if (ndig > 308) { /* past a double's range (DBL_MAX ~ 1.8e308) */
            put(out, &m, c == '-' ? "-1e308" : "1e308", c == '-' ? 6 : 5);
        } else {
            put(out, &m, text + start, i - start);
            put(out, &m, ".0", 2);
        }
        copied = i;
        ++*n_rewrites;
    }
    if (i > len) i = len; /* an unterminated string ran past the end */
    put(out, &m, text + copied, len - copied);
    return m;
}

json_t *duo_json_loadb(const char *text, size_t len, size_t flags, json_error_t *jerr) {
    size_t n_rewrites;
    size_t m = rewrite(text, len, NULL, &n_rewrites);
    if (n_rewrites == 0) return json_loadb(text, len, flags, jerr);
    char *copy = malloc(m ? m : 1);
    if (!copy) {
        if (jerr) {
            memset(jerr, 0, sizeof *jerr);
            snprintf(jerr->text, sizeof jerr->text, "out of memory (%zu bytes)", m);
        }
        return NULL;
    }
    rewrite(text, len, copy, &n_rewrites);
    json_t *root = json_loadb(copy, m, flags, jerr);
    free(copy);
    return root;
}

json_t *duo_json_load_file(const char *path, size_t flags, duo_error *err) {
    size_t len;
    char *text = file_read_all(path, &len, err);
    if (!text) return NULL;
    json_error_t jerr;
    json_t *root = duo_json_loadb(text, len, flags, &jerr);
    free(text);
    if (!root) duo_fail(err, "%s: invalid JSON at line %d, column %d: %s", path, jerr.line, jerr.column, jerr.text);
    return root;
}
