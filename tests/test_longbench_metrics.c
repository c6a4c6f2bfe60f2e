/* LongBench's metrics against the real ones: tests/fixtures/longbench/metric_refs.jsonl.gz holds the
 * per-pair scores, per-record scores and dataset scores (eval.py scorer() and scorer_e()) that LongBench's
 * metrics.py and duo-attention's eval.py give on generated records (scripts/gen_longbench_refs.py). */
#include <jansson.h>
#include <zlib.h>

#include "eval/longbench_metrics.h"
#include "eval/pytext.h"
#include "harness.h"

#define REFS "tests/fixtures/longbench/metric_refs.jsonl.gz"

static char *read_gz(const char *path, size_t *len) {
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    int got;
    while (buf && (got = gzread(f, buf + n, (unsigned)(cap - n - 1))) > 0) {
        n += (size_t)got;
        if (cap - n < 2) {
            char *g = realloc(buf, cap *= 2);
            if (!g) free(buf);
            buf = g;
        }
    }
    gzclose(f);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

/* Strings of a JSON array (NULL for null); *n their count. */
static const char **strings(json_t *a, size_t *n) {
    *n = 0;
    if (!json_is_array(a)) return NULL;
    const char **s = malloc((json_array_size(a) + 1) * sizeof *s);
    for (size_t i = 0; i < json_array_size(a); i++) s[(*n)++] = json_string_value(json_array_get(a, i));
    return s;
}

static int same(double a, double b) { return a == b || fabs(a - b) <= 1e-12; }

TEST(every_pair_and_dataset_matches_longbench) {
    size_t len = 0;
    char *text = read_gz(REFS, &len);
    CHECK_MSG(text != NULL, "cannot read %s", REFS);
    size_t pairs = 0, datasets = 0, bad_pairs = 0, numpy_sums = 0;
    char first_bad[600] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *d = json_loads(line, 0, &je);
        CHECK_MSG(d != NULL, "%s: %s", REFS, je.text);
        const char *ds = json_string_value(json_object_get(d, "dataset"));
        if (!ds) { /* the numpy sums line */
            json_t *sums = json_object_get(d, "numpy_sums");
            for (size_t k = 0; k < json_array_size(sums); k++) {
                json_t *e = json_array_get(sums, k), *v = json_object_get(e, "values");
                size_t n = json_array_size(v);
                double *x = malloc(n * sizeof *x);
                for (size_t q = 0; q < n; q++) x[q] = json_real_value(json_array_get(v, q));
                double got = lb_numpy_sum(x, n), want = json_real_value(json_object_get(e, "sum"));
                double mean = got / (double)n, want_mean = json_real_value(json_object_get(e, "mean"));
                free(x);
                CHECK_MSG(got == want && mean == want_mean, "numpy sum of %zu values: %.17g, numpy %.17g", n, got, want);
                numpy_sums++;
            }
            json_decref(d);
            continue;
        }
        lb_metric m;
        duo_error err = {{0}};
        CHECK_MSG(lb_dataset_metric(ds, &m, &err) == 0, "%.300s", err.msg);
        json_t *recs = json_object_get(d, "records");
        size_t n = json_array_size(recs);
        double *score = malloc(n * sizeof *score), *score_e = malloc(n * sizeof *score_e);
        double *bucket[3];
        size_t nb[3] = {0, 0, 0};
        for (int b = 0; b < 3; b++) bucket[b] = malloc(n * sizeof(double));
        for (size_t r = 0; r < n; r++) {
            json_t *rec = json_array_get(recs, r);
            const char *pred = json_string_value(json_object_get(rec, "pred"));
            size_t na, nc;
            const char **ans = strings(json_object_get(rec, "answers"), &na);
            const char **cls = strings(json_object_get(rec, "all_classes"), &nc);
            for (int e = 0; e < 2; e++) {
                char *clean = lb_clean_prediction(ds, pred, e);
                json_t *want = json_object_get(rec, e ? "pair_scores_e" : "pair_scores");
                for (size_t k = 0; k < na; k++) {
                    double got = -1;
                    CHECK_MSG(lb_metric_score(m, clean, ans[k], cls, nc, &got, &err) == 0, "%.300s", err.msg);
                    double w = json_real_value(json_array_get(want, k)) + (double)json_integer_value(json_array_get(want, k));
                    pairs++;
                    if (!same(got, w)) {
                        if (!bad_pairs++)
                            snprintf(first_bad, sizeof first_bad, "%s record %zu answer %zu%s: %.17g, LongBench %.17g "
                                     "(pred \"%.120s\", answer \"%.120s\")", ds, r, k, e ? " (-E)" : "", got, w, clean, ans[k]);
                    }
                }
                free(clean);
                double rs = -1;
                CHECK_MSG(lb_record_score(ds, m, e, pred, ans, na, cls, nc, &rs, &err) == 0, "%.300s", err.msg);
                double w = json_number_value(json_object_get(rec, e ? "score_e" : "score"));
                CHECK_MSG(same(rs, w), "%s record %zu%s: record score %.17g, LongBench %.17g", ds, r, e ? " (-E)" : "", rs, w);
                if (e) score_e[r] = rs;
                else score[r] = rs;
            }
            int b = lb_length_bucket(json_integer_value(json_object_get(rec, "length")));
            bucket[b][nb[b]++] = score_e[r];
            free(ans);
            free(cls);
        }
        double ds_score = lb_dataset_score(score, n), want = json_number_value(json_object_get(d, "scorer"));
        CHECK_MSG(ds_score == want, "%s: dataset score %.17g, eval.py scorer() %.17g", ds, ds_score, want);
        static const char *const keys[3] = {"0-4k", "4-8k", "8k+"};
        for (int b = 0; b < 3; b++) {
            double got = lb_bucket_score(bucket[b], nb[b]);
            double w = json_number_value(json_object_get(json_object_get(d, "scorer_e"), keys[b]));
            CHECK_MSG(got == w, "%s %s: %.17g, eval.py scorer_e() %.17g (%zu records)", ds, keys[b], got, w, nb[b]);
            free(bucket[b]);
        }
        free(score);
        free(score_e);
        json_decref(d);
        datasets++;
    }
    free(text);
    CHECK_MSG(bad_pairs == 0, "%zu of %zu pairs differ; first: %s", bad_pairs, pairs, first_bad);
    CHECK_MSG(pairs >= 2000 && datasets == 16 && numpy_sums >= 10, "only %zu pairs over %zu datasets, %zu numpy sums",
              pairs, datasets, numpy_sums);
}

/* In [lo, hi] pairs sorted by lo. */
static int in_ranges(json_t *r, uint32_t cp) {
    size_t lo = 0, hi = json_array_size(r);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        json_t *p = json_array_get(r, mid);
        if ((json_int_t)cp < json_integer_value(json_array_get(p, 0))) hi = mid;
        else if ((json_int_t)cp > json_integer_value(json_array_get(p, 1))) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static size_t put_utf8(uint32_t cp, char *o) {
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000)
        return o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 63)), o[2] = (char)(0x80 | (cp & 63)), 3;
    o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 63)), o[2] = (char)(0x80 | ((cp >> 6) & 63));
    o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Python's \w, \d, isspace() and lower() on every code point Python 3.11's Unicode (14.0) assigns
 * (tests/fixtures/longbench/unicode_refs.json.gz); utf8proc may know newer characters, which are left out. */
TEST(character_properties_are_pythons) {
    size_t len = 0;
    char *text = read_gz("tests/fixtures/longbench/unicode_refs.json.gz", &len);
    CHECK(text != NULL);
    json_error_t je;
    json_t *u = json_loads(text, 0, &je);
    free(text);
    CHECK_MSG(u != NULL, "%s", je.text);
    json_t *assigned = json_object_get(u, "assigned"), *word = json_object_get(u, "word");
    json_t *digit = json_object_get(u, "digit"), *space = json_object_get(u, "space"), *lower = json_object_get(u, "lower");
    size_t bad = 0, checked = 0, li = 0;
    char first[200] = "";
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        /* the expected lowercase: the listed mapping, else the character itself */
        json_t *m = li < json_array_size(lower) ? json_array_get(lower, li) : NULL;
        json_t *want_lower = NULL;
        if (m && json_integer_value(json_array_get(m, 0)) == (json_int_t)cp) want_lower = json_array_get(m, 1), li++;
        if (!in_ranges(assigned, cp)) continue;
        checked++;
        char in[8], want[32], *w = want;
        in[put_utf8(cp, in)] = 0;
        if (want_lower)
            for (size_t k = 0; k < json_array_size(want_lower); k++)
                w += put_utf8((uint32_t)json_integer_value(json_array_get(want_lower, k)), w);
        else w += put_utf8(cp, w);
        *w = 0;
        char *got = lb_py_lower(in);
        int ok = got && !strcmp(got, want) && lb_py_is_word(cp) == in_ranges(word, cp) &&
                 lb_py_is_decimal(cp) == in_ranges(digit, cp) && pytext_is_space(cp) == (bool)in_ranges(space, cp);
        free(got);
        if (!ok && !bad++)
            snprintf(first, sizeof first, "U+%04X: word %d/%d digit %d/%d space %d/%d lower", cp, lb_py_is_word(cp),
                     in_ranges(word, cp), lb_py_is_decimal(cp), in_ranges(digit, cp), pytext_is_space(cp),
                     in_ranges(space, cp));
    }
    json_decref(u);
    CHECK_MSG(bad == 0 && checked > 100000, "%zu of %zu code points differ from Python; first %s", bad, checked, first);
}

TEST(python_lowercasing_and_normalize_answer) {
    char *s = lb_py_lower("İSTANBUL ΟΔΥΣΣΕΥΣ. ΣΑ Σ");
    CHECK_MSG(s && !strcmp(s, "i\xcc\x87stanbul οδυσσευς. σα σ"), "lower gave \"%s\"", s);
    free(s);
    s = lb_normalize_answer("The cat, an  apple\u3000and A dog's bone; theatre_a a_the");  /* "_" is in string.punctuation */
    CHECK_MSG(s && !strcmp(s, "cat apple and dogs bone theatrea athe"), "normalize_answer gave \"%s\"", s);
    free(s);
}

TEST(fuzz_ratio_known_values) {
    int r = -1;
    duo_error err = {{0}};
    CHECK(lb_fuzz_ratio("", "", &r, &err) == 0 && r == 100); /* check_for_equivalence comes first */
    CHECK(lb_fuzz_ratio("", "x", &r, &err) == 0 && r == 0);
    CHECK(lb_fuzz_ratio("abcd", "bcde", &r, &err) == 0 && r == 75);
    CHECK(lb_fuzz_ratio("ab", "abcdef", &r, &err) == 0 && r == 50);
    double d = 0;
    CHECK(lb_difflib_ratio("abxcd", "abcd", &d, &err) == 0 && d == 2.0 * 4 / 9);
}

TEST(classification_prunes_as_the_reference_loop) {
    /* "a" and "ab" both match and both are inside the answer "abc": removing "a" skips "ab" */
    const char *cls[] = {"a", "ab", "abc"};
    double s = -1;
    duo_error err = {{0}};
    CHECK(lb_classification_score("a ab abc", "abc", cls, 3, &s, &err) == 0 && s == 0.5);
    CHECK(lb_classification_score("nothing", "abc", cls, 3, &s, &err) == 0 && s == 0.0);
    CHECK(lb_classification_score("x", "abc", NULL, 0, &s, &err) == -1);
}

TEST(retrieval_without_paragraph_is_an_error) {
    double s;
    duo_error err = {{0}};
    CHECK(lb_retrieval_score("Paragraph 3", "the third", &s, &err) == -1);
    CHECK_MSG(strstr(err.msg, "the third") != NULL, "%.300s", err.msg);
    CHECK(lb_retrieval_score("Paragraph 3, not 33", "Paragraph 3", &s, &err) == 0 && s == 0.5);
}

TEST(jieba_datasets_are_refused_by_name) {
    lb_metric m;
    duo_error err = {{0}};
    CHECK(lb_dataset_metric("dureader", &m, &err) == -1);
    CHECK_MSG(strstr(err.msg, "jieba") && strstr(err.msg, "dureader"), "%.300s", err.msg);
    CHECK(lb_dataset_metric("nosuch", &m, &err) == -1);
    CHECK(lb_dataset_metric("repobench-p", &m, &err) == 0 && m == LB_CODE_SIM);
}

TEST(rounding_is_pythons) {
    CHECK(lb_round2(0.125) == 0.12); /* exact binary tie: half to even */
    CHECK(lb_round2(2.675) == 2.67); /* 2.675 is below the tie in binary */
    CHECK(isnan(lb_bucket_score(NULL, 0)));
}

TEST_MAIN()
