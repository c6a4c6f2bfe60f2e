/* Checks `duo-train train` makes on what enters a run, each where the data enters:
 *   - the run identity carries a fingerprint of the model's weights, so --resume refuses another
 *     checkpoint in a folder of the same name;
 *   - a synth dataset must have been built with the model's tokenizer (the file records its
 *     fingerprint), and every token id of a sample must be inside the model's vocabulary. */
#ifndef DUO_CLI_TRAIN_CHECKS_H
#define DUO_CLI_TRAIN_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"

/* identity (JSON object text, malloc'd) with "weights": <fingerprint of model_dir> added; frees identity.
 * NULL with err on failure. */
char *train_identity_with_weights(char *identity, const char *model_dir, duo_error *err);

/* A synth file whose "tokenizer_fingerprint" differs from model_dir/tokenizer.json is refused (files
 * without one, or a model without tokenizer.json, pass: the vocabulary check below still applies). */
int train_check_dataset_tokenizer(const char *dataset, const char *model_dir, duo_error *err);

/* Every id in [0, vocab_size). */
int train_check_sample_ids(const int32_t *ids, size_t n, int vocab_size, const char *dataset, long long sample,
                           duo_error *err);

#endif
