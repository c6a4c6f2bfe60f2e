/* Single-needle "needle in a haystack" prompts, as the reference benchmark builds them
 * (duo-attention eval/needle/needle_in_haystack.py, after gkamradt's LLMTest_NeedleInAHaystack):
 *
 *   haystack  = every text of the corpus (a directory of .txt files, sorted by name) concatenated, the
 *               whole set repeated until it has at least max(context lengths) tokens (with BOS);
 *   context   = decode(first context_length tokens of it) (BOS included in the count, as the reference);
 *   tokens    = encode(context), cut so tokens + needle fit context_length - final_context_length_buffer;
 *   needle    inserted at int(len(tokens) * depth_percent / 100) (appended at 100%), then decoded;
 *   prompt    = prompt_prefix + context + prompt_suffix + retrieval_question, encoded with BOS.
 * The grid: context lengths np.round(np.linspace(min, max, n)), depth percents likewise. */
#ifndef DUO_SYNTH_NIAH_H
#define DUO_SYNTH_NIAH_H

#include <stdint.h>

#include "data/error.h"
#include "synth/encoder.h"

typedef struct {
    const char *needle;             /* "\n\nRemember, the best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\n\n" */
    const char *retrieval_question; /* "what is the best thing to do in San Francisco?\n\nAnswer: The best thing to do in San Francisco is" */
    const char *answer;             /* what a correct reply contains: "eat a sandwich and sit in Dolores Park on a sunny day" */
    const char *prompt_prefix;      /* "<|im_start|> This is a very long story book: <book> " */
    const char *prompt_suffix;      /* " </book>.\n\nQuestion: Based on the content of the book, " */
    int32_t context_lengths_min;           /* 1000 */
    int32_t context_lengths_max;           /* 1048000 (the reference script's default; pass your model's) */
    int32_t context_lengths_num_intervals; /* 40 */
    int32_t document_depth_percent_min;    /* 0 */
    int32_t document_depth_percent_max;    /* 100 */
    int32_t document_depth_percent_intervals; /* 10 */
    int32_t final_context_length_buffer;   /* 200 */
} niah_params;

void niah_params_default(niah_params *p);
int niah_params_validate(const niah_params *p, duo_error *err);

/* np.round(np.linspace(lo, hi, n)).astype(int) (round half to even). */
void niah_linspace_round(double lo, double hi, int32_t n, int32_t *out);

typedef struct niah_builder niah_builder;

niah_builder *niah_builder_new(const niah_params *p, const synth_encoder *enc, synth_text_source *src,
                               duo_error *err);
void niah_builder_free(niah_builder *b);

int32_t niah_num_context_lengths(const niah_builder *b);
const int32_t *niah_context_lengths(const niah_builder *b);
int32_t niah_num_depths(const niah_builder *b);
const int32_t *niah_depth_percents(const niah_builder *b);
int64_t niah_haystack_tokens(const niah_builder *b); /* tokens of the (repeated) haystack, with BOS */

typedef struct {
    int32_t *ids; /* the prompt, with BOS */
    size_t n;
    int32_t context_length;
    double depth_percent;
    int32_t insertion_point;  /* context token index the needle was inserted at */
    int32_t context_tokens;   /* context tokens after the cut (before the needle) */
    char *context;            /* the decoded context with the needle (the reference's saved context) */
    const char *needle;       /* the builder's (valid while it lives) */
    const char *answer;
} niah_prompt;

int niah_prompt_build(const niah_builder *b, int32_t context_length, double depth_percent, niah_prompt *out,
                      duo_error *err);
void niah_prompt_free(niah_prompt *p);

#endif
