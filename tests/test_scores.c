/* The evaluation scores (eval/scores.h) against the packages the DuoAttention reference scores with:
 * ROUGE-1 F (and P, R, the stemmed tokens) against rouge_score, stems against NLTK's PorterStemmer,
 * the plot's overlap score against visualize.py's formula, all from tests/fixtures/score_refs/
 * (scripts/gen_score_refs.py); passkey scores and edge cases by hand. */
#include <jansson.h>

#include "eval/porter.h"
#include "eval/scores.h"
#include "tests/harness.h"

#define REFS "tests/fixtures/score_refs/score_refs.json"

static json_t *load_refs(test_ctx *t) {
    json_error_t jerr;
    json_t *root = json_load_file(REFS, 0, &jerr);
    if (!root) {
        snprintf(t->msg, sizeof t->msg, "%s: %s (line %d)", REFS, jerr.text, jerr.line);
        t->failed = 1;
        return NULL;
    }
    return root;
}

TEST(rouge1_equals_rouge_score) {
    json_t *root = load_refs(t);
    if (!root) return;
    const char *needle = json_string_value(json_object_get(root, "needle"));
    json_t *cases = json_object_get(root, "rouge");
    size_t n = json_array_size(cases), bad = 0;
    double maxdev = 0;
    char first[700] = "";
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cases, i);
        json_t *jt = json_object_get(c, "target");
        const char *target = jt ? json_string_value(jt) : needle;
        const char *pred = json_string_value(json_object_get(c, "prediction"));
        duo_rouge r;
        duo_error err = {{0}};
        if (!target || !pred || duo_rouge1(target, pred, &r, &err)) {
            json_decref(root);
            FAILF("case %zu: %.300s", i, err.msg);
        }
        double want[3] = {json_number_value(json_object_get(c, "precision")),
                          json_number_value(json_object_get(c, "recall")),
                          json_number_value(json_object_get(c, "fmeasure"))};
        double got[3] = {r.precision, r.recall, r.fmeasure};
        for (int k = 0; k < 3; k++) {
            double d = fabs(got[k] - want[k]);
            if (!(d <= maxdev)) maxdev = d;
            if (!(d <= 1e-12) && !bad++)
                snprintf(first, sizeof first, "case %zu (\"%.200s\"): %s %.17g, rouge_score %.17g", i, pred,
                         k == 0 ? "precision" : k == 1 ? "recall" : "F", got[k], want[k]);
        }
    }
    json_decref(root);
    fprintf(stderr, "rouge1: %zu cases, max |ours - rouge_score| over P, R, F = %.3g\n", n, maxdev);
    CHECK_MSG(n >= 300, "only %zu rouge cases", n);
    CHECK_MSG(bad == 0, "%zu of %zu values off by more than 1e-12 (max %.3g); first: %s", bad, 3 * n, maxdev, first);
}

TEST(rouge_tokens_equal_rouge_score) {
    json_t *root = load_refs(t);
    if (!root) return;
    json_t *cases = json_object_get(root, "rouge");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i), *want = json_object_get(c, "tokens");
        const char *pred = json_string_value(json_object_get(c, "prediction"));
        char **tok;
        size_t nt;
        duo_error err = {{0}};
        if (duo_rouge_tokenize(pred, true, &tok, &nt, &err)) {
            json_decref(root);
            FAILF("case %zu: %.300s", i, err.msg);
        }
        int same = nt == json_array_size(want);
        size_t k = 0;
        for (; same && k < nt; k++) same = !strcmp(tok[k], json_string_value(json_array_get(want, k)));
        char msg[400];
        snprintf(msg, sizeof msg, "case %zu (\"%.120s\"): %zu tokens (want %zu), differ at %zu: \"%s\"", i, pred, nt,
                 json_array_size(want), k ? k - 1 : 0, nt ? tok[k ? k - 1 : 0] : "");
        free(tok);
        if (!same) {
            json_decref(root);
            FAILF("%s", msg);
        }
    }
    json_decref(root);
}

TEST(porter_equals_nltk) {
    json_t *root = load_refs(t);
    if (!root) return;
    json_t *stems = json_object_get(root, "stems");
    size_t n = json_array_size(stems), bad = 0;
    char first[300] = "";
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(stems, i);
        const char *w = json_string_value(json_array_get(p, 0)), *want = json_string_value(json_array_get(p, 1));
        char out[256];
        size_t len = strlen(w);
        if (len >= sizeof out) continue;
        size_t got = duo_porter_stem(w, len, out);
        if ((got != strlen(want) || strcmp(out, want)) && !bad++)
            snprintf(first, sizeof first, "\"%s\" -> \"%s\", nltk \"%s\"", w, out, want);
    }
    json_decref(root);
    CHECK_MSG(n > 1000, "only %zu stems", n);
    CHECK_MSG(bad == 0, "%zu of %zu stems differ; first %s", bad, n, first);
}

/* A few of the rules where NLTK's default mode differs from the published Porter algorithm. */
TEST(porter_nltk_extensions) {
    static const char *const cases[][2] = {
        {"they", "they"},   {"today", "today"}, {"enjoy", "enjoy"}, {"happy", "happi"},  {"using", "use"},
        {"ages", "age"},    {"ties", "tie"},    {"died", "die"},    {"spied", "spi"},    {"skies", "sky"},
        {"dying", "die"},   {"news", "news"},   {"succeed", "succeed"}, {"possibly", "possibl"},
        {"carefully", "care"}, {"technology", "technolog"}, {"eating", "eat"}, {"dining", "dine"},
        {"sandwiches", "sandwich"}, {"sunny", "sunni"}, {"remember", "rememb"}, {"francisco", "francisco"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        duo_porter_stem(cases[i][0], strlen(cases[i][0]), out);
        CHECK_MSG(!strcmp(out, cases[i][1]), "\"%s\" -> \"%s\", want \"%s\"", cases[i][0], out, cases[i][1]);
    }
}

TEST(niah_rouge_score_is_f_times_10) {
    double s;
    duo_error err = {{0}};
    CHECK(duo_niah_rouge_score(DUO_NIAH_NEEDLE, DUO_NIAH_NEEDLE, &s, &err) == 0);
    CHECK_CLOSE(s, 10.0, 0);
    CHECK(duo_niah_rouge_score(DUO_NIAH_NEEDLE, "", &s, &err) == 0);
    CHECK(s == 0.0);
    /* the needle has 22 tokens; "eat a sandwich" shares 3: P = 1, R = 3/22, F = 2R / (1 + R) = 6/25 */
    CHECK(duo_niah_rouge_score(DUO_NIAH_NEEDLE, "Eat a sandwich!", &s, &err) == 0);
    CHECK_CLOSE(s, 2.4, 1e-15);
    /* Bytes that are not UTF-8 separate tokens (a model's raw bytes may be cut mid-character). */
    char **tok;
    size_t n;
    CHECK(duo_rouge_tokenize("ab\xff" "cd\xe2\x82", false, &tok, &n, &err) == 0);
    int ok = n == 2 && !strcmp(tok[0], "ab") && !strcmp(tok[1], "cd");
    free(tok);
    CHECK(ok);
}

TEST(niah_overlap_equals_visualize_py) {
    json_t *root = load_refs(t);
    if (!root) return;
    json_t *cases = json_object_get(root, "overlap");
    size_t n = json_array_size(cases);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cases, i);
        const char *r = json_string_value(json_object_get(c, "response"));
        const char *a = json_string_value(json_object_get(c, "answer"));
        double want = json_number_value(json_object_get(c, "score")), got;
        duo_error err = {{0}};
        int rc = duo_niah_overlap_score(r, a, &got, &err);
        if (rc || got != want) {
            json_decref(root);
            FAILF("case %zu (\"%.100s\" vs \"%.60s\"): %.17g, visualize.py %.17g %.200s", i, r, a, got, want, err.msg);
        }
    }
    json_decref(root);
    CHECK(n >= 100);
}

TEST(niah_overlap_by_hand) {
    double s;
    duo_error err = {{0}};
    /* The reference's answer has 12 words, "a" twice, and "day." keeps its period: 11/12 at best. */
    CHECK(duo_niah_overlap_score(DUO_NIAH_PLOT_ANSWER, DUO_NIAH_PLOT_ANSWER, &s, &err) == 0);
    CHECK(s == 11.0 / 12.0);
    CHECK(duo_niah_overlap_score("eat a sandwich and sit in Dolores Park on a sunny day", DUO_NIAH_PLOT_ANSWER, &s, &err) == 0);
    CHECK(s == 10.0 / 12.0);
    CHECK(duo_niah_overlap_score("EAT eat Eat, park", DUO_NIAH_PLOT_ANSWER, &s, &err) == 0);
    CHECK(s == 2.0 / 12.0); /* "eat" once (a set), "eat," is not "eat" */
    CHECK(duo_niah_overlap_score("", DUO_NIAH_PLOT_ANSWER, &s, &err) == 0);
    CHECK(s == 0.0);
    CHECK(duo_niah_overlap_score("sunny\xc2\xa0" "day.", DUO_NIAH_PLOT_ANSWER, &s, &err) == 0);
    CHECK(s == 2.0 / 12.0); /* U+00A0 separates words in str.split() */
    CHECK(duo_niah_overlap_score("PAR\xe2\x84\xaa", DUO_NIAH_PLOT_ANSWER, &s, &err) == 0);
    CHECK(s == 1.0 / 12.0); /* KELVIN SIGN lowers to "k" */
    CHECK(duo_niah_overlap_score("x", " \n ", &s, &err) == -1);
    CHECK(strstr(err.msg, "no words"));
}

TEST(passkey_scores) {
    duo_passkey_score p;
    duo_error err = {{0}};
    CHECK(duo_score_passkey("alpha bravo charlie", "alpha bravo charlie", &p, &err) == 0);
    CHECK(p.exact && p.fraction == 1.0 && p.words_right == 3 && p.passkey_words == 3);
    /* words after the passkey's length do not count; leading/trailing whitespace does not matter */
    CHECK(duo_score_passkey("  alpha\nbravo charlie delta echo\n", "alpha bravo charlie", &p, &err) == 0);
    CHECK(p.exact && p.fraction == 1.0);
    /* position-wise: a shifted passkey is wrong everywhere */
    CHECK(duo_score_passkey("bravo charlie alpha", "alpha bravo charlie", &p, &err) == 0);
    CHECK(!p.exact && p.words_right == 0 && p.fraction == 0.0);
    CHECK(duo_score_passkey("alpha xray charlie", "alpha bravo charlie", &p, &err) == 0);
    CHECK(!p.exact && p.words_right == 2 && p.fraction == 2.0 / 3.0);
    /* too short: the missing words are wrong */
    CHECK(duo_score_passkey("alpha", "alpha bravo charlie delta", &p, &err) == 0);
    CHECK(!p.exact && p.words_right == 1 && p.fraction == 0.25);
    CHECK(duo_score_passkey("", "alpha", &p, &err) == 0);
    CHECK(!p.exact && p.fraction == 0.0);
    /* exact means byte for byte: case and punctuation count */
    CHECK(duo_score_passkey("Alpha bravo.", "alpha bravo", &p, &err) == 0);
    CHECK(!p.exact && p.words_right == 0);
    CHECK(duo_score_passkey("alpha", "  ", &p, &err) == -1);
    CHECK(strstr(err.msg, "no words"));
}

TEST_MAIN()
