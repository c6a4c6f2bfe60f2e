/* Decoders of tokenizer.json (Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip)
 * and tokenizer_decode(): ids -> token strings -> the decoder chain -> one string, as HF decode. */
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer_impl.h"
#include "data/tokenizer_utf8.h"

static int one_char(json_t *s, uint32_t *cp) {
    const char *p = json_string_value(s);
    if (!p || !json_string_length(s) || utf8_valid_prefix(p, json_string_length(s)) != json_string_length(s))
        return -1;
    size_t n;
    *cp = tok_utf8_decode(p, &n);
    return n == json_string_length(s) ? 0 : -1;
}

static int load_one(duo_tokenizer *tok, json_t *j, int depth, duo_error *err) {
    if (!json_is_object(j)) return duo_fail(err, "decoder: expected an object");
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) return duo_fail(err, "decoder: missing \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(j, "decoders");
        if (!json_is_array(list)) return duo_fail(err, "decoder Sequence: \"decoders\" must be an array");
        if (depth > 8) return duo_fail(err, "decoder Sequence nested too deeply");
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) if (load_one(tok, item, depth + 1, err)) return -1;
        return 0;
    }
    tok_decoder d = {0};
    if (!strcmp(type, "ByteLevel")) {
        d.type = DEC_BYTE_LEVEL;
    } else if (!strcmp(type, "ByteFallback")) {
        d.type = DEC_BYTE_FALLBACK;
    } else if (!strcmp(type, "Fuse")) {
        d.type = DEC_FUSE;
    } else if (!strcmp(type, "Strip")) {
        d.type = DEC_STRIP;
        json_t *a = json_object_get(j, "start"), *b = json_object_get(j, "stop");
        if (one_char(json_object_get(j, "content"), &d.strip_cp) || !json_is_integer(a) || !json_is_integer(b) ||
            json_integer_value(a) < 0 || json_integer_value(b) < 0 || json_integer_value(a) > 1 << 20 ||
            json_integer_value(b) > 1 << 20)
            return duo_fail(err, "decoder Strip: needs \"content\" (one character), \"start\" and \"stop\" (counts)");
        d.strip_start = (int)json_integer_value(a);
        d.strip_stop = (int)json_integer_value(b);
    } else if (!strcmp(type, "Replace")) {
        d.type = DEC_REPLACE;
        json_t *pat = json_object_get(j, "pattern"), *c = json_object_get(j, "content");
        json_t *ps = json_is_object(pat) ? json_object_get(pat, "String") : NULL;
        if (!json_is_string(ps) || !json_string_length(ps) || !json_is_string(c))
            return duo_fail(err, "decoder Replace: needs \"pattern\": {\"String\": ...} and \"content\"");
        d.pattern_len = json_string_length(ps);
        d.content_len = json_string_length(c);
        d.pattern = malloc(d.pattern_len + 1);
        d.content = malloc(d.content_len + 1);
        if (!d.pattern || !d.content) {
            free(d.pattern);
            free(d.content);
            return duo_fail(err, "decoder Replace: out of memory");
        }
        memcpy(d.pattern, json_string_value(ps), d.pattern_len + 1);
        memcpy(d.content, json_string_value(c), d.content_len + 1);
    } else if (!strcmp(type, "Metaspace")) {
        d.type = DEC_METASPACE;
        if (one_char(json_object_get(j, "replacement"), &d.repl_cp))
            return duo_fail(err, "decoder Metaspace: \"replacement\" must be one character");
        const char *scheme = json_string_value(json_object_get(j, "prepend_scheme"));
        json_t *aps = json_object_get(j, "add_prefix_space");
        if (scheme) d.prepend_scheme = !strcmp(scheme, "never") ? PREPEND_NEVER : !strcmp(scheme, "first") ? PREPEND_FIRST : PREPEND_ALWAYS;
        else d.prepend_scheme = (aps && json_is_false(aps)) ? PREPEND_NEVER : PREPEND_ALWAYS;
    } else {
        return duo_fail(err, "unsupported decoder type \"%s\" (supported: Sequence, ByteLevel, Metaspace, Replace, "
                             "ByteFallback, Fuse, Strip)", type);
    }
    tok_decoder *grown = realloc(tok->decoders, (tok->n_decoders + 1) * sizeof *tok->decoders);
    if (!grown) {
        free(d.pattern);
        free(d.content);
        return duo_fail(err, "decoder %s: out of memory", type);
    }
    tok->decoders = grown;
    tok->decoders[tok->n_decoders++] = d;
    return 0;
}

int tok_load_decoder(duo_tokenizer *tok, json_t *j, duo_error *err) {
    if (!j || json_is_null(j)) return 0;
    tok->has_decoder = 1;
    return load_one(tok, j, 0, err);
}

/* ---- a list of owned strings ---- */

typedef struct {
    char *p;
    size_t n;
} str;

/* Out of memory anywhere sets oom (the string is dropped) and decode returns NULL at the end. */
typedef struct {
    str *v;
    size_t n, cap;
    int oom;
} strs;

/* Takes ownership of p (NULL: an allocation failed before). */
static void strs_push(strs *l, char *p, size_t n) {
    if (!p) {
        l->oom = 1;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        str *v = realloc(l->v, cap * sizeof *l->v);
        if (!v) {
            free(p);
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (str){p, n};
}

static void strs_push_copy(strs *l, const char *p, size_t n) {
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, p, n);
        c[n] = '\0';
    }
    strs_push(l, c, n);
}

static void strs_free(strs *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Everything in one string (Fuse). */
static str join(const strs *l) {
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++) total += l->v[i].n;
    char *p = malloc(total + 1), *o = p;
    if (!p) return (str){NULL, 0};
    for (size_t i = 0; i < l->n; i++) {
        memcpy(o, l->v[i].p, l->v[i].n);
        o += l->v[i].n;
    }
    *o = '\0';
    return (str){p, total};
}

/* "<0xXX>" -> the byte, as Rust's u8::from_str_radix on the two characters (which allows "+F"). */
static int byte_token(const str *t) {
    if (t->n != 6 || memcmp(t->p, "<0x", 3) || t->p[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = t->p[i];
        if (i == 3 && c == '+') continue;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static void apply(const tok_decoder *d, strs *in, strs *out) {
    switch (d->type) {
    case DEC_FUSE: {
        str s = join(in);
        strs_push(out, s.p, s.n);
        return;
    }
    case DEC_BYTE_LEVEL: {
        /* every character back to its byte; a token with a character outside the table keeps its bytes */
        size_t total = 0;
        for (size_t i = 0; i < in->n; i++) total += in->v[i].n;
        char *bytes = malloc(total + 1);
        if (!bytes) {
            out->oom = 1;
            return;
        }
        size_t m = 0;
        for (size_t i = 0; i < in->n; i++) {
            const str *t = &in->v[i];
            size_t start = m, k = 0;
            int ok = 1;
            while (k < t->n) {
                size_t cl;
                int b = tok_cp_to_byte(tok_utf8_decode(t->p + k, &cl));
                if (b < 0) { ok = 0; break; }
                bytes[m++] = (char)b;
                k += cl;
            }
            if (!ok) {
                memcpy(bytes + start, t->p, t->n);
                m = start + t->n;
            }
        }
        size_t n;
        char *s = tok_utf8_lossy(bytes, m, &n);
        free(bytes);
        strs_push(out, s, n);
        return;
    }
    case DEC_BYTE_FALLBACK: {
        char *big = NULL;  /* the run of byte tokens being collected */
        size_t big_n = 0, big_cap = 0;
        for (size_t i = 0; i <= in->n; i++) {
            int b = i < in->n ? byte_token(&in->v[i]) : -1;
            if (b >= 0) {
                if (big_n == big_cap) {
                    char *grown = realloc(big, big_cap ? big_cap * 2 : 64);
                    if (!grown) {
                        free(big);
                        out->oom = 1;
                        return;
                    }
                    big = grown;
                    big_cap = big_cap ? big_cap * 2 : 64;
                }
                big[big_n++] = (char)b;
                continue;
            }
            if (big_n) {  /* the collected bytes: one string if valid UTF-8, else U+FFFD per byte */
                if (utf8_valid_prefix(big, big_n) == big_n) strs_push_copy(out, big, big_n);
                else
                    for (size_t k = 0; k < big_n; k++) strs_push_copy(out, "\xEF\xBF\xBD", 3);
                big_n = 0;
            }
            if (i < in->n) strs_push_copy(out, in->v[i].p, in->v[i].n);
        }
        free(big);
        return;
    }
    case DEC_REPLACE:
        for (size_t i = 0; i < in->n; i++) {
            const str *t = &in->v[i];
            size_t cnt = 0;
            for (size_t k = 0; k + d->pattern_len <= t->n;)
                if (!memcmp(t->p + k, d->pattern, d->pattern_len)) cnt++, k += d->pattern_len;
                else k++;
            char *o = malloc(t->n + cnt * d->content_len + 1);
            size_t m = 0;
            if (!o) {
                out->oom = 1;
                return;
            }
            for (size_t k = 0; k < t->n;) {
                if (k + d->pattern_len <= t->n && !memcmp(t->p + k, d->pattern, d->pattern_len)) {
                    memcpy(o + m, d->content, d->content_len);
                    m += d->content_len;
                    k += d->pattern_len;
                } else
                    o[m++] = t->p[k++];
            }
            o[m] = '\0';
            strs_push(out, o, m);
        }
        return;
    case DEC_STRIP:
        for (size_t i = 0; i < in->n; i++) {
            const str *t = &in->v[i];
            size_t a = 0, b = t->n, cl;
            for (int k = 0; k < d->strip_start && a < t->n; k++) {
                if (tok_utf8_decode(t->p + a, &cl) != d->strip_cp) break;
                a += cl;
            }
            for (int k = 0; k < d->strip_stop && b > a; k++) {
                size_t j = b - 1;
                while (j > a && ((unsigned char)t->p[j] & 0xC0) == 0x80) j--;
                if (tok_utf8_decode(t->p + j, &cl) != d->strip_cp) break;
                b = j;
            }
            strs_push_copy(out, t->p + a, b - a);
        }
        return;
    case DEC_METASPACE:
        /* the replacement becomes a space, except that the first token loses it (prefix scheme) */
        for (size_t i = 0; i < in->n; i++) {
            const str *t = &in->v[i];
            char *o = malloc(t->n + 1);
            size_t m = 0, cl;
            if (!o) {
                out->oom = 1;
                return;
            }
            for (size_t k = 0; k < t->n; k += cl) {
                uint32_t cp = tok_utf8_decode(t->p + k, &cl);
                if (cp == d->repl_cp) {
                    if (!(i == 0 && d->prepend_scheme != PREPEND_NEVER)) o[m++] = ' ';
                } else {
                    memcpy(o + m, t->p + k, cl);
                    m += cl;
                }
            }
            o[m] = '\0';
            strs_push(out, o, m);
        }
        return;
    }
}

static int32_t added_index(const duo_tokenizer *tok, int32_t id) {
    return id >= 0 && id < tok->n_added_by_id ? tok->added_by_id[id] : -1;
}

char *tokenizer_decode_len(const duo_tokenizer *tok, const int32_t *ids, size_t n, int skip_special_tokens,
                           size_t *len) {
    strs cur = {0};
    if (len) *len = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t a = added_index(tok, ids[i]);
        if (a >= 0) {
            if (skip_special_tokens && tok->added[a].special) continue;
            /* HF decodes a normalized added token as its normalized form */
            strs_push_copy(&cur, tok->added[a].pattern, tok->added[a].pattern_len);
            continue;
        }
        const char *t = tokenizer_id_to_token(tok, ids[i]);
        if (!t) continue;
        /* a vocabulary token that is also an added special token's content counts as special */
        if (skip_special_tokens && tok_str_map_get(&tok->special_contents, t, strlen(t)) >= 0) continue;
        strs_push_copy(&cur, t, strlen(t));
    }
    if (cur.oom) {
        strs_free(&cur);
        return NULL;
    }
    if (!tok->has_decoder) {  /* no decoder: tokens joined by spaces */
        size_t total = 0;
        for (size_t i = 0; i < cur.n; i++) total += cur.v[i].n + 1;
        char *s = malloc(total + 1), *o = s;
        if (!s) {
            strs_free(&cur);
            return NULL;
        }
        for (size_t i = 0; i < cur.n; i++) {
            if (i) *o++ = ' ';
            memcpy(o, cur.v[i].p, cur.v[i].n);
            o += cur.v[i].n;
        }
        *o = '\0';
        strs_free(&cur);
        if (len) *len = (size_t)(o - s);
        return s;
    }
    for (size_t k = 0; k < tok->n_decoders; k++) {
        strs next = {0};
        apply(&tok->decoders[k], &cur, &next);
        strs_free(&cur);
        cur = next;
        if (cur.oom) {
            strs_free(&cur);
            return NULL;
        }
    }
    str s = join(&cur);
    strs_free(&cur);
    if (s.p && len) *len = s.n;
    return s.p;
}

char *tokenizer_decode(const duo_tokenizer *tok, const int32_t *ids, size_t n, int skip_special_tokens) {
    return tokenizer_decode_len(tok, ids, n, skip_special_tokens, NULL);
}
