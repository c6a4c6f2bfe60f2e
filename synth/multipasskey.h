/* The multi-passkey retrieval sample builder (DESIGN §2, the reference's MultiplePasskeyRetrievalDataset).
 *
 * synth_builder_new() does the expensive, shared part once: reads haystack texts until their
 * concatenation reaches context_length_max tokens (tokenising text by text, never the whole corpus),
 * trims and re-encodes it like the reference, and cuts it so the longest sample fits
 * context_length_max - buffer_size.  synth_sample_generate() then builds sample `index` from its own
 * random streams: reproducible, and independent of thread count and of which other samples are built.
 * Sample k uses context-length interval perm_e[k mod n] with e = k / n (a shuffled epoch, as the
 * reference's DataLoader(shuffle=True)), or k mod n with shuffle off. */
#ifndef DUO_SYNTH_MULTIPASSKEY_H
#define DUO_SYNTH_MULTIPASSKEY_H

#include <stdint.h>

#include "data/error.h"
#include "synth/encoder.h"
#include "synth/params.h"
#include "synth/sample.h"

typedef struct synth_builder synth_builder;

/* The builder keeps a copy of params (and of its strings) and of enc; src is only read here. */
synth_builder *synth_builder_new(const synth_params *params, const synth_encoder *enc, synth_text_source *src,
                                 duo_error *err);
void synth_builder_free(synth_builder *b);

/* Fills *out (free with synth_sample_free).  Thread-safe for distinct outputs. */
int synth_sample_generate(const synth_builder *b, int64_t index, synth_sample *out, duo_error *err);

const synth_params *synth_builder_params(const synth_builder *b);
int32_t synth_builder_num_context_lengths(const synth_builder *b);
const int32_t *synth_builder_context_lengths(const synth_builder *b); /* torch.linspace(..., dtype=int) */
const float *synth_builder_depth_ratios(const synth_builder *b);      /* torch.linspace float32 */
int32_t synth_builder_haystack_length(const synth_builder *b);        /* after the cut */
int32_t synth_builder_haystack_texts(const synth_builder *b);         /* corpus texts read */
int synth_builder_repeated(const synth_builder *b);                   /* 1 if --allow_repeat was needed */

/* The reference's interval grids, exposed for tests. */
void synth_linspace_int(int32_t lo, int32_t hi, int32_t n, int32_t *out);
void synth_linspace_f32(double lo, double hi, int32_t n, float *out);

#endif
