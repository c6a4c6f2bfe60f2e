/* The two services the sample builders need, behind function pointers so the builders do not depend on
 * one tokenizer or corpus implementation (tests plug in a toy byte tokenizer and in-memory texts).
 * synth/encoder_tok.h adapts data/tokenizer.h and data/corpus.h to them. */
#ifndef DUO_SYNTH_ENCODER_H
#define DUO_SYNTH_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/ids.h"

typedef struct {
    void *ctx;
    /* Appends the ids of text[0..len) to out, as HF encode(text, add_special_tokens). Must be callable
     * from several threads at once. */
    int (*encode)(void *ctx, const char *text, size_t len, int add_special_tokens, duo_ids *out,
                  duo_error *err);
    /* malloc'd NUL-terminated text of ids, as HF decode(ids, skip_special_tokens); NULL on failure. */
    char *(*decode)(void *ctx, const int32_t *ids, size_t n, int skip_special_tokens);
    /* Apply transformers' clean_up_tokenization after decode (tokenizer_config.json's
     * clean_up_tokenization_spaces), as the reference's tokenizer.decode() does. */
    int clean_up_tokenization_spaces;
    /* Optional (NULL: decode + strlen): the same as decode, with the length in bytes in *len, so text
     * holding NUL characters survives a decode / re-encode round trip. */
    char *(*decode_len)(void *ctx, const int32_t *ids, size_t n, int skip_special_tokens, size_t *len);
} synth_encoder;

/* A stream of haystack texts. next: 1 with *text and *len valid until the next call, 0 at the end, -1 on
 * error (err set). */
typedef struct {
    void *ctx;
    int (*next)(void *ctx, const char **text, size_t *len, duo_error *err);
    const char *name; /* for messages: the corpus path */
    /* Optional (NULL: every text is whole): the last text may be a prefix of a longer one, cut at a line
     * break (or a space); extend replaces it with a longer prefix or all of it (1), 0 when it is whole,
     * -1 on error.  The multi-passkey builder reads a huge text only as far as its haystack needs. */
    int (*extend)(void *ctx, const char **text, size_t *len, duo_error *err);
} synth_text_source;

/* transformers' PreTrainedTokenizerBase.clean_up_tokenization, in place; returns the new length. */
size_t synth_clean_up_tokenization(char *s);
/* The same on s[0..len) (which may hold NUL characters; s[len] must be writable). */
size_t synth_clean_up_tokenization_len(char *s, size_t len);

#endif
