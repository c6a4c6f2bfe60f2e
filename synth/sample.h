/* One multi-passkey retrieval sample, as the trainer consumes it (DESIGN §2).
 *
 * Layout of input_ids (token lists of separately tokenised pieces, concatenated like the reference):
 *   prompt1 (with BOS) | haystack with num_passkeys needles | padding | prompt2 | QA part
 * A needle is  sep + needle_text(ordinal) + passkey + sep;  the QA part is, for each passkey,
 *   question(ordinal) + passkey + sep.
 * labels[t] = input_ids[t] on the QA part [qa_start, n) and SYNTH_IGNORE_LABEL (-100) elsewhere.
 * Positions are token indices into input_ids; ranges are half-open [start, end). */
#ifndef DUO_SYNTH_SAMPLE_H
#define DUO_SYNTH_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define SYNTH_IGNORE_LABEL (-100)

typedef struct {
    int32_t *input_ids;      /* [n] */
    int32_t *labels;         /* [n]; SYNTH_IGNORE_LABEL where not supervised */
    size_t n;                /* total tokens, a multiple of pad_to_multiple_of */

    int64_t index;           /* sample index within its dataset (what the seed streams are keyed on) */
    int32_t context_index;   /* which of the context-length intervals this sample uses */
    int32_t context_length;  /* requested haystack tokens (the interval value) */
    int32_t haystack_length; /* haystack tokens actually used: min(context_length, cut haystack) */
    int32_t qa_start;        /* first supervised position; the QA part is [qa_start, n) */

    int32_t num_passkeys;
    /* per passkey i (arrays of num_passkeys entries, ordered by depth, i.e. by ordinal): */
    int32_t *depth_index;     /* index into the depth-ratio intervals */
    float *depth_ratio;       /* the ratio (float32, as the reference's torch.linspace) */
    int32_t *insertion_point; /* haystack token index the needle is inserted before */
    int32_t (*needle_pos)[2];  /* needle text + passkey, without the separators */
    int32_t (*passkey_pos)[2]; /* the passkey's tokens inside the needle */
    int32_t (*answer_pos)[2];  /* the passkey's tokens in the QA part (the answer) */
    char **passkeys;           /* NUL-terminated, passkey_length NATO words joined by spaces */
} synth_sample;

/* Frees every array of the sample and zeroes it (safe on a zeroed sample). */
void synth_sample_free(synth_sample *s);

#endif
