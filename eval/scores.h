/* Scores of the evaluation path (DESIGN §4): passkey retrieval and needle-in-a-haystack.
 *
 * NIAH has the reference's two scores (mit-han-lab/duo-attention, eval/needle/):
 *  - its results files: `rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
 *    .score(needle, response)["rouge1"].fmeasure * 10` (needle_in_haystack.py, evaluate_and_log),
 *    the needle being the whole inserted text with its "\n\n" and "Remember, ...";
 *  - its plot: `len(set(response.lower().split()) & set(answer)) / len(answer)` with
 *    answer = "eat a sandwich and sit in Dolores Park on a sunny day.".lower().split()
 *    (visualize.py, main), i.e. 12 words counted with their duplicate "a" and the "." of "day.",
 *    so the best possible plot score is 11/12.
 * Texts are UTF-8.  Functions return 0, or -1 with a message in err. */
#ifndef DUO_EVAL_SCORES_H
#define DUO_EVAL_SCORES_H

#include <stdbool.h>
#include <stddef.h>

#include "data/error.h"

/* The reference's needle and the answer its plot scores against. */
#define DUO_NIAH_NEEDLE                                                                            \
    "\n\nRemember, the best thing to do in San Francisco is eat a sandwich and sit in Dolores Park " \
    "on a sunny day.\n\n"
#define DUO_NIAH_PLOT_ANSWER "eat a sandwich and sit in Dolores Park on a sunny day."

/* ROUGE-1 as rouge_score 0.1.2 computes it with use_stemmer=True.  Tokens: the text lowercased
 * (Python str.lower(); of the non-ASCII characters only U+0130 and U+212A lower to letters a-z),
 * every run of characters other than [a-z0-9] a separator, tokens longer than 3 characters
 * stemmed with NLTK's PorterStemmer() (eval/porter.h).  Unigram counts: overlap = sum over target
 * tokens of min(count in target, count in prediction); precision = overlap / max(#prediction, 1),
 * recall = overlap / max(#target, 1), F = 2PR / (P + R), 0 when P + R = 0.  F is symmetric in
 * its two texts.  Bytes that are not valid UTF-8 count as separators. */
typedef struct {
    double precision, recall, fmeasure;
} duo_rouge;

int duo_rouge1(const char *target, const char *prediction, duo_rouge *out, duo_error *err);

/* The tokens rouge_score's tokenizer gives (stemmed or not): *tokens is one malloc'd block, an
 * array of *n strings followed by their bytes; release it with free(). */
int duo_rouge_tokenize(const char *text, bool stem, char ***tokens, size_t *n, duo_error *err);

/* The reference's results-file score: ROUGE-1 F of (needle, response) times 10, in [0, 10]. */
int duo_niah_rouge_score(const char *needle, const char *response, double *score, duo_error *err);

/* The reference's plot score: distinct lowercased whitespace-separated words of the response
 * that are among the answer's words, divided by the answer's word count (duplicates included).
 * Words are split as Python's str.split() splits (ASCII and Unicode whitespace) and compared
 * byte for byte after lowercasing (ASCII letters, U+212A -> "k", U+0130 -> "i" U+0307; other
 * characters as they are, which is exact for an ASCII answer such as the reference's).
 * An answer without words is an error (the reference would divide by zero). */
int duo_niah_overlap_score(const char *response, const char *answer, double *score, duo_error *err);

/* Passkey retrieval.  Both texts are split into words on ASCII whitespace; word i of the
 * generation is right when it equals passkey word i byte for byte (case and punctuation count).
 * words_right counts the right positions among the passkey's words (a missing generated word is
 * wrong, words generated after the passkey's length are ignored: decoding stops at the sample's
 * separator); fraction = words_right / passkey_words; exact = (words_right == passkey_words).
 * A passkey without words is an error. */
typedef struct {
    bool exact;
    double fraction;
    size_t words_right, passkey_words;
} duo_passkey_score;

int duo_score_passkey(const char *generated, const char *passkey, duo_passkey_score *out, duo_error *err);

#endif
