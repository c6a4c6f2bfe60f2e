/* The Porter stemmer exactly as NLTK's PorterStemmer() runs it (its default mode, NLTK_EXTENSIONS),
 * which is the stemmer rouge_score's RougeScorer(use_stemmer=True) uses.
 *
 * Why not Snowball's "porter" (libstemmer): that is the original published algorithm, and NLTK's
 * default mode departs from it in steps 1a, 1b, 1c, 2, the *o condition and a table of irregular
 * forms; the step-1c change (y -> i only after a consonant) alters what the later steps see, so
 * the differences cannot be patched around the library's output.  On the words longer than three
 * letters of a 7.8K-word English essay vocabulary, 155 words (3.8% of the running text, "they",
 * "using", "today", "money" among them) stem differently.  See eval/porter.c for the rules. */
#ifndef DUO_EVAL_PORTER_H
#define DUO_EVAL_PORTER_H

#include <stddef.h>

/* Stems word[0..n) (lowercase ASCII letters and digits, as rouge_score's tokens are) into out,
 * which must hold n + 1 bytes (a stem is never longer than its word); returns the stem's length
 * and NUL-terminates out.  Other bytes are treated as consonants, as NLTK treats them. */
size_t duo_porter_stem(const char *word, size_t n, char *out);

#endif
