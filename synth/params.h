/* Generation parameters of the multi-passkey retrieval data, named after the reference's arguments
 * (duo_attn/train.py + MultiplePasskeyRetrievalDataset), with the published runs' defaults. */
#ifndef DUO_SYNTH_PARAMS_H
#define DUO_SYNTH_PARAMS_H

#include <stdint.h>

#include "data/error.h"

#define SYNTH_MAX_PASSKEYS 20 /* the reference's ORDINAL_NUMBERS list ends at "twentieth" */

typedef struct {
    int32_t context_length_min;            /* 1000 */
    int32_t context_length_max;            /* 32000 */
    int32_t context_lengths_num_intervals; /* 50 */
    double min_depth_ratio;                /* 0.05 (train.py --min_needle_depth_ratio) */
    double max_depth_ratio;                /* 0.95 (--max_needle_depth_ratio) */
    int32_t depth_ratio_num_intervals;     /* 1000 */
    int32_t num_passkeys;                  /* 10 */
    int32_t passkey_length;                /* 32 NATO words */
    int32_t buffer_size;                   /* 300 */
    int32_t pad_to_multiple_of;            /* 16 */
    uint64_t seed;                         /* 42 */
    int allow_repeat;                      /* repeat a corpus shorter than context_length_max */
    int shuffle;                           /* 1: each epoch visits the context lengths in a random order */
    /* Templates; "{ordinal_number}" is replaced by "first", "second", ... */
    const char *needle;             /* "Remeber this sequence of words, it's the {ordinal_number} passkey to the vault: " */
    const char *retrieval_question; /* "Based on the content of the book, what is the {ordinal_number} passkey to the vault?\nPasskey: " */
    const char *prompt1;            /* "<|im_start|> This is a very long story book: <book> " (tokenised with BOS) */
    const char *prompt2;            /* " </book>.\n\n" */
    const char *separator;          /* "\n\n" (the reference spells it "seperator") */
    /* How the running command spells its flags in the builder's messages (a sweep user is not told to
     * change a flag sweep does not have): */
    const char *context_flag;       /* "--context_length_max" (synth, train); sweep: "--context_lengths" */
    const char *repeat_flag;        /* "--allow_repeat"; NULL where the command has none (sweep) */
} synth_params;

void synth_params_default(synth_params *p);
/* Checks ranges and consistency; -1 with a message naming the flag. */
int synth_params_validate(const synth_params *p, duo_error *err);

extern const char *const SYNTH_NATO_WORDS[26];
extern const char *const SYNTH_ORDINALS[SYNTH_MAX_PASSKEYS];

/* template with every "{ordinal_number}" replaced by ordinal; malloc'd. */
char *synth_format_ordinal(const char *tmpl, const char *ordinal);

#endif
