/* Pre-tokenizers of tokenizer.json: Sequence, Split (regex or literal, every split behaviour,
 * invert), ByteLevel (GPT-2 regex, add_prefix_space, the byte -> unicode mapping), Metaspace
 * (prepend_scheme always/first/never, split), WhitespaceSplit and Digits. */
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer_impl.h"
#include "data/tokenizer_utf8.h"

static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int behavior_of(const char *s) {
    if (!s) return -1;
    if (!strcmp(s, "Removed")) return SPLIT_REMOVED;
    if (!strcmp(s, "Isolated")) return SPLIT_ISOLATED;
    if (!strcmp(s, "MergedWithPrevious")) return SPLIT_MERGED_PREV;
    if (!strcmp(s, "MergedWithNext")) return SPLIT_MERGED_NEXT;
    if (!strcmp(s, "Contiguous")) return SPLIT_CONTIGUOUS;
    return -1;
}

static int json_bool_or(json_t *obj, const char *key, int dflt, const char *what, duo_error *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return dflt;
    if (!json_is_boolean(v)) return duo_fail(err, "%s: \"%s\" must be true or false", what, key), -2;
    return json_is_true(v);
}

static int load_one(duo_tokenizer *tok, json_t *j, int depth, duo_error *err) {
    if (!json_is_object(j)) return duo_fail(err, "pre_tokenizer: expected an object");
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) return duo_fail(err, "pre_tokenizer: missing \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(j, "pretokenizers");
        if (!json_is_array(list)) return duo_fail(err, "pre_tokenizer Sequence: \"pretokenizers\" must be an array");
        if (depth > 8) return duo_fail(err, "pre_tokenizer Sequence nested too deeply");
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) if (load_one(tok, item, depth + 1, err)) return -1;
        return 0;
    }
    tok_pretok p = {0};
    int ok = 0;
    if (!strcmp(type, "Split")) {
        p.type = PRE_SPLIT;
        p.behavior = behavior_of(json_string_value(json_object_get(j, "behavior")));
        if (p.behavior < 0) return duo_fail(err, "pre_tokenizer Split: unknown or missing \"behavior\"");
        if ((p.invert = json_bool_or(j, "invert", 0, "pre_tokenizer Split", err)) < 0) return -1;
        if (tok_load_pattern(json_object_get(j, "pattern"), &p.re, "pre_tokenizer Split", err)) return -1;
        ok = 1;
    } else if (!strcmp(type, "ByteLevel")) {
        p.type = PRE_BYTE_LEVEL;
        p.map_bytes = 1;
        if ((p.add_prefix_space = json_bool_or(j, "add_prefix_space", 1, "pre_tokenizer ByteLevel", err)) < 0 ||
            (p.use_regex = json_bool_or(j, "use_regex", 1, "pre_tokenizer ByteLevel", err)) < 0)
            return -1;
        if (p.use_regex && tok_regex_compile(&p.re, GPT2_PATTERN, sizeof GPT2_PATTERN - 1, 0, err)) return -1;
        ok = 1;
    } else if (!strcmp(type, "Metaspace")) {
        p.type = PRE_METASPACE;
        json_t *r = json_object_get(j, "replacement");
        const char *rs = json_string_value(r);
        if (!rs || json_string_length(r) == 0 || json_string_length(r) > 4 ||
            utf8_valid_prefix(rs, json_string_length(r)) != json_string_length(r) ||
            tok_utf8_len((unsigned char)rs[0]) != json_string_length(r))
            return duo_fail(err, "pre_tokenizer Metaspace: \"replacement\" must be one character");
        memcpy(p.repl, rs, json_string_length(r));
        p.repl_len = json_string_length(r);
        const char *scheme = json_string_value(json_object_get(j, "prepend_scheme"));
        if (scheme) {
            if (!strcmp(scheme, "always")) p.prepend_scheme = PREPEND_ALWAYS;
            else if (!strcmp(scheme, "first")) p.prepend_scheme = PREPEND_FIRST;
            else if (!strcmp(scheme, "never")) p.prepend_scheme = PREPEND_NEVER;
            else return duo_fail(err, "pre_tokenizer Metaspace: unknown prepend_scheme \"%s\"", scheme);
        } else {  /* older files: add_prefix_space */
            int aps = json_bool_or(j, "add_prefix_space", 1, "pre_tokenizer Metaspace", err);
            if (aps < 0) return -1;
            p.prepend_scheme = aps ? PREPEND_ALWAYS : PREPEND_NEVER;
        }
        if ((p.split = json_bool_or(j, "split", 1, "pre_tokenizer Metaspace", err)) < 0) return -1;
        ok = 1;
    } else if (!strcmp(type, "WhitespaceSplit")) {
        p.type = PRE_WHITESPACE_SPLIT;
        ok = 1;
    } else if (!strcmp(type, "Digits")) {
        p.type = PRE_DIGITS;
        if ((p.individual_digits = json_bool_or(j, "individual_digits", 0, "pre_tokenizer Digits", err)) < 0) return -1;
        if (tok_regex_compile(&p.re, "\\p{N}", 5, 0, err)) return -1;
        ok = 1;
    }
    if (!ok)
        return duo_fail(err, "unsupported pre_tokenizer type \"%s\" (supported: Sequence, Split, ByteLevel, Metaspace, "
                             "WhitespaceSplit, Digits)", type);
    tok_pretok *grown = realloc(tok->pretoks, (tok->n_pretoks + 1) * sizeof *tok->pretoks);
    if (!grown) {
        tok_regex_free(&p.re);
        return duo_fail(err, "pre_tokenizer %s: out of memory", type);
    }
    tok->pretoks = grown;
    tok->pretoks[tok->n_pretoks++] = p;
    return 0;
}

int tok_load_pretokenizer(duo_tokenizer *tok, json_t *j, duo_error *err) {
    if (!j || json_is_null(j)) return 0;
    return load_one(tok, j, 0, err);
}

/* Splits s[0..len) at the given matches with one of HF's SplitDelimiterBehavior rules.  The text is
 * walked as alternating gaps and matches (empty matches included, as HF keeps them); the merging
 * behaviours grow a pending piece [cur_a, cur_b) that is emitted when the next one starts. */
static void split_pieces(const char *s, size_t len, const tok_spans *m, int behavior, int invert, int at_start,
                         tok_pieces *out) {
    size_t prev = 0, cur_a = 0, cur_b = 0;
    int have = 0, prev_match = 0;
    for (size_t i = 0; i <= m->n; i++) {
        for (int part = 0; part < 2; part++) {
            size_t a, b;
            int is_match;
            if (part == 0) {  /* the gap before match i (or the tail) */
                a = prev;
                b = i < m->n ? m->v[i].start : len;
                if (a == b) continue;
                is_match = 0;
            } else {
                if (i == m->n) break;
                a = m->v[i].start;
                b = m->v[i].end;
                prev = b;
                is_match = 1;
            }
            if (invert) is_match = !is_match;
            switch (behavior) {
            case SPLIT_ISOLATED:
                tok_pieces_add(out, s + a, b - a, -1, at_start && a == 0);
                break;
            case SPLIT_REMOVED:
                if (!is_match) tok_pieces_add(out, s + a, b - a, -1, at_start && a == 0);
                break;
            case SPLIT_MERGED_PREV:
                if (is_match && !prev_match && have) {
                    cur_b = b;
                } else {
                    if (have) tok_pieces_add(out, s + cur_a, cur_b - cur_a, -1, at_start && cur_a == 0);
                    cur_a = a, cur_b = b, have = 1;
                }
                break;
            case SPLIT_MERGED_NEXT:
                /* a match opens a piece; a following non-match joins it (unless matches repeat) */
                if (have && !is_match && prev_match) {
                    cur_b = b;
                } else {
                    if (have) tok_pieces_add(out, s + cur_a, cur_b - cur_a, -1, at_start && cur_a == 0);
                    cur_a = a, cur_b = b, have = 1;
                }
                break;
            case SPLIT_CONTIGUOUS:
                if (have && is_match == prev_match) {
                    cur_b = b;
                } else {
                    if (have) tok_pieces_add(out, s + cur_a, cur_b - cur_a, -1, at_start && cur_a == 0);
                    cur_a = a, cur_b = b, have = 1;
                }
                break;
            }
            prev_match = is_match;
        }
    }
    if (have) tok_pieces_add(out, s + cur_a, cur_b - cur_a, -1, at_start && cur_a == 0);
}

/* Matches of a char predicate, one span per matching character. */
static void char_matches(const char *s, size_t len, int (*pred)(uint32_t, const tok_pretok *), const tok_pretok *p,
                         tok_spans *out) {
    out->n = 0;
    out->oom = 0;
    for (size_t i = 0; i < len;) {
        size_t n;
        uint32_t cp = tok_utf8_decode(s + i, &n);
        if (pred(cp, p)) {
            tok_spans_push(out, i, i + n);
            if (out->oom) return;
        }
        i += n;
    }
}

static int is_ws(uint32_t cp, const tok_pretok *p) { (void)p; return tok_is_whitespace(cp); }

static int is_repl(uint32_t cp, const tok_pretok *p) {
    size_t n;
    return cp == tok_utf8_decode(p->repl, &n);
}

/* *buf with room for n bytes, or NULL (the old buffer kept) when out of memory. */
static char *grow(char **buf, size_t *cap, size_t n) {
    if (n > *cap) {
        size_t want = n < 256 ? 256 : n * 2;
        char *p = realloc(*buf, want);
        if (!p) return NULL;
        *buf = p;
        *cap = want;
    }
    return *buf;
}

/* One pre-tokenizer step over one text piece. */
static int step_piece(const tok_pretok *p, tok_work *w, const char *s, size_t len, int at_start, tok_pieces *out,
                      duo_error *err) {
    switch (p->type) {
    case PRE_SPLIT:
        if (tok_regex_find_all(&p->re, w->md, s, len, &w->spans, err)) return -1;
        split_pieces(s, len, &w->spans, p->behavior, p->invert, at_start, out);
        return 0;
    case PRE_WHITESPACE_SPLIT:
        char_matches(s, len, is_ws, p, &w->spans);
        if (w->spans.oom) return duo_fail(err, "pre_tokenizer WhitespaceSplit: out of memory");
        split_pieces(s, len, &w->spans, SPLIT_REMOVED, 0, at_start, out);
        return 0;
    case PRE_DIGITS:
        if (tok_regex_find_all(&p->re, w->md, s, len, &w->spans, err)) return -1;
        split_pieces(s, len, &w->spans, p->individual_digits ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS, 0, at_start, out);
        return 0;
    case PRE_METASPACE: {
        /* spaces -> replacement, then the prefix, then split before each replacement */
        size_t n_sp = 0;
        for (size_t i = 0; i < len; i++) n_sp += s[i] == ' ';
        char *d = grow(&w->tmp, &w->tmp_cap, len + n_sp * p->repl_len + p->repl_len);
        if (!d) return duo_fail(err, "pre_tokenizer Metaspace: out of memory");
        size_t m = 0;
        int starts_repl = 0;
        if (len && (s[0] == ' ' || (len >= p->repl_len && !memcmp(s, p->repl, p->repl_len)))) starts_repl = 1;
        if (!starts_repl && (p->prepend_scheme == PREPEND_ALWAYS || (p->prepend_scheme == PREPEND_FIRST && at_start))) {
            memcpy(d, p->repl, p->repl_len);
            m = p->repl_len;
        }
        for (size_t i = 0; i < len; i++) {
            if (s[i] == ' ') {
                memcpy(d + m, p->repl, p->repl_len);
                m += p->repl_len;
            } else
                d[m++] = s[i];
        }
        if (!p->split) {
            tok_pieces_add(out, d, m, -1, at_start);
            return 0;
        }
        char_matches(d, m, is_repl, p, &w->spans);
        if (w->spans.oom) return duo_fail(err, "pre_tokenizer Metaspace: out of memory");
        split_pieces(d, m, &w->spans, SPLIT_MERGED_NEXT, 0, at_start, out);
        return 0;
    }
    case PRE_BYTE_LEVEL: {
        if (p->add_prefix_space && (len == 0 || s[0] != ' ')) {
            char *d = grow(&w->tmp, &w->tmp_cap, len + 1);
            if (!d) return duo_fail(err, "pre_tokenizer ByteLevel: out of memory");
            d[0] = ' ';
            memcpy(d + 1, s, len);
            s = d;
            len++;
        }
        size_t first = out->n;
        if (p->use_regex) {
            if (tok_regex_find_all(&p->re, w->md, s, len, &w->spans, err)) return -1;
            split_pieces(s, len, &w->spans, SPLIT_ISOLATED, 0, at_start, out);
        } else {
            tok_pieces_add(out, s, len, -1, at_start);
        }
        if (!p->map_bytes) return 0;
        /* rewrite the new pieces through bytes_to_unicode (at the arena's end, in order) */
        for (size_t k = first; k < out->n; k++) {
            tok_piece *pc = &out->v[k];
            size_t need = pc->len * 2;
            char *d = grow(&w->tmp2, &w->tmp2_cap, need);
            if (!d) return duo_fail(err, "pre_tokenizer ByteLevel: out of memory");
            size_t m = 0;
            for (size_t i = 0; i < pc->len; i++) m += tok_utf8_encode(tok_byte_to_cp((unsigned char)out->buf[pc->off + i]), d + m);
            pc->off = tok_pieces_bytes(out, d, m);
            pc->len = m;
        }
        return 0;
    }
    }
    return duo_fail(err, "internal: unknown pre_tokenizer step");
}

int tok_pretokenize(const duo_tokenizer *tok, tok_work *w, duo_error *err) {
    for (size_t k = 0; k < tok->n_pretoks; k++) {
        tok_pieces_clear(&w->b);
        for (size_t i = 0; i < w->a.n; i++) {
            tok_piece pc = w->a.v[i];
            if (pc.id >= 0) {
                tok_pieces_add(&w->b, w->a.buf + pc.off, pc.len, pc.id, pc.at_start);
                continue;
            }
            if (step_piece(&tok->pretoks[k], w, w->a.buf + pc.off, pc.len, pc.at_start, &w->b, err)) return -1;
        }
        if (w->b.oom) return duo_fail(err, "pre_tokenizer: out of memory for %zu pieces", w->b.n);
        tok_pieces t = w->a;
        w->a = w->b;
        w->b = t;
    }
    return 0;
}
