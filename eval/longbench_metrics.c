/* LongBench's metrics and eval.py's scorer (eval/longbench_metrics.h). */
#include "eval/longbench_metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "eval/pytext.h"

const char *const LB_METRIC_NAMES[6] = {"qa_f1_score", "rouge_score", "classification_score",
                                        "retrieval_score", "count_score", "code_sim_score"};

/* The rouge package's _recon recursion raises RecursionError (scored 0 by rouge_score's bare except)
 * past Python's default limit of 1000 frames; under eval.py's scorer, 9 frames (module, scorer,
 * rouge_score, get_scores, _get_avg_scores, the metric lambda, rouge_l_summary_level, _union_lcs,
 * _recon_lcs) lie below the first _recon call, so 991 nested calls are the most that succeed (measured
 * with rouge 1.0.1 on CPython 3.11; the fixture has pairs on both sides of the limit). */
#define LB_ROUGE_MAX_RECON_CALLS 991

static const struct {
    const char *name;
    int metric; /* -1: needs jieba */
} DATASETS[] = {
    {"narrativeqa", LB_QA_F1},        {"qasper", LB_QA_F1},         {"multifieldqa_en", LB_QA_F1},
    {"hotpotqa", LB_QA_F1},           {"2wikimqa", LB_QA_F1},       {"musique", LB_QA_F1},
    {"gov_report", LB_ROUGE},         {"qmsum", LB_ROUGE},          {"multi_news", LB_ROUGE},
    {"trec", LB_CLASSIFICATION},      {"triviaqa", LB_QA_F1},       {"samsum", LB_ROUGE},
    {"passage_retrieval_en", LB_RETRIEVAL}, {"passage_count", LB_COUNT}, {"lcc", LB_CODE_SIM},
    {"repobench-p", LB_CODE_SIM},     {"multifieldqa_zh", -1},      {"dureader", -1},
    {"vcsum", -1},                    {"lsht", -1},                 {"passage_retrieval_zh", -1},
};

int lb_dataset_metric(const char *dataset, lb_metric *m, duo_error *err) {
    for (size_t i = 0; i < sizeof DATASETS / sizeof *DATASETS; i++)
        if (!strcmp(DATASETS[i].name, dataset)) {
            if (DATASETS[i].metric < 0)
                return duo_fail(err, "LongBench dataset '%s' is scored on jieba word segmentation, which duo-train "
                                     "does not implement: it is refused", dataset);
            *m = (lb_metric)DATASETS[i].metric;
            return 0;
        }
    return duo_fail(err, "'%s' is not a LongBench dataset eval.py scores (dataset2metric)", dataset);
}

int lb_first_line_dataset(const char *d) {
    return !strcmp(d, "trec") || !strcmp(d, "triviaqa") || !strcmp(d, "samsum") || !strcmp(d, "lsht");
}

/* ---- code points ---- */

typedef struct {
    uint32_t *c; /* [n] */
    size_t n;
} cps;

static int decode(const char *s, cps *out) {
    size_t len = strlen(s), n = 0;
    out->c = malloc((len + 1) * sizeof *out->c);
    if (!out->c) return -1;
    for (size_t i = 0; i < len;) i += pytext_next(s + i, len - i, &out->c[n++]);
    out->n = n;
    return 0;
}

static char *encode(const uint32_t *c, size_t n) {
    char *out = malloc(4 * n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) o += utf8proc_encode_char((utf8proc_int32_t)c[i], (utf8proc_uint8_t *)o);
    *o = 0;
    return out;
}

static int category(uint32_t c) { return utf8proc_category((utf8proc_int32_t)c); }

/* Python re's \w on str: str.isalnum() (letters and characters with a numeric value) or "_". */
static int is_word(uint32_t c) {
    if (c == '_') return 1;
    switch (category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return 1;
    default: return 0;
    }
}

static int is_decimal(uint32_t c) { return category(c) == UTF8PROC_CATEGORY_ND; }

int lb_py_is_word(unsigned cp) { return is_word(cp); }
int lb_py_is_decimal(unsigned cp) { return is_decimal(cp); }

/* Unicode's Cased and Case_Ignorable, for str.lower()'s final sigma rule. */
static int is_cased(uint32_t c) {
    int k = category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           utf8proc_tolower((utf8proc_int32_t)c) != (utf8proc_int32_t)c ||
           utf8proc_toupper((utf8proc_int32_t)c) != (utf8proc_int32_t)c;
}

static int is_case_ignorable(uint32_t c) {
    static const uint32_t mid[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,  0x5F4,  0x2018,
                                   0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
    for (size_t i = 0; i < sizeof mid / sizeof *mid; i++)
        if (c == mid[i]) return 1;
    int k = category(c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK;
}

/* str.lower(): the simple mapping, U+0130 to "i" U+0307 (SpecialCasing's one unconditional lower
 * mapping), U+03A3 to final sigma after a cased letter not followed by one (case-ignorables skipped). */
static int py_lower(const cps *in, cps *out) {
    out->c = malloc((2 * in->n + 1) * sizeof *out->c);
    if (!out->c) return -1;
    size_t o = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->c[i];
        if (c == 0x130) {
            out->c[o++] = 'i';
            out->c[o++] = 0x307;
        } else if (c == 0x3A3) {
            size_t j = i;
            while (j > 0 && is_case_ignorable(in->c[j - 1])) j--;
            int final = j > 0 && is_cased(in->c[j - 1]);
            if (final) {
                size_t k = i + 1;
                while (k < in->n && is_case_ignorable(in->c[k])) k++;
                final = k == in->n || !is_cased(in->c[k]);
            }
            out->c[o++] = final ? 0x3C2 : 0x3C3;
        } else
            out->c[o++] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
    }
    out->n = o;
    return 0;
}

char *lb_py_lower(const char *s) {
    cps in, low;
    if (decode(s, &in)) return NULL;
    int rc = py_lower(&in, &low);
    free(in.c);
    if (rc) return NULL;
    char *out = encode(low.c, low.n);
    free(low.c);
    return out;
}

static int is_ascii_punct(uint32_t c) { return c < 128 && c > 32 && c != 127 && !((c | 32) >= 'a' && (c | 32) <= 'z') && !(c >= '0' && c <= '9'); }

/* remove_articles: every a / an / the with Python's \b on both sides becomes " ". */
static size_t remove_articles(uint32_t *c, size_t n) {
    static const char *const art[3] = {"a", "an", "the"};
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t hit = 0;
        if (i == 0 || !is_word(c[i - 1]))
            for (int a = 0; a < 3 && !hit; a++) {
                size_t l = strlen(art[a]), k = 0;
                while (k < l && i + k < n && c[i + k] == (uint32_t)art[a][k]) k++;
                if (k == l && (i + l == n || !is_word(c[i + l]))) hit = l;
            }
        if (hit) {
            c[o++] = ' ';
            i += hit;
        } else
            c[o++] = c[i++];
    }
    return o;
}

char *lb_normalize_answer(const char *s) {
    cps in, low;
    if (decode(s, &in)) return NULL;
    int rc = py_lower(&in, &low);
    free(in.c);
    if (rc) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < low.n; i++)
        if (!is_ascii_punct(low.c[i])) low.c[n++] = low.c[i];
    n = remove_articles(low.c, n);
    /* white_space_fix: " ".join(text.split()) */
    size_t o = 0;
    int pending = 0;
    for (size_t i = 0; i < n; i++) {
        if (pytext_is_space(low.c[i])) {
            pending = o > 0;
            continue;
        }
        if (pending) low.c[o++] = ' ';
        pending = 0;
        low.c[o++] = low.c[i];
    }
    char *out = encode(low.c, o);
    free(low.c);
    return out;
}

/* ---- words ---- */

typedef struct {
    char **w; /* [n] pointers into buf */
    size_t n;
    char *buf;
} wordlist;

/* str.split() (Python whitespace) of s; keep_empty: a text without words gives one "" (as
 * " ".join(x.split()).split(" ") does). */
static int split_ws(const char *s, size_t len, int keep_empty, wordlist *out) {
    out->buf = malloc(len + 1);
    out->w = malloc((len / 2 + 2) * sizeof *out->w);
    out->n = 0;
    if (!out->buf || !out->w) {
        free(out->buf);
        free(out->w);
        return -1;
    }
    char *o = out->buf;
    int in_word = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t step = pytext_next(s + i, len - i, &cp);
        if (pytext_is_space(cp)) {
            if (in_word) *o++ = 0;
            in_word = 0;
        } else {
            if (!in_word) out->w[out->n++] = o;
            in_word = 1;
            memcpy(o, s + i, step);
            o += step;
        }
        i += step;
    }
    if (in_word) *o++ = 0;
    if (!out->n && keep_empty) {
        *o = 0;
        out->w[out->n++] = o;
    }
    return 0;
}

static void wordlist_free(wordlist *w) {
    free(w->w);
    free(w->buf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Counter(a) & Counter(b), summed: over sorted lists every equal pair met in the merge is one shared
 * occurrence.  Sorts both lists. */
static size_t common_count(char **a, size_t na, char **b, size_t nb) {
    qsort(a, na, sizeof *a, cmp_str);
    qsort(b, nb, sizeof *b, cmp_str);
    size_t same = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        int c = strcmp(a[i], b[j]);
        if (!c) same++, i++, j++;
        else if (c < 0) i++;
        else j++;
    }
    return same;
}

int lb_qa_f1_score(const char *pred, const char *gt, double *out, duo_error *err) {
    char *np = lb_normalize_answer(pred), *ng = lb_normalize_answer(gt);
    wordlist p = {0}, g = {0};
    int rc = !np || !ng || split_ws(np, strlen(np), 0, &p) || split_ws(ng, strlen(ng), 0, &g);
    if (!rc) {
        size_t same = common_count(p.w, p.n, g.w, g.n);
        if (!same) *out = 0;
        else {
            double precision = 1.0 * (double)same / (double)p.n, recall = 1.0 * (double)same / (double)g.n;
            *out = (2 * precision * recall) / (precision + recall);
        }
    }
    wordlist_free(&p);
    wordlist_free(&g);
    free(np);
    free(ng);
    return rc ? duo_fail(err, "qa_f1_score: out of memory") : 0;
}

/* ---- ROUGE-L (the rouge package) ---- */

typedef struct {
    int *id;     /* [n] word ids */
    size_t n;
} sentence;

typedef struct {
    sentence *s; /* [n] */
    size_t n;
} sentences;

/* text.split(".") pieces of nonzero length, each " ".join(piece.split()).split(" "); the words go to
 * *words (appended, to be interned), their ids are filled in later. */
static int split_sentences(const char *text, sentences *out, char ***words, size_t *nw, size_t *cap,
                           wordlist **lists, size_t *nlists) {
    size_t len = strlen(text);
    out->s = malloc((len + 1) * sizeof *out->s);
    out->n = 0;
    if (!out->s) return -1;
    for (size_t start = 0; start <= len;) {
        const char *dot = memchr(text + start, '.', len - start);
        size_t end = dot ? (size_t)(dot - text) : len;
        if (end > start) {
            wordlist *wl = &(*lists)[(*nlists)++];
            if (split_ws(text + start, end - start, 1, wl)) return -1;
            sentence *s = &out->s[out->n++];
            s->n = wl->n;
            s->id = malloc(wl->n * sizeof *s->id);
            if (!s->id) return -1;
            if (*nw + wl->n > *cap) {
                *cap = 2 * (*nw + wl->n);
                char **g = realloc(*words, *cap * sizeof **words);
                if (!g) return -1;
                *words = g;
            }
            for (size_t k = 0; k < wl->n; k++) (*words)[(*nw)++] = wl->w[k];
        }
        start = end + 1;
    }
    return 0;
}

static int intern(char **sorted, size_t n, const char *w) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(sorted[mid], w);
        if (!c) return (int)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* The union LCS words of (ref x, hyp y) into mark[]; -1 when the reconstruction's recursion is too deep
 * (Python's RecursionError), -2 out of memory. */
static int recon_lcs(const sentence *x, const sentence *y, unsigned char *mark) {
    size_t n = x->n, m = y->n, w = m + 1;
    int *t = calloc((n + 1) * w, sizeof *t); /* [n+1][m+1] LCS lengths */
    if (!t) return -2;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++)
            t[i * w + j] = x->id[i - 1] == y->id[j - 1] ? t[(i - 1) * w + j - 1] + 1
                           : t[(i - 1) * w + j] > t[i * w + j - 1] ? t[(i - 1) * w + j] : t[i * w + j - 1];
    /* _recon's path, counted in calls (the last one at i == 0 or j == 0) */
    size_t i = n, j = m, calls = 1;
    while (i > 0 && j > 0) {
        calls++;
        if (x->id[i - 1] == y->id[j - 1]) i--, j--;
        else if (t[(i - 1) * w + j] > t[i * w + j - 1]) i--;
        else j--;
    }
    if (calls > LB_ROUGE_MAX_RECON_CALLS) {
        free(t);
        return -1;
    }
    i = n, j = m;
    while (i > 0 && j > 0) {
        if (x->id[i - 1] == y->id[j - 1]) mark[x->id[i - 1]] = 1, i--, j--;
        else if (t[(i - 1) * w + j] > t[i * w + j - 1]) i--;
        else j--;
    }
    free(t);
    return 0;
}

int lb_rouge_score(const char *pred, const char *gt, double *out, duo_error *err) {
    size_t maxlists = strlen(pred) + strlen(gt) + 2, nlists = 0, nw = 0, cap = 64;
    wordlist *lists = calloc(maxlists, sizeof *lists);
    char **words = malloc(cap * sizeof *words);
    sentences hyp = {0}, ref = {0};
    unsigned char *mark = NULL, *seen = NULL;
    int rc = -2;
    if (!lists || !words || split_sentences(pred, &hyp, &words, &nw, &cap, &lists, &nlists) ||
        split_sentences(gt, &ref, &words, &nw, &cap, &lists, &nlists))
        goto done;
    *out = 0;
    rc = 0;
    if (!hyp.n || !ref.n) goto done; /* "Hypothesis is empty." / "Reference is empty." raised: 0 */
    char **sorted = malloc((nw + 1) * sizeof *sorted);
    if (!sorted) {
        rc = -2;
        goto done;
    }
    memcpy(sorted, words, nw * sizeof *sorted);
    qsort(sorted, nw, sizeof *sorted, cmp_str);
    size_t u = 0;
    for (size_t k = 0; k < nw; k++)
        if (!u || strcmp(sorted[k], sorted[u - 1])) sorted[u++] = sorted[k];
    size_t at = 0;
    for (int side = 0; side < 2; side++) {
        sentences *ss = side ? &ref : &hyp;
        for (size_t k = 0; k < ss->n; k++)
            for (size_t q = 0; q < ss->s[k].n; q++) ss->s[k].id[q] = intern(sorted, u, words[at++]);
    }
    free(sorted);
    mark = calloc(u + 1, 1);
    seen = calloc(u + 1, 1);
    if (!mark || !seen) {
        rc = -2;
        goto done;
    }
    size_t m = 0, n = 0, llcs = 0; /* distinct words of the reference, of the hypothesis; union LCS */
    for (size_t k = 0; k < ref.n; k++)
        for (size_t q = 0; q < ref.s[k].n; q++) m += !seen[ref.s[k].id[q]], seen[ref.s[k].id[q]] = 1;
    memset(seen, 0, u + 1);
    for (size_t k = 0; k < hyp.n; k++)
        for (size_t q = 0; q < hyp.s[k].n; q++) n += !seen[hyp.s[k].id[q]], seen[hyp.s[k].id[q]] = 1;
    for (size_t r = 0; r < ref.n && !rc; r++)
        for (size_t h = 0; h < hyp.n && !rc; h++) rc = recon_lcs(&ref.s[r], &hyp.s[h], mark);
    if (rc == -1) { /* RecursionError: 0 */
        rc = 0;
        goto done;
    }
    if (rc) goto done;
    for (size_t k = 0; k < u; k++) llcs += mark[k];
    double r_lcs = (double)llcs / (double)m, p_lcs = (double)llcs / (double)n;
    *out = 2.0 * ((p_lcs * r_lcs) / (p_lcs + r_lcs + 1e-8));
done:
    for (size_t k = 0; k < hyp.n; k++) free(hyp.s[k].id);
    for (size_t k = 0; k < ref.n; k++) free(ref.s[k].id);
    free(hyp.s);
    free(ref.s);
    for (size_t k = 0; k < nlists; k++) wordlist_free(&lists[k]);
    free(lists);
    free(words);
    free(mark);
    free(seen);
    return rc ? duo_fail(err, "rouge_score: out of memory") : 0;
}

/* ---- classification, retrieval, count ---- */

int lb_classification_score(const char *pred, const char *gt, const char *const *all_classes, size_t n,
                            double *out, duo_error *err) {
    if (!all_classes) return duo_fail(err, "classification_score: the record has no all_classes");
    const char **em = malloc((n + 1) * sizeof *em); /* em_match_list */
    if (!em) return duo_fail(err, "classification_score: out of memory");
    size_t ne = 0;
    for (size_t k = 0; k < n; k++)
        if (strstr(pred, all_classes[k])) em[ne++] = all_classes[k];
    /* `for t in em: if t in gt and t != gt: em.remove(t)`: the list's iterator is an index, and
     * remove() takes the first equal entry, so the entry after a removed one is not visited. */
    for (size_t i = 0; i < ne; i++) {
        const char *t = em[i];
        if (strstr(gt, t) && strcmp(t, gt)) {
            size_t k = 0;
            while (strcmp(em[k], t)) k++;
            memmove(em + k, em + k + 1, (ne - k - 1) * sizeof *em);
            ne--;
        }
    }
    int in = 0;
    for (size_t k = 0; k < ne && !in; k++) in = !strcmp(em[k], gt);
    *out = in ? 1.0 / (double)ne : 0.0;
    free(em);
    return 0;
}

/* The runs of \d+ (Unicode Nd) in s: returns how many, *equal how many equal want[0..want_len). */
static size_t digit_runs(const char *s, const char *want, size_t want_len, size_t *equal) {
    size_t len = strlen(s), runs = 0;
    *equal = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t step = pytext_next(s + i, len - i, &cp);
        if (!is_decimal(cp)) {
            i += step;
            continue;
        }
        size_t start = i;
        while (i < len) {
            step = pytext_next(s + i, len - i, &cp);
            if (!is_decimal(cp)) break;
            i += step;
        }
        runs++;
        *equal += i - start == want_len && !memcmp(s + start, want, want_len);
    }
    return runs;
}

int lb_count_score(const char *pred, const char *gt, double *out, duo_error *err) {
    (void)err;
    size_t right, numbers = digit_runs(pred, gt, strlen(gt), &right);
    *out = numbers ? (double)right / (double)numbers : 0.0;
    return 0;
}

int lb_retrieval_score(const char *pred, const char *gt, double *out, duo_error *err) {
    /* re.findall(r'Paragraph (\d+)', gt)[0]: the first "Paragraph " followed by a decimal run */
    size_t len = strlen(gt);
    for (const char *p = strstr(gt, "Paragraph "); p; p = strstr(p + 1, "Paragraph ")) {
        const char *d = p + 10, *e = d;
        uint32_t cp;
        while ((size_t)(e - gt) < len) {
            size_t step = pytext_next(e, len - (size_t)(e - gt), &cp);
            if (!is_decimal(cp)) break;
            e += step;
        }
        if (e == d) continue;
        size_t right, numbers = digit_runs(pred, d, (size_t)(e - d), &right);
        *out = numbers ? (double)right / (double)numbers : 0.0;
        return 0;
    }
    return duo_fail(err, "retrieval_score: the answer \"%.80s\" has no \"Paragraph N\" (the reference raises "
                         "IndexError)", gt);
}

/* ---- code similarity (fuzzywuzzy on difflib) ---- */

typedef struct {
    uint32_t cp;
    size_t j;
} b_entry;

static int cmp_entry(const void *x, const void *y) {
    const b_entry *a = x, *b = y;
    if (a->cp != b->cp) return a->cp < b->cp ? -1 : 1;
    return a->j < b->j ? -1 : a->j > b->j;
}

typedef struct {
    const uint32_t *a, *b;
    size_t la, lb;
    b_entry *b2j; /* [lb] (cp, j) sorted, popular elements dropped */
    size_t nb2j;
    size_t *len_prev, *len_cur, *stamp_prev, *stamp_cur; /* [lb] j2len rows, valid where stamp == row */
    size_t row;
} matcher;

typedef struct {
    size_t i, j, k;
} match;

/* difflib's find_longest_match over a[alo:ahi], b[blo:bhi] (no isjunk: bjunk is empty, so only the
 * first pair of extension loops can grow the match, through popular elements). */
static match longest_match(matcher *M, size_t alo, size_t ahi, size_t blo, size_t bhi) {
    size_t besti = alo, bestj = blo, bestsize = 0;
    M->row += 2;
    size_t prev_row = M->row - 1; /* an empty previous row */
    for (size_t i = alo; i < ahi; i++) {
        size_t cur_row = ++M->row;
        /* the entries of a[i] */
        size_t lo = 0, hi = M->nb2j;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (M->b2j[mid].cp < M->a[i]) lo = mid + 1;
            else hi = mid;
        }
        for (size_t e = lo; e < M->nb2j && M->b2j[e].cp == M->a[i]; e++) {
            size_t j = M->b2j[e].j;
            if (j < blo) continue;
            if (j >= bhi) break;
            size_t k = (j > 0 && M->stamp_prev[j - 1] == prev_row ? M->len_prev[j - 1] : 0) + 1;
            M->len_cur[j] = k;
            M->stamp_cur[j] = cur_row;
            if (k > bestsize) besti = i - k + 1, bestj = j - k + 1, bestsize = k;
        }
        size_t *t = M->len_prev;
        M->len_prev = M->len_cur, M->len_cur = t;
        t = M->stamp_prev;
        M->stamp_prev = M->stamp_cur, M->stamp_cur = t;
        prev_row = cur_row;
    }
    while (besti > alo && bestj > blo && M->a[besti - 1] == M->b[bestj - 1]) besti--, bestj--, bestsize++;
    while (besti + bestsize < ahi && bestj + bestsize < bhi && M->a[besti + bestsize] == M->b[bestj + bestsize])
        bestsize++;
    return (match){besti, bestj, bestsize};
}

static int difflib_ratio_cps(const cps *A, const cps *B, double *out) {
    size_t la = A->n, lb = B->n;
    if (!la && !lb) {
        *out = 1.0;
        return 0;
    }
    matcher M = {A->c, B->c, la, lb, NULL, 0, NULL, NULL, NULL, NULL, 0};
    M.b2j = malloc((lb + 1) * sizeof *M.b2j);
    M.len_prev = calloc(lb + 1, sizeof(size_t));
    M.len_cur = calloc(lb + 1, sizeof(size_t));
    M.stamp_prev = calloc(lb + 1, sizeof(size_t));
    M.stamp_cur = calloc(lb + 1, sizeof(size_t));
    size_t qcap = 2 * (la + lb) + 4, nq = 1, total = 0;
    size_t(*queue)[4] = malloc(qcap * sizeof *queue);
    int rc = -1;
    if (!M.b2j || !M.len_prev || !M.len_cur || !M.stamp_prev || !M.stamp_cur || !queue) goto done;
    for (size_t j = 0; j < lb; j++) M.b2j[j] = (b_entry){B->c[j], j};
    qsort(M.b2j, lb, sizeof *M.b2j, cmp_entry);
    /* autojunk: with 200 or more elements, those occurring more than len / 100 + 1 times are popular */
    size_t keep = 0;
    for (size_t e = 0; e < lb;) {
        size_t f = e;
        while (f < lb && M.b2j[f].cp == M.b2j[e].cp) f++;
        int popular = lb >= 200 && f - e > lb / 100 + 1;
        for (size_t k = e; k < f && !popular; k++) M.b2j[keep++] = M.b2j[k];
        e = f;
    }
    M.nb2j = keep;
    /* get_matching_blocks: the sum of the block sizes is all ratio() needs, and it does not depend on
     * the queue's order (each region's split is fixed) */
    queue[0][0] = 0, queue[0][1] = la, queue[0][2] = 0, queue[0][3] = lb;
    while (nq) {
        nq--;
        size_t alo = queue[nq][0], ahi = queue[nq][1], blo = queue[nq][2], bhi = queue[nq][3];
        match x = longest_match(&M, alo, ahi, blo, bhi);
        if (!x.k) continue;
        total += x.k;
        if (alo < x.i && blo < x.j) queue[nq][0] = alo, queue[nq][1] = x.i, queue[nq][2] = blo, queue[nq][3] = x.j, nq++;
        if (x.i + x.k < ahi && x.j + x.k < bhi)
            queue[nq][0] = x.i + x.k, queue[nq][1] = ahi, queue[nq][2] = x.j + x.k, queue[nq][3] = bhi, nq++;
    }
    *out = 2.0 * (double)total / (double)(la + lb);
    rc = 0;
done:
    free(M.b2j);
    free(M.len_prev);
    free(M.len_cur);
    free(M.stamp_prev);
    free(M.stamp_cur);
    free(queue);
    return rc;
}

int lb_difflib_ratio(const char *a, const char *b, double *out, duo_error *err) {
    cps A, B = {0};
    int rc = decode(a, &A) || decode(b, &B) || difflib_ratio_cps(&A, &B, out);
    free(A.c);
    free(B.c);
    return rc ? duo_fail(err, "difflib ratio: out of memory") : 0;
}

int lb_fuzz_ratio(const char *a, const char *b, int *out, duo_error *err) {
    if (!strcmp(a, b)) {
        *out = 100;
        return 0;
    }
    if (!*a || !*b) {
        *out = 0;
        return 0;
    }
    double r;
    if (lb_difflib_ratio(a, b, &r, err)) return -1;
    *out = (int)nearbyint(100 * r); /* Python round(): half to even */
    return 0;
}

int lb_code_sim_score(const char *pred, const char *gt, double *out, duo_error *err) {
    while (*pred == '\n') pred++;
    const char *line = "";
    size_t line_len = 0;
    for (const char *p = pred;;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (!memchr(p, '`', l) && !memchr(p, '#', l)) {
            int slashes = 0;
            for (size_t k = 0; k + 1 < l && !slashes; k++) slashes = p[k] == '/' && p[k + 1] == '/';
            if (!slashes) {
                line = p, line_len = l;
                break;
            }
        }
        if (!nl) break;
        p = nl + 1;
    }
    char *first = malloc(line_len + 1);
    if (!first) return duo_fail(err, "code_sim_score: out of memory");
    memcpy(first, line, line_len);
    first[line_len] = 0;
    int ratio = 0;
    int rc = lb_fuzz_ratio(first, gt, &ratio, err);
    free(first);
    if (!rc) *out = (double)ratio / 100;
    return rc;
}

int lb_metric_score(lb_metric m, const char *pred, const char *gt, const char *const *all_classes, size_t n,
                    double *out, duo_error *err) {
    switch (m) {
    case LB_QA_F1: return lb_qa_f1_score(pred, gt, out, err);
    case LB_ROUGE: return lb_rouge_score(pred, gt, out, err);
    case LB_CLASSIFICATION: return lb_classification_score(pred, gt, all_classes, n, out, err);
    case LB_RETRIEVAL: return lb_retrieval_score(pred, gt, out, err);
    case LB_COUNT: return lb_count_score(pred, gt, out, err);
    case LB_CODE_SIM: return lb_code_sim_score(pred, gt, out, err);
    }
    return duo_fail(err, "unknown LongBench metric %d", (int)m);
}

/* ---- eval.py's scorer ---- */

/* Python str.strip(): whitespace off both ends, in place (returns the new start). */
static char *py_strip(char *s) {
    size_t len = strlen(s), start = 0, end = len;
    while (start < len) {
        uint32_t cp;
        size_t step = pytext_next(s + start, len - start, &cp);
        if (!pytext_is_space(cp)) break;
        start += step;
    }
    while (end > start) { /* step back over one character */
        size_t k = end - 1;
        while (k > start && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
        uint32_t cp;
        pytext_next(s + k, end - k, &cp);
        if (!pytext_is_space(cp)) break;
        end = k;
    }
    s[end] = 0;
    return s + start;
}

char *lb_py_strip(const char *s) {
    char *c = strdup(s);
    if (!c) return NULL;
    char *p = py_strip(c);
    memmove(c, p, strlen(p) + 1);
    return c;
}

char *lb_clean_prediction(const char *dataset, const char *pred, int longbench_e) {
    char *s = strdup(pred);
    if (!s) return NULL;
    char *p = s;
    if (!longbench_e) {
        static const char *const cuts[] = {".assistant", "\n\nQuestion", "</s>", "(Document", "\n\nAnswer", "(Passage"};
        for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
            char *hit = strstr(p, cuts[k]);
            if (hit) *hit = 0;
        }
        p = py_strip(p);
    }
    if (lb_first_line_dataset(dataset)) {
        while (*p == '\n') p++;
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
    }
    memmove(s, p, strlen(p) + 1);
    return s;
}

int lb_record_score(const char *dataset, lb_metric m, int longbench_e, const char *pred,
                    const char *const *answers, size_t n_answers, const char *const *all_classes, size_t n_classes,
                    double *out, duo_error *err) {
    char *clean = lb_clean_prediction(dataset, pred, longbench_e);
    if (!clean) return duo_fail(err, "out of memory");
    double score = 0.0;
    for (size_t k = 0; k < n_answers; k++) {
        double s;
        if (lb_metric_score(m, clean, answers[k], all_classes, n_classes, &s, err)) {
            free(clean);
            return -1;
        }
        if (s > score) score = s;
    }
    free(clean);
    *out = score;
    return 0;
}

double lb_round2(double x) {
    if (!isfinite(x)) return x;
    char buf[512];
    snprintf(buf, sizeof buf, "%.2f", x); /* glibc rounds the exact binary value, half to even */
    return strtod(buf, NULL);
}

double lb_dataset_score(const double *scores, size_t n) {
    if (!n) return NAN;
    double total = 0.0;
    for (size_t k = 0; k < n; k++) total += scores[k];
    return lb_round2(100 * total / (double)n);
}

/* numpy's pairwise_sum (numpy/_core/src/umath/loops_utils.h.src) */
static double pairwise(const double *a, size_t n) {
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int k = 0; k < 8; k++) r[k] = a[k];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; k++) r[k] += a[i + k];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

double lb_numpy_sum(const double *v, size_t n) { return pairwise(v, n); }

double lb_bucket_score(const double *scores, size_t n) {
    if (!n) return NAN;
    return lb_round2(100 * (lb_numpy_sum(scores, n) / (double)n));
}

int lb_length_bucket(long long length) { return length < 4000 ? 0 : length < 8000 ? 1 : 2; }
