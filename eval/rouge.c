/* ROUGE-1 as rouge_score 0.1.2 computes it (rouge_scorer.py, tokenize.py), see eval/scores.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/porter.h"
#include "eval/pytext.h"
#include "eval/scores.h"

/* The letters and digits of text.lower() that survive tokenize.py's [^a-z0-9]+ -> " ", with each
 * maximal run ended by a NUL: returns the number of runs, their bytes in buf (strlen + 1 bytes
 * are enough: no character lowers to more [a-z0-9] bytes than its own length, and a run's NUL
 * takes the place of the separator or of a shortened character after it). */
static size_t lower_alnum_runs(const char *text, char *buf, size_t *used) {
    size_t len = strlen(text), o = 0, runs = 0;
    int in_run = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t step = pytext_next(text + i, len - i, &cp);
        i += step;
        char c = 0;
        int ends_after = 0;
        if (cp >= 'A' && cp <= 'Z') c = (char)(cp - 'A' + 'a');
        else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) c = (char)cp;
        else if (cp == 0x212A) c = 'k';                  /* KELVIN SIGN lowers to "k" */
        else if (cp == 0x130) c = 'i', ends_after = 1;   /* "İ" lowers to "i" + U+0307 */
        if (c) {
            buf[o++] = c;
            if (!in_run) runs++;
            in_run = 1;
        }
        if ((!c || ends_after) && in_run) {
            buf[o++] = '\0';
            in_run = 0;
        }
    }
    if (in_run) buf[o++] = '\0';
    *used = o;
    return runs;
}

int duo_rouge_tokenize(const char *text, bool stem, char ***tokens, size_t *n, duo_error *err) {
    size_t len = strlen(text), used = 0;
    /* The pointer array's size is not known before the scan: scan into scratch, then lay out. */
    char *scratch = malloc(len + 1);
    if (!scratch) return duo_fail(err, "rouge tokenizer: out of memory for %zu bytes of text", len);
    size_t count = lower_alnum_runs(text, scratch, &used);
    char **block = malloc(count * sizeof(char *) + used + 1);
    if (!block) {
        free(scratch);
        return duo_fail(err, "rouge tokenizer: out of memory for %zu tokens", count);
    }
    char *bytes = (char *)(block + count), *p = bytes;
    const char *s = scratch;
    for (size_t t = 0; t < count; t++) {
        size_t tl = strlen(s);
        block[t] = p;
        /* rouge_score stems only tokens longer than 3 characters; a stem is never longer. */
        p += (stem && tl > 3 ? duo_porter_stem(s, tl, p) : (memcpy(p, s, tl + 1), tl)) + 1;
        s += tl + 1;
    }
    free(scratch);
    *tokens = block;
    *n = count;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int duo_rouge1(const char *target, const char *prediction, duo_rouge *out, duo_error *err) {
    char **t, **p;
    size_t nt, np;
    if (duo_rouge_tokenize(target, true, &t, &nt, err)) return -1;
    if (duo_rouge_tokenize(prediction, true, &p, &np, err)) {
        free(t);
        return -1;
    }
    qsort(t, nt, sizeof *t, cmp_str);
    qsort(p, np, sizeof *p, cmp_str);
    /* Sum over the distinct tokens of min(count in target, count in prediction): over sorted
     * lists, every equal pair met in the merge is one shared occurrence. */
    size_t overlap = 0;
    for (size_t i = 0, j = 0; i < nt && j < np;) {
        int c = strcmp(t[i], p[j]);
        if (c == 0) overlap++, i++, j++;
        else if (c < 0) i++;
        else j++;
    }
    free(t);
    free(p);
    /* The same operations in the same order as rouge_score, so the doubles are identical. */
    double precision = (double)overlap / (double)(np > 0 ? np : 1);
    double recall = (double)overlap / (double)(nt > 0 ? nt : 1);
    out->precision = precision;
    out->recall = recall;
    out->fmeasure = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    return 0;
}

int duo_niah_rouge_score(const char *needle, const char *response, double *score, duo_error *err) {
    duo_rouge r;
    if (duo_rouge1(needle, response, &r, err)) return -1;
    *score = r.fmeasure * 10;
    return 0;
}
