/* Cheap, content-based fingerprints for "is this the same checkpoint / tokenizer?", 64-bit FNV-1a.
 * A file: its size, its first 1 MiB and 64 blocks of 4 KiB spread evenly over the rest.  Weights:
 * sampled bytes of every weight matrix.  Reading stays O(1) in the size (an 8B checkpoint is hashed
 * in milliseconds), yet two checkpoints of one architecture differ in almost every sampled block.
 * Same bytes give the same fingerprint on every machine. */
#ifndef DUO_DATA_FINGERPRINT_H
#define DUO_DATA_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"

/* Folds one regular file into *h (start from FINGERPRINT_INIT). */
#define FINGERPRINT_INIT 0xcbf29ce484222325ull
int fingerprint_file(const char *path, uint64_t *h, duo_error *err);

/* The weights of a Hugging Face model folder (data/safetensors.h): every weight matrix (rank >= 2),
 * by name, dtype, shape and 64 sampled runs of its bytes, as "fnv1a64:<16 hex digits>" into out
 * (cap >= 32).  1-D tensors (norm scales, biases) are left out: they do not tell checkpoints apart. */
int fingerprint_model_weights(const char *model_dir, char *out, size_t cap, duo_error *err);

/* A tokenizer: PATH itself when it is a file, else PATH/tokenizer.json.  0 and out filled, or -1. */
int fingerprint_tokenizer(const char *path, char *out, size_t cap, duo_error *err);

#endif
