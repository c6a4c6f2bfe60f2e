/* Regexes of tokenizer.json through PCRE2 (UTF + UCP, JIT when available), and the piece lists
 * the encoding pipeline passes between its stages. */
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer_impl.h"
#include "data/tokenizer_utf8.h"

/* The pattern with every \s and \S (inside character classes too) rewritten to \p{White_Space} and
 * \P{White_Space}, malloc'd into *out (NULL when there is none to rewrite).  Why: `tokenizers` runs
 * Split and ByteLevel regexes on Oniguruma, whose Unicode \s is the White_Space property; PCRE2's \s
 * under UCP also takes its fixed list of horizontal spaces, which still holds U+180E MONGOLIAN VOWEL
 * SEPARATOR (White_Space until Unicode 6.3).  \\ and \Q...\E are skipped as PCRE2 reads them. */
static int rewrite_space_classes(const char *p, size_t len, char **out, size_t *out_len) {
    static const char ws[] = "p{White_Space}";
    size_t n_hits = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (p[i] != '\\') continue;
        if (p[i + 1] == 's' || p[i + 1] == 'S') n_hits++;
        if (p[i + 1] == 'Q') { /* quoted up to \E */
            for (i += 2; i + 1 < len && !(p[i] == '\\' && p[i + 1] == 'E'); i++) {}
        }
        i++; /* the escaped character */
    }
    *out = NULL;
    if (!n_hits) return 0;
    char *d = malloc(len + n_hits * (sizeof ws - 2) + 1);
    if (!d) return -1;
    size_t m = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\\' || i + 1 == len) {
            d[m++] = p[i];
            continue;
        }
        char c = p[i + 1];
        if (c == 's' || c == 'S') {
            d[m++] = '\\';
            d[m++] = c == 's' ? 'p' : 'P';
            memcpy(d + m, ws + 1, sizeof ws - 2);
            m += sizeof ws - 2;
            i++;
            continue;
        }
        size_t start = i;
        i++;
        if (c == 'Q')
            for (i++; i + 1 < len && !(p[i] == '\\' && p[i + 1] == 'E'); i++) {}
        if (c == 'Q' && i + 1 < len) i++; /* keep the \E */
        if (i >= len) i = len - 1;
        memcpy(d + m, p + start, i - start + 1);
        m += i - start + 1;
    }
    *out = d;
    *out_len = m;
    return 0;
}

int tok_regex_compile(tok_regex *re, const char *pattern, size_t len, int literal, duo_error *err) {
    int code;
    PCRE2_SIZE off;
    /* Oniguruma's default (Ruby) syntax, which `tokenizers` uses, treats ^ and $ as line anchors. */
    uint32_t opts = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP | PCRE2_MULTILINE);
    char *rewritten = NULL;
    size_t rlen = 0;
    if (!literal && rewrite_space_classes(pattern, len, &rewritten, &rlen))
        return duo_fail(err, "regex \"%.*s\": out of memory", (int)(len > 200 ? 200 : len), pattern);
    re->code = pcre2_compile((PCRE2_SPTR)(rewritten ? rewritten : pattern), rewritten ? rlen : len, opts, &code, &off,
                             NULL);
    free(rewritten);
    if (!re->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return duo_fail(err, "invalid regex \"%.*s\" at offset %zu: %s", (int)(len > 200 ? 200 : len), pattern,
                        (size_t)off, (char *)msg);
    }
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);  /* falls back to the interpreter if unavailable */
    /* The JIT honours the match limit (and stops at its own 32 KiB stack); the interpreter all three. */
    re->mctx = pcre2_match_context_create(NULL);
    re->pattern = malloc(len + 1);
    if (!re->mctx || !re->pattern) {
        tok_regex_free(re);
        return duo_fail(err, "regex \"%.*s\": out of memory", (int)(len > 200 ? 200 : len), pattern);
    }
    pcre2_set_match_limit(re->mctx, TOK_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, TOK_REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(re->mctx, TOK_REGEX_HEAP_LIMIT_KIB);
    memcpy(re->pattern, pattern, len);
    re->pattern[len] = 0;
    re->pattern_len = len;
    return 0;
}

void tok_regex_free(tok_regex *re) {
    pcre2_code_free(re->code);
    pcre2_match_context_free(re->mctx);
    free(re->pattern);
    memset(re, 0, sizeof *re);
}

/* The error of a failed pcre2_match: a limit hit names the limit, the pattern and where it was. */
static int match_error(const tok_regex *re, int rc, size_t at, duo_error *err) {
    int plen = (int)(re->pattern_len > 200 ? 200 : re->pattern_len);
    const char *more = re->pattern_len > 200 ? "..." : "";
    char limit[64] = "";
    if (rc == PCRE2_ERROR_MATCHLIMIT) snprintf(limit, sizeof limit, "match limit (%u steps)", TOK_REGEX_MATCH_LIMIT);
    if (rc == PCRE2_ERROR_DEPTHLIMIT) snprintf(limit, sizeof limit, "depth limit (%u)", TOK_REGEX_DEPTH_LIMIT);
    if (rc == PCRE2_ERROR_HEAPLIMIT) snprintf(limit, sizeof limit, "heap limit (%u KiB)", TOK_REGEX_HEAP_LIMIT_KIB);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) snprintf(limit, sizeof limit, "JIT stack limit");
    if (limit[0])
        return duo_fail(err,
                        "regex \"%.*s%s\" hit PCRE2's %s matching from byte %zu of a text piece: the pattern "
                        "backtracks catastrophically on this text (no real tokenizer's pattern does)",
                        plen, re->pattern, more, limit, at);
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof msg);
    return duo_fail(err, "regex \"%.*s%s\": match failed at byte %zu: %s", plen, re->pattern, more, at, (char *)msg);
}

void tok_spans_push(tok_spans *s, size_t a, size_t b) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        tok_span *v = realloc(s->v, cap * sizeof *s->v);
        if (!v) {
            s->oom = 1;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (tok_span){a, b};
}

int tok_regex_find_all(const tok_regex *re, pcre2_match_data *md, const char *s, size_t len, tok_spans *out,
                       duo_error *err) {
    out->n = 0;
    out->oom = 0;
    size_t last_end = 0, last_match_end = (size_t)-1;
    while (last_end <= len) {
        int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, last_end, PCRE2_NO_UTF_CHECK, md, re->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) return match_error(re, rc, last_end, err);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t a = ov[0], b = ov[1];
        if (b < a) b = a;  /* \K tricks; never in tokenizer patterns */
        if (a == b && last_match_end == last_end) {  /* empty match where the last one ended: step one char */
            last_end += last_end < len ? tok_utf8_len((unsigned char)s[last_end]) : 1;
            continue;
        }
        last_end = last_match_end = b;
        tok_spans_push(out, a, b);
    }
    if (out->oom) return duo_fail(err, "regex match: out of memory for %zu matches", out->n);
    return 0;
}

void tok_pieces_clear(tok_pieces *p) {
    p->len = 0;
    p->n = 0;
    p->oom = 0;
}

void tok_pieces_free(tok_pieces *p) {
    free(p->buf);
    free(p->v);
    memset(p, 0, sizeof *p);
}

size_t tok_pieces_bytes(tok_pieces *p, const char *s, size_t len) {
    if (p->len + len > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->len + len) cap *= 2;
        char *buf = realloc(p->buf, cap);
        if (!buf) {
            p->oom = 1;
            return 0;
        }
        p->buf = buf;
        p->cap = cap;
    }
    size_t off = p->len;
    if (len) memcpy(p->buf + off, s, len);
    p->len += len;
    return off;
}

void tok_pieces_add(tok_pieces *p, const char *s, size_t len, int32_t id, int at_start) {
    if (len == 0 || p->oom) return;
    size_t off = tok_pieces_bytes(p, s, len);
    if (p->oom) return;
    if (p->n == p->vcap) {
        size_t cap = p->vcap ? p->vcap * 2 : 64;
        tok_piece *v = realloc(p->v, cap * sizeof *p->v);
        if (!v) {
            p->oom = 1;
            return;
        }
        p->v = v;
        p->vcap = cap;
    }
    p->v[p->n++] = (tok_piece){off, len, id, (uint8_t)(at_start != 0)};
}
