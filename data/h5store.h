/* h5store: a thin wrapper over the HDF5 C API for what duo-train stores (training state, logs,
 * synthetic samples).  Files it writes are plain HDF5, readable with h5py.
 *
 * Objects carry no timestamps, so the same content written twice gives the same bytes.
 *
 * Writing a new file is atomic: h5store_create() writes to "<path>.tmp.<pid>", and h5store_commit()
 * flushes, closes, fsyncs and renames it over <path>, so a process killed at any moment leaves either
 * the previous good file or the new complete one (plus, at worst, a stale .tmp.<pid> file).
 *
 * Names are paths such as "state/gates" or "/log/loss"; missing groups are created on write, and
 * writing a dataset that exists replaces it.  Attributes go on the root ("/" or NULL) or any dataset
 * or group.  Failures fill a duo_error naming the file and the dataset or attribute; HDF5's own
 * error-stack printing is switched off.
 *
 * Reads convert to the requested element type (HDF5 converts numbers), but the element count must
 * match the dataset's exactly. */
#ifndef DUO_DATA_H5STORE_H
#define DUO_DATA_H5STORE_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"

typedef struct duo_h5 duo_h5;

typedef enum {
    DUO_H5_I32,
    DUO_H5_I64,
    DUO_H5_F32,
    DUO_H5_F64,
    DUO_H5_U8,
} duo_h5_type;

#define H5STORE_MAX_RANK 8

/* Size in bytes of one element of type t. */
size_t h5store_type_size(duo_h5_type t);

/* --- files --------------------------------------------------------------------------------- */

/* Starts a new file that will replace `path` on h5store_commit(). */
duo_h5 *h5store_create(const char *path, duo_error *err);
/* Flushes, closes and fsyncs the temporary file, then renames it over the final path (and fsyncs the
 * directory).  Frees h whether it succeeds or not; on failure the old file at path is untouched. */
int h5store_commit(duo_h5 *h, duo_error *err);
/* Opens an existing file in place, read-only or (writable) read-write.  Changes to a writable file are
 * not atomic; use create + commit for that. */
duo_h5 *h5store_open(const char *path, int writable, duo_error *err);
/* Closes an opened file; on a created file that was not committed it discards the temporary file. */
void h5store_close(duo_h5 *h);
/* The final path the file was created or opened with. */
const char *h5store_path(const duo_h5 *h);
/* The HDF5 file id (a hid_t) for what this wrapper does not cover: extendible datasets, fixed-length
 * string arrays, reads of a few rows (synth/h5file.c).  Owned by h: never close it. */
int64_t h5store_hid(const duo_h5 *h);

/* --- numeric datasets ---------------------------------------------------------------------- */

/* Writes an N-D dataset (rank 0 = scalar, dims may then be NULL) from contiguous row-major data. */
int h5store_write(duo_h5 *h, const char *name, duo_h5_type type, int rank, const size_t *dims,
                  const void *data, duo_error *err);
/* The same, stored chunked and deflate-compressed (level 1..9) when HDF5 has deflate; falls back to
 * plain storage for rank 0 or an empty dataset. */
int h5store_write_deflate(duo_h5 *h, const char *name, duo_h5_type type, int rank, const size_t *dims,
                          const void *data, int level, duo_error *err);
int h5store_write_1d(duo_h5 *h, const char *name, duo_h5_type type, size_t n, const void *data,
                     duo_error *err);
int h5store_write_2d(duo_h5 *h, const char *name, duo_h5_type type, size_t rows, size_t cols,
                     const void *data, duo_error *err);

/* 1 if a dataset of that name exists, 0 if not (a group of that name is not a dataset). */
int h5store_exists(duo_h5 *h, const char *name);
/* A dataset's rank and dims (dims needs H5STORE_MAX_RANK entries). */
int h5store_dims(duo_h5 *h, const char *name, int *rank, size_t *dims, duo_error *err);
/* Reads a whole dataset into out, which holds exactly `count` elements of `type`. */
int h5store_read(duo_h5 *h, const char *name, duo_h5_type type, void *out, size_t count, duo_error *err);
/* Reads a whole dataset into a malloc'd buffer; rank/dims (optional) get its shape. */
void *h5store_read_alloc(duo_h5 *h, const char *name, duo_h5_type type, int *rank, size_t *dims,
                         duo_error *err);

/* --- string arrays (variable-length UTF-8) ------------------------------------------------- */

int h5store_write_strings(duo_h5 *h, const char *name, const char *const *strs, size_t n, duo_error *err);
/* *out gets a malloc'd array of n malloc'd strings; free it with h5store_free_strings. */
int h5store_read_strings(duo_h5 *h, const char *name, char ***out, size_t *n, duo_error *err);
void h5store_free_strings(char **strs, size_t n);

/* --- scalar attributes (obj: "/" or NULL for the file root, else a dataset or group) -------- */

int h5store_set_attr_i64(duo_h5 *h, const char *obj, const char *attr, int64_t v, duo_error *err);
int h5store_set_attr_f64(duo_h5 *h, const char *obj, const char *attr, double v, duo_error *err);
int h5store_set_attr_str(duo_h5 *h, const char *obj, const char *attr, const char *v, duo_error *err);
int h5store_get_attr_i64(duo_h5 *h, const char *obj, const char *attr, int64_t *v, duo_error *err);
int h5store_get_attr_f64(duo_h5 *h, const char *obj, const char *attr, double *v, duo_error *err);
/* A malloc'd copy of a string attribute (fixed- or variable-length), or NULL on error. */
char *h5store_get_attr_str(duo_h5 *h, const char *obj, const char *attr, duo_error *err);
int h5store_has_attr(duo_h5 *h, const char *obj, const char *attr);

#endif
