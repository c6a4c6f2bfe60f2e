/* The sweep's prompts, per task:
 *   passkey: a multi-passkey sample (synth/multipasskey.h, the sample builder's own flags) of context
 *            length L, cut before its QA part, followed by the question for one of its passkeys (passkey
 *            i % num_passkeys of sample i); the expected answer is that passkey;
 *   niah:    the reference benchmark's needle prompt (synth/niah.h) for (L, depth); the expected answer is
 *            the needle (ROUGE) and the answer sentence (the plot's word overlap). */
#ifndef DUO_EVAL_SWEEP_PROMPTS_H
#define DUO_EVAL_SWEEP_PROMPTS_H

#include <stddef.h>
#include <stdint.h>

#include "data/tokenizer.h"
#include "eval/sweep.h"

typedef struct {
    int32_t *ids; /* [n] the prompt */
    size_t n;
    int ctx_index, depth_index; /* into the sweep's lists (depth_index 0 for passkey) */
    int sample;                 /* passkey: the sample index; niah: 0 */
    char *expected;             /* passkey: the passkey words; niah: the answer sentence */
    char *needle;               /* niah: the needle (ROUGE target); NULL for passkey */
} sweep_prompt;

typedef struct {
    sweep_prompt *p;
    size_t n;
    size_t longest; /* tokens of the longest prompt */
} sweep_prompts;

/* Builds every prompt of the task with the model's tokenizer; 0 or -1 (err names the corpus or value). */
int sweep_prompts_build(const sweep_opts *o, const duo_tokenizer *tok, const char *tok_path, sweep_prompts *out,
                        duo_error *err);
void sweep_prompts_free(sweep_prompts *ps);

#endif
