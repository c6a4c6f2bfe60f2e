/* `duo-train score` (issue 18): training-free head rankings, written in the layout `train` writes
 * (full_attention_heads.tsv: layers x KV heads in [0, 1], higher = keep full; config.json; the heat map),
 * so `export`, `sweep` and DuoAttention take them unchanged.  Three methods:
 *
 *   otf        kvpress's duo_attention_on_the_fly (NVIDIA kvpress, presses/duo_attention_press.py): per
 *              layer and text, the mean query and mean key over the text's tokens (the layer's input
 *              after input_layernorm, through q_proj / k_proj, with q/k norm where the model has it),
 *              each repeated at positions 0..q_len-1 and rotated by RoPE; the last query's softmax over
 *              those q_len keys; score = the mean of its cumulative sum, averaged over the query heads
 *              of each KV group and over the texts.  kvpress makes the lowest-scoring heads streaming,
 *              so the TSV holds the score itself (in [0, 1] by construction).
 *   retrieval  Wu et al. 2024's retrieval score: on needle prompts, greedy decoding with every head
 *              full; a generated token is "copied" when it is one of the needle's tokens; query head h
 *              hits on it when its most-weighted key for the decoding query (ops attn_argmax, through
 *              the inference path's hook) is a needle position holding that token.  A prompt's score
 *              is hits / copied tokens (prompts that copy nothing are left out); the head's score the
 *              mean over prompts; the TSV holds the KV head's mean over its query heads.
 *   ablation   the ground truth on small models: passkey accuracy (exact match) with every head full,
 *              minus the accuracy when KV head (l, g) alone streams; the TSV holds that drop clipped to
 *              [0, 1]. */
#ifndef DUO_EVAL_SCORE_H
#define DUO_EVAL_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/model.h"
#include "eval/sweep.h"
#include "data/tokenizer.h"
#include "kernels/ops.h"
#include "util/progress.h"

typedef enum { SCORE_OTF = 0, SCORE_RETRIEVAL, SCORE_ABLATION } score_method;
typedef enum { SCORE_PROMPTS_NIAH = 0, SCORE_PROMPTS_PASSKEY } score_prompt_kind;

const char *score_method_name(score_method m);

typedef struct {
    const char *model_dir, *dataset, *output_dir, *backend;
    score_method method;
    int samples;        /* otf: texts (50); retrieval (passkey prompts) / ablation: prompts per context length */
    int q_len;          /* otf: 500 */
    int max_tokens;     /* otf: each text's first max_tokens tokens (0: all of it) */
    uint64_t seed;      /* 42: the texts drawn, the passkey samples */
    score_prompt_kind prompts; /* retrieval: niah (default) or passkey */
    int sink_size, recent_size; /* ablation's streaming window; written to config.json (128, 256) */
    int max_new_tokens; /* retrieval, ablation: 0 = the task's (needle tokens + 8; 4 x passkey_length + 8) */
    sweep_opts eval;    /* prompts and inference settings shared with `sweep`: context lengths, depths,
                         * passkey / NIAH templates, prefill, decoding simulation, chunk */
    int overwrite;      /* replace an earlier run or score in output_dir (else it is refused) */
    int show_progress;
} score_opts;

void score_opts_default(score_opts *o);
/* Checks the options and inputs, runs the method and writes output_dir; 0, or -1 with err set. */
int score_run(const score_opts *o, duo_error *err);

/* ---- the methods' cores (tests call them directly) ---------------------------------------------- */

/* otf over the given token sequences (texts[i], lens[i] >= 1): scores [L][KVH]. */
int score_otf_ids(const duo_model *m, duo_backend *be, const int32_t *const *texts, const size_t *lens, int ntexts,
                  int q_len, duo_progress *bar, double *scores, duo_error *err);

/* A needle prompt: ids[n], the needle's token span [needle_start, needle_end). */
typedef struct {
    const int32_t *ids;
    size_t n, needle_start, needle_end;
} score_needle_prompt;

/* What the retrieval score saw on one prompt (optional, for tests): the generated ids and, per generated
 * token t, argmax[t][L][H] = the key position query head h of layer l weighed most when producing it. */
typedef struct {
    int32_t *ids;
    size_t n;
    int32_t *argmax;
} score_trace;

/* Retrieval scores over np prompts on the inference path with every head full (greedy, max_new_tokens,
 * stopping at eos): head_scores [L][H], kv_scores [L][KVH]; *prompts_used gets how many prompts copied
 * at least one needle token.  traces (optional, [np]) get each prompt's trace (free with score_trace_free). */
int score_retrieval_prompts(const duo_model *m, duo_backend *be, const score_needle_prompt *ps, int np,
                            int max_new_tokens, const int32_t *eos, int num_eos, double *head_scores,
                            double *kv_scores, int *prompts_used, score_trace *traces, duo_progress *bar,
                            duo_error *err);
void score_trace_free(score_trace *t);

/* The token span [*start, *end) of ids[n] that decodes to the first occurrence of text (its
 * surrounding whitespace stripped): the tokens whose decoded bytes overlap it.  -1 when absent. */
int score_find_span(const duo_tokenizer *tok, const int32_t *ids, size_t n, const char *text, size_t *start,
                    size_t *end, duo_error *err);

#endif
