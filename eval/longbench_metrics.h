/* LongBench's scores (THUDM/LongBench metrics.py, as mit-han-lab/duo-attention eval/LongBench/eval.py
 * uses them), restated over UTF-8 with the Python semantics they rely on:
 *
 *   qa_f1_score           normalize_answer (str.lower() with its full Unicode mapping and final sigma,
 *                         string.punctuation (ASCII) removed, re.sub(r"\b(a|an|the)\b", " ") with
 *                         Python re's Unicode \b, str.split() whitespace), then token F1 of the
 *                         Counter intersection;
 *   rouge_score           the `rouge` package 1.0.1 Rouge().get_scores([pred], [gt], avg=True)
 *                         ["rouge-l"]["f"]: sentences split on ".", words on " " after " ".join(s.split()),
 *                         summary-level union LCS over word sets (exclusive=True), f = 2 (p r) / (p + r
 *                         + 1e-8); any exception (an empty hypothesis or reference, a recursion deeper
 *                         than Python's limit in its LCS reconstruction) scores 0;
 *   classification_score  the classes that occur in the prediction, the match list pruned as the
 *                         reference's loop prunes it (removing while iterating skips the next entry),
 *                         1 / len(list) when the answer is in it (its `!= 0` test is always true, so the
 *                         difflib fallback never runs);
 *   retrieval_score       the answer's first "Paragraph (\d+)" against every \d+ run of the prediction;
 *   count_score           the answer against every \d+ run (\d: Unicode Nd, as Python's re);
 *   code_sim_score        the first line (after lstrip("\n")) without "`", "#" or "//", then
 *                         fuzzywuzzy 0.18.0's fuzz.ratio / 100 without python-Levenshtein (LongBench's
 *                         requirements pin neither; fuzz.ratio then uses difflib.SequenceMatcher with
 *                         autojunk): equal strings 100, an empty one 0, else round(100 * ratio) half to
 *                         even.
 * The jieba datasets (multifieldqa_zh, dureader, vcsum, lsht, passage_retrieval_zh) are refused: their
 * metrics segment Chinese words with jieba, which is not restated here.
 * Character properties come from utf8proc; on every code point CPython 3.11's Unicode 14.0 assigns they
 * equal Python's (\w, \d, isspace(), lower(); tests/test_longbench_metrics.c), characters added in later
 * Unicode versions may differ.  The final-sigma context uses Cased = Lu/Ll/Lt or having a case mapping and
 * Case_Ignorable = Mn/Me/Cf/Lm/Sk or a MidLetter/MidNumLet/Single_Quote character (close to Unicode's
 * derived properties, exercised on Greek words by the pair references).
 * All functions return 0, or -1 with err set. */
#ifndef DUO_EVAL_LONGBENCH_METRICS_H
#define DUO_EVAL_LONGBENCH_METRICS_H

#include <stddef.h>

#include "data/error.h"

typedef enum { LB_QA_F1 = 0, LB_ROUGE, LB_CLASSIFICATION, LB_RETRIEVAL, LB_COUNT, LB_CODE_SIM } lb_metric;

extern const char *const LB_METRIC_NAMES[6];

/* eval.py's dataset2metric for the English datasets: 0, or -1 with err naming the dataset (unknown, or
 * one that needs jieba). */
int lb_dataset_metric(const char *dataset, lb_metric *m, duo_error *err);
/* 1 for the datasets eval.py cuts to their first line (trec, triviaqa, samsum, lsht). */
int lb_first_line_dataset(const char *dataset);

int lb_qa_f1_score(const char *pred, const char *gt, double *out, duo_error *err);
int lb_rouge_score(const char *pred, const char *gt, double *out, duo_error *err);
/* all_classes: n strings (an error when the dataset has none: the reference iterates over None). */
int lb_classification_score(const char *pred, const char *gt, const char *const *all_classes, size_t n,
                            double *out, duo_error *err);
/* An answer without "Paragraph N" is an error (the reference's matches[0] raises). */
int lb_retrieval_score(const char *pred, const char *gt, double *out, duo_error *err);
int lb_count_score(const char *pred, const char *gt, double *out, duo_error *err);
int lb_code_sim_score(const char *pred, const char *gt, double *out, duo_error *err);
/* fuzzywuzzy fuzz.ratio(a, b) (0..100) and difflib SequenceMatcher(None, a, b).ratio(). */
int lb_fuzz_ratio(const char *a, const char *b, int *out, duo_error *err);
int lb_difflib_ratio(const char *a, const char *b, double *out, duo_error *err);

int lb_metric_score(lb_metric m, const char *pred, const char *gt, const char *const *all_classes, size_t n,
                    double *out, duo_error *err);

/* eval.py's cleaning of a prediction: scorer() (LongBench) splits on ".assistant", "\n\nQuestion",
 * "</s>", "(Document", "\n\nAnswer", "(Passage" and strips; scorer_e() (LongBench-E) does not; both then
 * keep the first line (after lstrip("\n")) for trec, triviaqa, samsum, lsht.  Returns a malloc'd string
 * (NULL: out of memory). */
char *lb_clean_prediction(const char *dataset, const char *pred, int longbench_e);

/* One record: the max over its answers of the metric of the cleaned prediction, starting from 0. */
int lb_record_score(const char *dataset, lb_metric m, int longbench_e, const char *pred,
                    const char *const *answers, size_t n_answers, const char *const *all_classes, size_t n_classes,
                    double *out, duo_error *err);

/* scorer(): round(100 * (sequential sum) / n, 2); n = 0 gives NaN. */
double lb_dataset_score(const double *scores, size_t n);
/* scorer_e()'s bucket: round(100 * np.mean(scores), 2) with numpy's pairwise summation; NaN when empty
 * (np.mean of nothing). */
double lb_bucket_score(const double *scores, size_t n);
/* Python's round(x, 2). */
double lb_round2(double x);
/* numpy's add.reduce over a float64 vector (pairwise summation, blocks of 8). */
double lb_numpy_sum(const double *v, size_t n);
/* LongBench-E's bucket of a record's length: 0 (< 4000), 1 (< 8000), 2 (8k+). */
int lb_length_bucket(long long length);

/* Python re's \w and \d on one character (str patterns: Unicode letters and numbers and "_"; Nd). */
int lb_py_is_word(unsigned cp);
int lb_py_is_decimal(unsigned cp);
/* Python str.lower() of UTF-8 text (malloc'd; NULL: out of memory). */
char *lb_py_lower(const char *s);
/* Python str.strip() (malloc'd; NULL: out of memory). */
char *lb_py_strip(const char *s);
/* normalize_answer(s) (malloc'd; NULL: out of memory). */
char *lb_normalize_answer(const char *s);

#endif
