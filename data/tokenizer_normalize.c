/* Normalizers of tokenizer.json: Sequence, Prepend, Replace (the Llama-2 / Mistral "legacy"
 * conversion's Sequence[Prepend("▁"), Replace(" ", "▁")]), and the Unicode normal forms NFC (Qwen2,
 * Qwen3), NFD, NFKC and NFKD through utf8proc.
 *
 * utf8proc (2.8 in Debian 12: Unicode 15.0) and the unicode-normalization crate behind `tokenizers`
 * implement the same algorithm (UAX #15); normalization is stable for every character assigned in both
 * Unicode versions, so they can differ only on characters one of them does not know yet (a newer
 * character's decomposition or composition exclusion). */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "data/tokenizer_impl.h"

/* Reads {"String": s} or {"Regex": r} into a compiled regex (literal for String). */
int tok_load_pattern(json_t *pat, tok_regex *re, const char *what, duo_error *err) {
    json_t *s = json_is_object(pat) ? json_object_get(pat, "String") : NULL;
    json_t *r = json_is_object(pat) ? json_object_get(pat, "Regex") : NULL;
    if (json_is_string(s)) return tok_regex_compile(re, json_string_value(s), json_string_length(s), 1, err);
    if (json_is_string(r)) {
        if (tok_regex_compile(re, json_string_value(r), json_string_length(r), 0, err)) {
            duo_error_prefix(err, "%s", what);
            return -1;
        }
        return 0;
    }
    return duo_fail(err, "%s: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", what);
}

static char *dup_json_string(json_t *s, size_t *len) {
    *len = json_string_length(s);
    char *p = malloc(*len + 1);
    if (p) memcpy(p, json_string_value(s), *len + 1);
    return p;
}

static int load_one(duo_tokenizer *tok, json_t *j, int depth, duo_error *err) {
    if (!json_is_object(j)) return duo_fail(err, "normalizer: expected an object");
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) return duo_fail(err, "normalizer: missing \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(j, "normalizers");
        if (!json_is_array(list)) return duo_fail(err, "normalizer Sequence: \"normalizers\" must be an array");
        if (depth > 8) return duo_fail(err, "normalizer Sequence nested too deeply");
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) if (load_one(tok, item, depth + 1, err)) return -1;
        return 0;
    }
    tok_normalizer n = {0};
    if (!strcmp(type, "Prepend")) {
        json_t *p = json_object_get(j, "prepend");
        if (!json_is_string(p)) return duo_fail(err, "normalizer Prepend: \"prepend\" must be a string");
        n.type = NORM_PREPEND;
        if (!(n.text = dup_json_string(p, &n.text_len))) return duo_fail(err, "normalizer Prepend: out of memory");
    } else if (!strcmp(type, "Replace")) {
        json_t *c = json_object_get(j, "content");
        if (!json_is_string(c)) return duo_fail(err, "normalizer Replace: \"content\" must be a string");
        if (tok_load_pattern(json_object_get(j, "pattern"), &n.re, "normalizer Replace", err)) return -1;
        n.type = NORM_REPLACE;
        if (!(n.text = dup_json_string(c, &n.text_len))) {
            tok_regex_free(&n.re);
            return duo_fail(err, "normalizer Replace: out of memory");
        }
    } else if (!strcmp(type, "NFC")) {
        n.type = NORM_NFC;
    } else if (!strcmp(type, "NFD")) {
        n.type = NORM_NFD;
    } else if (!strcmp(type, "NFKC")) {
        n.type = NORM_NFKC;
    } else if (!strcmp(type, "NFKD")) {
        n.type = NORM_NFKD;
    } else {
        return duo_fail(err, "unsupported normalizer type \"%s\" (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, "
                             "NFKD)", type);
    }
    tok_normalizer *grown = realloc(tok->norms, (tok->n_norms + 1) * sizeof *tok->norms);
    if (!grown) {
        free(n.text);
        tok_regex_free(&n.re);
        return duo_fail(err, "normalizer %s: out of memory", type);
    }
    tok->norms = grown;
    tok->norms[tok->n_norms++] = n;
    return 0;
}

int tok_load_normalizer(duo_tokenizer *tok, json_t *j, duo_error *err) {
    if (!j || json_is_null(j)) return 0;
    return load_one(tok, j, 0, err);
}

/* *buf with room for n bytes, or NULL (the old buffer kept) when out of memory. */
static char *reserve(char **buf, size_t *cap, size_t n) {
    if (n > *cap) {
        size_t want = n < 256 ? 256 : n * 2;
        char *p = realloc(*buf, want);
        if (!p) return NULL;
        *buf = p;
        *cap = want;
    }
    return *buf;
}

static const char *form_name(int type) {
    return type == NORM_NFC ? "NFC" : type == NORM_NFD ? "NFD" : type == NORM_NFKC ? "NFKC" : "NFKD";
}

/* A Unicode normal form of s[0..len) into *dst; ASCII text is its own normal form in all four.
 * Returns the length, or -1 with err set; *same = 1 when the text is unchanged (nothing written). */
static long long unicode_form(int type, const char *s, size_t len, char **dst, size_t *cap, int *same,
                              duo_error *err) {
    size_t i = 0;
    while (i < len && !((unsigned char)s[i] & 0x80)) i++;
    *same = i == len;
    if (*same) return (long long)len;
    utf8proc_option_t opt = UTF8PROC_STABLE;
    if (type == NORM_NFC || type == NORM_NFKC) opt |= UTF8PROC_COMPOSE;
    else opt |= UTF8PROC_DECOMPOSE;
    if (type == NORM_NFKC || type == NORM_NFKD) opt |= UTF8PROC_COMPAT;
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &mapped, opt);
    if (m < 0) return duo_fail(err, "normalizer %s: %s", form_name(type), utf8proc_errmsg(m));
    char *d = reserve(dst, cap, (size_t)m + 1);
    if (!d) {
        free(mapped);
        return duo_fail(err, "normalizer %s: out of memory for %lld bytes", form_name(type), (long long)m);
    }
    memcpy(d, mapped, (size_t)m);
    free(mapped);
    return (long long)m;
}

/* A normalized text may grow (Replace(" ", "▁") triples a space, NFKD expands a ligature up to ~11x), but a
 * chain of Replace steps can multiply it without bound: past this many bytes per input byte it is refused,
 * before the bytes are allocated, not after minutes of copying. */
#define TOK_NORMALIZE_MAX_GROWTH 64

static int too_long(const char *step, size_t k, size_t would, size_t input, size_t cap, duo_error *err) {
    return duo_fail(err, "normalizer %zu (%s) would make %zu bytes of a %zu-byte text, past the cap of %zu "
                         "(%d bytes per input byte + 4096): the tokenizer's normalizers multiply their input",
                    k, step, would, input, cap, TOK_NORMALIZE_MAX_GROWTH);
}

int tok_normalize(const duo_tokenizer *tok, tok_work *w, const char *s, size_t len, const char **out,
                  size_t *out_len, duo_error *err) {
    int which = 0;  /* the scratch buffer that does not hold s */
    const size_t input = len, cap_len = len * TOK_NORMALIZE_MAX_GROWTH + 4096;
    for (size_t k = 0; k < tok->n_norms; k++) {
        const tok_normalizer *n = &tok->norms[k];
        char **dst = which ? &w->tmp2 : &w->tmp;
        size_t *cap = which ? &w->tmp2_cap : &w->tmp_cap;
        size_t m = 0;
        if (n->type >= NORM_NFC) {
            int same;
            long long r = unicode_form(n->type, s, len, dst, cap, &same, err);
            if (r < 0) return -1;
            if (same) continue;
            m = (size_t)r;
            if (m > cap_len) return too_long(form_name(n->type), k, m, input, cap_len, err);
        } else if (n->type == NORM_PREPEND) {
            if (len == 0) continue;  /* Prepend leaves an empty string empty */
            if (len + n->text_len > cap_len) return too_long("Prepend", k, len + n->text_len, input, cap_len, err);
            char *d = reserve(dst, cap, len + n->text_len);
            if (!d) return duo_fail(err, "normalizer Prepend: out of memory");
            memcpy(d, n->text, n->text_len);
            memcpy(d + n->text_len, s, len);
            m = len + n->text_len;
        } else {
            if (tok_regex_find_all(&n->re, w->md, s, len, &w->spans, err)) return -1;
            if (w->spans.n == 0) continue;
            size_t total = len + w->spans.n * n->text_len, matched = 0;
            for (size_t i = 0; i < w->spans.n; i++) matched += w->spans.v[i].end - w->spans.v[i].start;
            if (total - matched > cap_len) return too_long("Replace", k, total - matched, input, cap_len, err);
            char *d = reserve(dst, cap, total + 1);
            if (!d) return duo_fail(err, "normalizer Replace: out of memory");
            size_t prev = 0;
            for (size_t i = 0; i < w->spans.n; i++) {
                tok_span sp = w->spans.v[i];
                memcpy(d + m, s + prev, sp.start - prev);
                m += sp.start - prev;
                memcpy(d + m, n->text, n->text_len);
                m += n->text_len;
                prev = sp.end;
            }
            memcpy(d + m, s + prev, len - prev);
            m += len - prev;
        }
        s = *dst;
        len = m;
        which ^= 1;
    }
    *out = s;
    *out_len = len;
    return 0;
}
