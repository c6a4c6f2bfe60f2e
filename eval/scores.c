/* The NIAH plot score and the passkey score (eval/scores.h); ROUGE is in eval/rouge.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/pytext.h"
#include "eval/scores.h"

typedef struct {
    char **w; /* one malloc'd block: the pointers, then the words' bytes */
    size_t n;
} words;

/* Splits text into words: python = str.lower().split() (Unicode whitespace, the lowercasing of
 * eval/scores.h), else plain ASCII whitespace and the bytes as they are. */
static int split_words(const char *text, bool python, words *out, duo_error *err) {
    size_t len = strlen(text), n = 0;
    /* Words never outnumber len / 2 + 1, and lowercasing grows a word by at most one byte per
     * two ("İ" is two bytes, "i" U+0307 three): 2 len + 2 bytes hold the words and their NULs. */
    size_t cap_words = len / 2 + 1, cap_bytes = 2 * len + 2;
    char **block = malloc(cap_words * sizeof(char *) + cap_bytes);
    if (!block) return duo_fail(err, "scores: out of memory splitting %zu bytes of text", len);
    char *b = (char *)(block + cap_words), *o = b;
    bool in_word = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t step = python ? pytext_next(text + i, len - i, &cp) : 1;
        if (!python) cp = (unsigned char)text[i];
        bool space = python ? pytext_is_space(cp) : (cp == ' ' || (cp >= '\t' && cp <= '\r'));
        if (space) {
            if (in_word) *o++ = '\0';
            in_word = false;
            i += step;
            continue;
        }
        if (!in_word) block[n++] = o;
        in_word = true;
        if (python && cp >= 'A' && cp <= 'Z') *o++ = (char)(cp - 'A' + 'a');
        else if (python && cp == 0x212A) *o++ = 'k';
        else if (python && cp == 0x130) memcpy(o, "i\xcc\x87", 3), o += 3;
        else memcpy(o, text + i, step), o += step;
        i += step;
    }
    if (in_word) *o++ = '\0';
    out->w = block;
    out->n = n;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorts and drops repeats; returns the number of distinct words. */
static size_t sort_unique(char **w, size_t n) {
    if (!n) return 0;
    qsort(w, n, sizeof *w, cmp_str);
    size_t u = 1;
    for (size_t i = 1; i < n; i++)
        if (strcmp(w[i], w[u - 1])) w[u++] = w[i];
    return u;
}

int duo_niah_overlap_score(const char *response, const char *answer, double *score, duo_error *err) {
    words r, a;
    if (split_words(answer, true, &a, err)) return -1;
    if (a.n == 0) {
        free(a.w);
        return duo_fail(err, "NIAH overlap score: the answer \"%.80s\" has no words", answer);
    }
    if (split_words(response, true, &r, err)) {
        free(a.w);
        return -1;
    }
    size_t answer_words = a.n;
    size_t nr = sort_unique(r.w, r.n), na = sort_unique(a.w, a.n), common = 0;
    for (size_t i = 0, j = 0; i < nr && j < na;) {
        int c = strcmp(r.w[i], a.w[j]);
        if (c == 0) common++, i++, j++;
        else if (c < 0) i++;
        else j++;
    }
    free(r.w);
    free(a.w);
    *score = (double)common / (double)answer_words;
    return 0;
}

int duo_score_passkey(const char *generated, const char *passkey, duo_passkey_score *out, duo_error *err) {
    words g, p;
    if (split_words(passkey, false, &p, err)) return -1;
    if (p.n == 0) {
        free(p.w);
        return duo_fail(err, "passkey score: the expected passkey \"%.80s\" has no words", passkey);
    }
    if (split_words(generated, false, &g, err)) {
        free(p.w);
        return -1;
    }
    size_t right = 0;
    for (size_t i = 0; i < p.n && i < g.n; i++) right += strcmp(p.w[i], g.w[i]) == 0;
    out->passkey_words = p.n;
    out->words_right = right;
    out->fraction = (double)right / (double)p.n;
    out->exact = right == p.n;
    free(g.w);
    free(p.w);
    return 0;
}
