/* NLTK's Porter stemmer (mode NLTK_EXTENSIONS), step by step.
 *
 * The word lives in a buffer w[0..k); every step may shorten it (no rule lengthens a word: the
 * longest replacement, "ate" for "at" in step 1b, follows the removal of "ed" or "ing").
 * Where NLTK's default mode differs from the published algorithm (marked NLTK below):
 *   - a table of irregular forms is looked up first (sky/skies, dying, lying, tying, news, ...);
 *   - step 1a: a four-letter word ending "ies" becomes "...ie" (ties -> tie, not ti);
 *   - step 1b: "ied" becomes "ie" in a four-letter word, else "i", and nothing else is tried;
 *   - step 1c: y -> i only after a consonant that is not the whole stem (enjoy stays, happy -> happi);
 *   - step 2: "alli" -> "al" is tried first and then step 2 again; "bli" -> "ble" (not "abli");
 *     "fulli" -> "ful"; "logi" -> "log" when the stem with its "l" has measure > 0;
 *   - *o also holds for a two-letter vowel-consonant stem (us -> use, ag -> age). */
#include "eval/porter.h"

#include <stdbool.h>
#include <string.h>

typedef struct {
    char *w;
    size_t k;
} word;

static bool is_vowel_letter(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* A 'y' is a consonant at the start of a word or after a vowel, a vowel after a consonant. */
static bool is_cons(const char *w, size_t i) {
    if (is_vowel_letter(w[i])) return false;
    if (w[i] != 'y') return true;
    bool negate = false;
    while (i > 0 && w[i] == 'y') {
        negate = !negate;
        i--;
    }
    return !is_vowel_letter(w[i]) != negate;
}

/* m in [C](VC){m}[V]: the number of vowel-to-consonant transitions in w[0..n). */
static int measure(const char *w, size_t n) {
    int m = 0;
    for (size_t i = 1; i < n; i++)
        if (!is_cons(w, i - 1) && is_cons(w, i)) m++;
    return m;
}

static bool contains_vowel(const char *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_cons(w, i)) return true;
    return false;
}

static bool ends_double_cons(const char *w, size_t n) {
    return n >= 2 && w[n - 1] == w[n - 2] && is_cons(w, n - 1);
}

/* *o: ends consonant-vowel-consonant, the last not w, x or y (NLTK: or is a two-letter vc). */
static bool ends_cvc(const char *w, size_t n) {
    if (n >= 3 && is_cons(w, n - 3) && !is_cons(w, n - 2) && is_cons(w, n - 1) && w[n - 1] != 'w' &&
        w[n - 1] != 'x' && w[n - 1] != 'y')
        return true;
    return n == 2 && !is_cons(w, 0) && is_cons(w, 1);
}

static bool ends_with(const word *x, const char *suf) {
    size_t s = strlen(suf);
    return x->k >= s && memcmp(x->w + x->k - s, suf, s) == 0;
}

/* Replaces the last `drop` letters by rep (never longer than drop + what was dropped before). */
static void replace_tail(word *x, size_t drop, const char *rep) {
    size_t r = strlen(rep);
    memcpy(x->w + x->k - drop, rep, r);
    x->k = x->k - drop + r;
}

typedef enum { C_NONE, C_M0, C_M1, C_ION, C_LOGI } cond;

typedef struct {
    const char *suffix, *rep;
    cond c;
} rule;

static bool holds(cond c, const char *w, size_t stem_len) {
    switch (c) {
    case C_NONE: return true;
    case C_M0: return measure(w, stem_len) > 0;
    case C_M1: return measure(w, stem_len) > 1;
    case C_ION: return measure(w, stem_len) > 1 && (w[stem_len - 1] == 's' || w[stem_len - 1] == 't');
    case C_LOGI: return measure(w, stem_len + 1) > 0; /* the stem keeps logi's "l" */
    }
    return false;
}

/* The first rule whose suffix matches decides: applied if its condition holds, else the word
 * stays as it is and no later rule is tried. */
static void apply_rules(word *x, const rule *rules, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!ends_with(x, rules[i].suffix)) continue;
        size_t s = strlen(rules[i].suffix);
        if (holds(rules[i].c, x->w, x->k - s)) replace_tail(x, s, rules[i].rep);
        return;
    }
}

static void step1a(word *x) {
    if (x->k == 4 && ends_with(x, "ies")) { /* NLTK */
        replace_tail(x, 3, "ie");
        return;
    }
    static const rule r[] = {{"sses", "ss", C_NONE}, {"ies", "i", C_NONE}, {"ss", "ss", C_NONE}, {"s", "", C_NONE}};
    apply_rules(x, r, sizeof r / sizeof r[0]);
}

static void step1b(word *x) {
    if (ends_with(x, "ied")) { /* NLTK */
        replace_tail(x, 3, x->k == 4 ? "ie" : "i");
        return;
    }
    if (ends_with(x, "eed")) {
        if (measure(x->w, x->k - 3) > 0) replace_tail(x, 3, "ee");
        return;
    }
    size_t s = 0;
    if (ends_with(x, "ed") && contains_vowel(x->w, x->k - 2)) s = 2;
    else if (ends_with(x, "ing") && contains_vowel(x->w, x->k - 3)) s = 3;
    if (!s) return;
    x->k -= s;
    if (ends_with(x, "at") || ends_with(x, "bl") || ends_with(x, "iz")) {
        replace_tail(x, 0, "e");
    } else if (ends_double_cons(x->w, x->k)) {
        char c = x->w[x->k - 1];
        if (c != 'l' && c != 's' && c != 'z') x->k--;
    } else if (measure(x->w, x->k) == 1 && ends_cvc(x->w, x->k)) {
        replace_tail(x, 0, "e");
    }
}

static void step1c(word *x) {
    /* NLTK: y -> i when the stem before it is longer than one letter and ends in a consonant. */
    if (ends_with(x, "y") && x->k - 1 > 1 && is_cons(x->w, x->k - 2)) x->w[x->k - 1] = 'i';
}

static void step2(word *x) {
    if (ends_with(x, "alli") && measure(x->w, x->k - 4) > 0) { /* NLTK */
        replace_tail(x, 4, "al");
        step2(x);
        return;
    }
    static const rule r[] = {
        {"ational", "ate", C_M0}, {"tional", "tion", C_M0}, {"enci", "ence", C_M0}, {"anci", "ance", C_M0},
        {"izer", "ize", C_M0},    {"bli", "ble", C_M0},     {"alli", "al", C_M0},   {"entli", "ent", C_M0},
        {"eli", "e", C_M0},       {"ousli", "ous", C_M0},   {"ization", "ize", C_M0}, {"ation", "ate", C_M0},
        {"ator", "ate", C_M0},    {"alism", "al", C_M0},    {"iveness", "ive", C_M0}, {"fulness", "ful", C_M0},
        {"ousness", "ous", C_M0}, {"aliti", "al", C_M0},    {"iviti", "ive", C_M0}, {"biliti", "ble", C_M0},
        {"fulli", "ful", C_M0},   {"logi", "log", C_LOGI}, /* NLTK */
    };
    apply_rules(x, r, sizeof r / sizeof r[0]);
}

static void step3(word *x) {
    static const rule r[] = {{"icate", "ic", C_M0}, {"ative", "", C_M0}, {"alize", "al", C_M0}, {"iciti", "ic", C_M0},
                             {"ical", "ic", C_M0},  {"ful", "", C_M0},   {"ness", "", C_M0}};
    apply_rules(x, r, sizeof r / sizeof r[0]);
}

static void step4(word *x) {
    static const rule r[] = {
        {"al", "", C_M1},   {"ance", "", C_M1}, {"ence", "", C_M1}, {"er", "", C_M1},  {"ic", "", C_M1},
        {"able", "", C_M1}, {"ible", "", C_M1}, {"ant", "", C_M1},  {"ement", "", C_M1}, {"ment", "", C_M1},
        {"ent", "", C_M1},  {"ion", "", C_ION}, {"ou", "", C_M1},   {"ism", "", C_M1}, {"ate", "", C_M1},
        {"iti", "", C_M1},  {"ous", "", C_M1},  {"ive", "", C_M1},  {"ize", "", C_M1},
    };
    apply_rules(x, r, sizeof r / sizeof r[0]);
}

static void step5(word *x) {
    if (ends_with(x, "e")) { /* 5a: both conditions are tried, unlike a rule list */
        int m = measure(x->w, x->k - 1);
        if (m > 1 || (m == 1 && !ends_cvc(x->w, x->k - 1))) x->k--;
    }
    if (ends_with(x, "ll") && measure(x->w, x->k - 1) > 1) x->k--; /* 5b */
}

/* NLTK's irregular forms, looked up before any step. */
static const char *irregular(const char *w, size_t n) {
    static const char *const pairs[][2] = {
        {"sky", "sky"},         {"skies", "sky"},   {"dying", "die"},       {"lying", "lie"},
        {"tying", "tie"},       {"news", "news"},   {"innings", "inning"},  {"inning", "inning"},
        {"outings", "outing"},  {"outing", "outing"}, {"cannings", "canning"}, {"canning", "canning"},
        {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"}, {"succeed", "succeed"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (strlen(pairs[i][0]) == n && memcmp(pairs[i][0], w, n) == 0) return pairs[i][1];
    return NULL;
}

size_t duo_porter_stem(const char *in, size_t n, char *out) {
    const char *irr = irregular(in, n);
    if (irr) {
        size_t m = strlen(irr);
        memcpy(out, irr, m + 1);
        return m;
    }
    memcpy(out, in, n);
    out[n] = '\0';
    if (n <= 2) return n; /* NLTK leaves one- and two-letter words alone */
    word x = {out, n};
    step1a(&x);
    step1b(&x);
    step1c(&x);
    step2(&x);
    step3(&x);
    step4(&x);
    step5(&x);
    out[x.k] = '\0';
    return x.k;
}
