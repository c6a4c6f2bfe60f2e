/* What ends a generation on the inference path, shared by every task that decodes (sweep, score):
 * the model's EOS ids and the passkey answer's stop rule. */
#ifndef DUO_EVAL_GENERATION_H
#define DUO_EVAL_GENERATION_H

#include <stddef.h>
#include <stdint.h>

#include "data/model.h"
#include "data/tokenizer.h"

/* The EOS ids that end generation: generation_config.json's eos_token_id (a number or a list), else
 * config.json's; at most cap of them into eos[cap].  Returns how many. */
int generation_eos_ids(const duo_model *m, int32_t *eos, int cap);

/* duo_stop_fn context of passkey_answer_stop. */
typedef struct {
    const duo_tokenizer *tok;
    int passkey_words;
} passkey_stop_ctx;

/* Passkey answers end at the sample's separator: stop at the first newline after some text, or once the
 * passkey's word count is out and followed by a space (a duo_stop_fn; vctx a passkey_stop_ctx). */
int passkey_answer_stop(void *vctx, const int32_t *ids, size_t n);

#endif
