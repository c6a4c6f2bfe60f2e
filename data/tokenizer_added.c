/* Added tokens: loading "added_tokens", and splitting the input on them before the model sees it,
 * as HF's AddedVocabulary::extract_and_normalize: first the tokens with normalized=false on the raw
 * text, then each remaining piece is normalized and split on the normalized=true tokens.  Matches
 * are leftmost-longest; lstrip/rstrip absorb whitespace, single_word needs word boundaries. */
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer_impl.h"
#include "data/tokenizer_utf8.h"

static int flag(json_t *o, const char *key, int dflt, size_t i, duo_error *err) {
    json_t *v = json_object_get(o, key);
    if (!v) return dflt;
    if (!json_is_boolean(v)) return duo_fail(err, "added_tokens[%zu]: \"%s\" must be true or false", i, key), -2;
    return json_is_true(v);
}

int tok_load_added(duo_tokenizer *tok, json_t *j, duo_error *err) {
    if (!j || json_is_null(j)) return 0;
    if (!json_is_array(j)) return duo_fail(err, "\"added_tokens\" must be an array");
    tok->added = calloc(json_array_size(j) + 1, sizeof *tok->added);
    if (!tok->added) return duo_fail(err, "added_tokens: out of memory");
    size_t i;
    json_t *o;
    json_array_foreach(j, i, o) {
        if (!json_is_object(o)) return duo_fail(err, "added_tokens[%zu]: expected an object", i);
        json_t *id = json_object_get(o, "id"), *content = json_object_get(o, "content");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= TOK_MAX_ID)
            return duo_fail(err, "added_tokens[%zu]: \"id\" must be an integer in [0, %d)", i, TOK_MAX_ID);
        if (!json_is_string(content) || json_string_length(content) == 0)
            return duo_fail(err, "added_tokens[%zu]: \"content\" must be a non-empty string", i);
        tok_added *a = &tok->added[tok->n_added];
        a->len = json_string_length(content);
        if (!(a->content = malloc(a->len + 1))) return duo_fail(err, "added_tokens[%zu]: out of memory", i);
        memcpy(a->content, json_string_value(content), a->len + 1);
        tok->n_added++;
        a->id = (int32_t)json_integer_value(id);
        int f[5] = {flag(o, "special", 0, i, err), flag(o, "lstrip", 0, i, err), flag(o, "rstrip", 0, i, err),
                    flag(o, "single_word", 0, i, err), flag(o, "normalized", 1, i, err)};
        for (int k = 0; k < 5; k++)
            if (f[k] < 0) return -1;
        a->special = (uint8_t)f[0], a->lstrip = (uint8_t)f[1], a->rstrip = (uint8_t)f[2];
        a->single_word = (uint8_t)f[3], a->normalized = (uint8_t)f[4];
    }
    return 0;
}

static const tok_added *set_tok(const duo_tokenizer *tok, const tok_added_set *set, size_t k) {
    return &tok->added[set->order[k]];
}

static int by_length_desc(const void *x, const void *y, void *ctx) {
    const duo_tokenizer *tok = ctx;
    const tok_added *a = &tok->added[*(const int32_t *)x], *b = &tok->added[*(const int32_t *)y];
    if (a->pattern_len != b->pattern_len) return a->pattern_len < b->pattern_len ? 1 : -1;
    return *(const int32_t *)x - *(const int32_t *)y;
}

/* Builds the two match sets; normalized tokens are searched for in their normalized form. */
int tok_added_build_sets(duo_tokenizer *tok, tok_work *w, duo_error *err) {
    /* Rust regex's Unicode \w, which HF's single_word test uses */
    static const char WORD[] = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]";
    if (tok_regex_compile(&tok->word_char, WORD, sizeof WORD - 1, 0, err)) return -1;
    for (int pass = 0; pass < 2; pass++) {
        tok_added_set *set = pass ? &tok->normalized_set : &tok->raw_set;
        set->order = malloc((tok->n_added + 1) * sizeof *set->order);
        if (!set->order) return duo_fail(err, "added_tokens: out of memory");
        for (size_t i = 0; i < tok->n_added; i++) {
            tok_added *a = &tok->added[i];
            if (a->normalized != pass) continue;
            if (pass) {
                const char *s;
                size_t n;
                if (tok_normalize(tok, w, a->content, a->len, &s, &n, err)) return -1;
                if (!(a->pattern = malloc(n + 1))) return duo_fail(err, "added_tokens[%zu]: out of memory", i);
                memcpy(a->pattern, s, n);
                a->pattern[n] = '\0';
                a->pattern_len = n;
            } else {
                a->pattern = a->content;
                a->pattern_len = a->len;
            }
            if (a->pattern_len == 0) continue;
            set->first_byte[(unsigned char)a->pattern[0]] = 1;
            set->order[set->n++] = (int32_t)i;
        }
        qsort_r(set->order, set->n, sizeof *set->order, by_length_desc, tok);
    }
    return 0;
}

/* Is the character at s[0..n) (one whole character) a word character (Rust regex \w)? */
static int is_word_char(const duo_tokenizer *tok, pcre2_match_data *md, const char *s, size_t n) {
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return pcre2_match(tok->word_char.code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, md, tok->word_char.mctx) >= 0;
}

static int ends_with_word(const duo_tokenizer *tok, pcre2_match_data *md, const char *s, size_t len) {
    if (!len) return 0;
    size_t i = len - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    return is_word_char(tok, md, s + i, len - i);
}

static int starts_with_word(const duo_tokenizer *tok, pcre2_match_data *md, const char *s, size_t len) {
    return len && is_word_char(tok, md, s, tok_utf8_len((unsigned char)s[0]));
}

/* Start of the whitespace run that ends s[0..len). */
static size_t space_leftmost_at_end(const char *s, size_t len) {
    size_t idx = len;
    while (idx > 0) {
        size_t i = idx - 1, n;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
        if (!tok_is_whitespace(tok_utf8_decode(s + i, &n))) break;
        idx = i;
    }
    return idx;
}

/* Length of the whitespace run that starts s[0..len). */
static size_t space_rightmost_at_start(const char *s, size_t len) {
    size_t i = 0, n;
    while (i < len && tok_is_whitespace(tok_utf8_decode(s + i, &n))) i += n;
    return i;
}

/* One find_matches pass over s: text pieces and added-token pieces into out. */
static void split_on_set(const duo_tokenizer *tok, pcre2_match_data *md, const tok_added_set *set, const char *s,
                         size_t len, int at_start, tok_pieces *out) {
    size_t start_offset = 0, pos = 0;
    while (set->n && pos < len) {
        if (!set->first_byte[(unsigned char)s[pos]]) {
            pos++;
            continue;
        }
        const tok_added *hit = NULL;
        for (size_t k = 0; k < set->n; k++) {
            const tok_added *a = set_tok(tok, set, k);
            if (a->pattern_len <= len - pos && !memcmp(s + pos, a->pattern, a->pattern_len)) {
                hit = a;
                break;
            }
        }
        if (!hit) {
            pos++;
            continue;
        }
        size_t start = pos, stop = pos + hit->pattern_len;
        pos = stop;  /* the search resumes after the match, even if the match is discarded below */
        if (hit->single_word) {
            int start_space = start == 0 || !ends_with_word(tok, md, s, start);
            int stop_space = stop == len || !starts_with_word(tok, md, s + stop, len - stop);
            if (!start_space || !stop_space) continue;
        }
        if (hit->lstrip) {
            size_t ns = space_leftmost_at_end(s, start);
            start = ns > start_offset ? ns : start_offset;
        }
        if (hit->rstrip) stop += space_rightmost_at_start(s + stop, len - stop);
        if (start_offset < start) tok_pieces_add(out, s + start_offset, start - start_offset, -1, at_start && start_offset == 0);
        tok_pieces_add(out, s + start, stop - start, hit->id, at_start && start == 0);
        start_offset = stop;
    }
    if (start_offset < len) tok_pieces_add(out, s + start_offset, len - start_offset, -1, at_start && start_offset == 0);
}

int tok_split_added(const duo_tokenizer *tok, tok_work *w, const char *text, size_t len, tok_pieces *out,
                    duo_error *err) {
    tok_pieces_clear(&w->b);
    split_on_set(tok, w->md, &tok->raw_set, text, len, 1, &w->b);
    tok_pieces_clear(out);
    for (size_t i = 0; i < w->b.n; i++) {
        tok_piece pc = w->b.v[i];
        if (pc.id >= 0) {
            tok_pieces_add(out, w->b.buf + pc.off, pc.len, pc.id, pc.at_start);
            continue;
        }
        const char *s;
        size_t n;
        if (tok_normalize(tok, w, w->b.buf + pc.off, pc.len, &s, &n, err)) return -1;
        split_on_set(tok, w->md, &tok->normalized_set, s, n, pc.at_start, out);
    }
    if (w->b.oom || out->oom) return duo_fail(err, "added tokens: out of memory for the pieces");
    return 0;
}
