/* Pattern files as DuoAttention writes and loads them (DESIGN §3): the run's directory name,
 * full_attention_heads*.tsv (numpy savetxt, "%.18e", tab-separated, layers x KV heads), config.json,
 * and the binarised pattern (by target sparsity or by threshold). */
#ifndef DUO_PATTERN_EXPORT_H
#define DUO_PATTERN_EXPORT_H

#include <stddef.h>

#include <jansson.h>

#include "data/error.h"

/* "lr=<lr>-reg=<reg>-ctx=<min>_<max>-multi_passkey<N>", numbers as Python's f-string writes them. */
char *export_exp_name(char *out, size_t cap, double lr, double reg_weight, long ctx_min, long ctx_max,
                      long num_passkeys);

/* numpy.savetxt(path, values, delimiter="\t") byte for byte (fmt "%.18e", "\n" line ends); atomic. */
int export_write_tsv(const char *path, const float *values, int rows, int cols, duo_error *err);
/* The same text, into a malloc'd string (NULL on out of memory). */
char *export_format_tsv(const float *values, int rows, int cols, size_t *len);

/* Reads a tab/space separated matrix of numbers (every row the same length); *values is malloc'd
 * (rows x cols, doubles).  Errors name the file and line. */
int export_read_tsv(const char *path, double **values, int *rows, int *cols, duo_error *err);

/* json.dump(obj, f) layout (", " and ": " separators, one line, ASCII; reals with the fewest digits that
 * read back exactly, for all of them together); atomic write. */
int export_write_json(const char *path, const json_t *obj, duo_error *err);

/* Binarisation, after clipping the gates to [0,1] as load_attn_pattern does.  full[i] = 1 keeps head i
 * on full attention, 0 makes it streaming.  Returns the achieved sparsity (share of streaming heads).
 *
 * By sparsity s: the reference's rule threshold = numpy.quantile(gates, s) (linear interpolation),
 * full = gates >= threshold, with its random tie-breaking noise replaced by a deterministic order:
 * floor/ceil of the quantile's virtual index s*n - s gives the number k of streaming heads, and the k
 * lowest gates become streaming, equal gates ordered by (layer, head) index, lower index first.
 * s <= 0 keeps every head full, s >= 1 makes every head streaming, as the reference. */
double export_binarise_sparsity(const double *gates, size_t n, double sparsity, double *full);
/* By threshold t: full = clip(gates) >= t. */
double export_binarise_threshold(const double *gates, size_t n, double threshold, double *full);

/* Reads pattern_dir/full_attention_heads.tsv and config.json, binarises (by_sparsity ? sparsity :
 * threshold) and writes out_dir/full_attention_heads.tsv (0/1) and out_dir/config.json (the source
 * config with "sparsity" / "threshold" set to what was used).  *achieved gets the sparsity; *streaming
 * and *total (optional) the head counts. */
int export_binary_pattern(const char *pattern_dir, const char *out_dir, int by_sparsity, double value,
                          double *achieved, size_t *streaming, size_t *total, duo_error *err);

#endif
