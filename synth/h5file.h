/* Multi-passkey datasets in HDF5, readable with h5py.
 *
 * Layout (N samples, P passkeys; token arrays concatenated, sample i at [offsets[i], offsets[i+1])):
 *   /input_ids, /labels         int32 [total tokens]  (labels -100 outside the QA part)
 *   /offsets                    int64 [N + 1]
 *   /index                      int64 [N]   the sample index (random streams are keyed on it)
 *   /context_index, /context_length, /haystack_length, /qa_start   int32 [N]
 *   /depth_index, /insertion_point int32 [N, P];  /depth_ratio float32 [N, P]
 *   /needle_pos, /passkey_pos, /answer_pos   int32 [N, P, 2]  half-open token ranges
 *   /passkeys                   fixed-length UTF-8 strings [N, P]
 * Root attributes: "format" = "duo-train synth multi_passkey 1", every generation parameter under the
 * reference's name, num_samples, tokenizer, dataset, haystack_tokens, haystack_texts, repeated.
 * Files are written atomically (a temporary file renamed over the target) and without object
 * timestamps, so the same inputs and seed give a byte-identical file. */
#ifndef DUO_SYNTH_H5FILE_H
#define DUO_SYNTH_H5FILE_H

#include <stdint.h>

#include "data/error.h"
#include "synth/multipasskey.h"
#include "synth/sample.h"

#define SYNTH_FILE_FORMAT "duo-train synth multi_passkey 1"

typedef struct {
    const char *tokenizer; /* recorded as attributes (e.g. for `synth --show`) */
    const char *dataset;
    /* Called after each sample (may be NULL), e.g. for a progress bar. */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} synth_file_meta;

/* Generates samples 0..num_samples-1 with b and writes them to path.  Stops with an error (the
 * temporary file removed, path untouched) when util/interrupt.h reports Ctrl-C. */
int synth_file_write(const char *path, const synth_builder *b, int64_t num_samples, const synth_file_meta *meta,
                     duo_error *err);
/* The same, also recording the tokenizer's fingerprint (data/fingerprint.h; NULL: none) as the root
 * attribute "tokenizer_fingerprint": `train` refuses a model whose tokenizer differs. */
int synth_file_write_fp(const char *path, const synth_builder *b, int64_t num_samples, const synth_file_meta *meta,
                        const char *tokenizer_fingerprint, duo_error *err);

typedef struct synth_file synth_file;

synth_file *synth_file_open(const char *path, duo_error *err);
void synth_file_close(synth_file *f);
int64_t synth_file_num_samples(const synth_file *f);
/* A malloc'd copy of a root string attribute (NULL if absent). */
char *synth_file_attr_str(const synth_file *f, const char *name);
/* Reads sample i (0-based position in the file) into *out (free with synth_sample_free). */
int synth_file_read(synth_file *f, int64_t i, synth_sample *out, duo_error *err);

/* One-shot: open, read sample i, close. */
int synth_file_read_one(const char *path, int64_t i, synth_sample *out, duo_error *err);

#endif
