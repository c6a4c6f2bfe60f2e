#include "data/h5store.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/fileio.h"

struct duo_h5 {
    hid_t file;
    char *path;  /* the final path */
    char *tmp;   /* the temporary path while a created file is not committed; NULL for opened files */
};

/* Target size of one chunk of a compressed dataset: large enough for deflate to work well, small
 * enough that reading one element does not decompress megabytes. */
#define CHUNK_BYTES (1u << 20)

size_t h5store_type_size(duo_h5_type t) {
    switch (t) {
    case DUO_H5_I32: case DUO_H5_F32: return 4;
    case DUO_H5_I64: case DUO_H5_F64: return 8;
    case DUO_H5_U8: return 1;
    }
    return 0;
}

static hid_t mem_type(duo_h5_type t) {
    switch (t) {
    case DUO_H5_I32: return H5T_NATIVE_INT32;
    case DUO_H5_I64: return H5T_NATIVE_INT64;
    case DUO_H5_F32: return H5T_NATIVE_FLOAT;
    case DUO_H5_F64: return H5T_NATIVE_DOUBLE;
    case DUO_H5_U8: return H5T_NATIVE_UINT8;
    }
    return H5I_INVALID_HID;
}

/* Stored little-endian whatever the host, so files move between machines. */
static hid_t file_type(duo_h5_type t) {
    switch (t) {
    case DUO_H5_I32: return H5T_STD_I32LE;
    case DUO_H5_I64: return H5T_STD_I64LE;
    case DUO_H5_F32: return H5T_IEEE_F32LE;
    case DUO_H5_F64: return H5T_IEEE_F64LE;
    case DUO_H5_U8: return H5T_STD_U8LE;
    }
    return H5I_INVALID_HID;
}

static int type_is_float(duo_h5_type t) { return t == DUO_H5_F32 || t == DUO_H5_F64; }

/* HDF5 prints its error stack to stderr by default; we report through duo_error instead.  The first
 * call, before any other HDF5 call of the process, also stops HDF5 from closing the files still open
 * at exit: every file is closed or committed explicitly, and the only ones left are files whose writes
 * failed (a full disk), which HDF5 1.10 would try to flush again at exit and crash on. */
static void quiet(void) {
    static int once;
    if (!once) {
        once = 1;
        H5dont_atexit();
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* The innermost message of HDF5's current error stack (the most specific cause), then clears it. */
static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data) {
    if (n != 0 || !e->desc) return 0;
    /* The file driver's messages ("file write failed: time = ..., filename = '<temp file>', ...,
     * error message = 'No space left on device', ...") are cut to what they say about the cause: the
     * temporary file's name means nothing to the user, the error text does. */
    const char *em = strstr(e->desc, "error message = '");
    if (em) {
        const char *head_end = strchr(e->desc, ':');
        int head = head_end ? (int)(head_end - e->desc) : 0;
        em += strlen("error message = '");
        const char *q = strchr(em, '\'');
        int len = q ? (int)(q - em) : (int)strlen(em);
        snprintf((char *)data, 256, "%.*s%s%.*s", head, e->desc, head ? ": " : "", len, em);
    } else {
        snprintf((char *)data, 256, "%s", e->desc);
    }
    return 0;
}
static const char *hdf5_reason(char buf[256]) {
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, buf);
    H5Eclear2(H5E_DEFAULT);
    if (!buf[0]) snprintf(buf, 256, "unknown HDF5 error");
    return buf;
}

/* Fills err with "<file>: <what> '<name>': <action> (HDF5: <reason>)" and returns -1. */
static int h5_fail(const duo_h5 *h, const char *what, const char *name, const char *action, duo_error *err) {
    char reason[256];
    hdf5_reason(reason);
    return duo_fail(err, "%s: %s '%s': %s (HDF5: %s)", h->path, what, name ? name : "/", action, reason);
}

const char *h5store_path(const duo_h5 *h) { return h->path; }

int64_t h5store_hid(const duo_h5 *h) { return h->file; }

static hid_t strong_close_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* Closing the file closes every object still open in it, so commit really finishes the file. */
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
#if H5_VERSION_GE(1, 10, 7)
    /* Keep HDF5's file locks, but do not fail on file systems without them (NFS, Lustre): files are
     * replaced by rename, never written while someone reads them. */
    H5Pset_file_locking(fapl, 1, 1);
#endif
    return fapl;
}

duo_h5 *h5store_create(const char *path, duo_error *err) {
    quiet();
    duo_h5 *h = calloc(1, sizeof *h);
    size_t cap = strlen(path) + 32;
    if (!h || !(h->path = strdup(path)) || !(h->tmp = malloc(cap))) {
        if (h) free(h->path);
        free(h);
        duo_fail(err, "%s: out of memory", path);
        return NULL;
    }
    snprintf(h->tmp, cap, "%s.tmp.%d", path, (int)getpid());
    remove_stale_temps(path);  /* what a killed earlier run left behind */
    hid_t fapl = strong_close_fapl(), fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);  /* no timestamps: the same content gives the same bytes */
    h->file = H5Fcreate(h->tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (h->file < 0) {
        char reason[256];
        duo_fail(err, "%s: cannot create %s (HDF5: %s)", path, h->tmp, hdf5_reason(reason));
    }
    H5Pclose(fcpl);  /* after reading the error stack: a successful call clears it */
    H5Pclose(fapl);
    if (h->file < 0) {
        free(h->tmp);
        free(h->path);
        free(h);
        return NULL;
    }
    return h;
}

static void fsync_parent_dir(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);  /* best effort: makes the rename itself durable */
        close(fd);
    }
}

/* Closes a created file that is being thrown away (its writes failed, or it was never committed) and
 * removes the temporary file.  After a failed write HDF5 1.10 cannot close the file (H5Fclose fails
 * and the file stays registered); that is harmless here because quiet() turned off HDF5's exit-time
 * shutdown, which would otherwise flush the file again and crash (SIGSEGV after the error). */
static void abandon_created(duo_h5 *h) {
    H5Eclear2(H5E_DEFAULT);
    if (h->file >= 0) H5Fclose(h->file);
    H5Eclear2(H5E_DEFAULT);
    h->file = H5I_INVALID_HID;
    unlink(h->tmp);
}

static void free_handle(duo_h5 *h) {
    free(h->tmp);
    free(h->path);
    free(h);
}

int h5store_commit(duo_h5 *h, duo_error *err) {
    quiet();
    if (!h->tmp) {
        duo_fail(err, "%s: commit of a file that was opened, not created", h->path);
        h5store_close(h);
        return -1;
    }
    int rc = 0;
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) {
        rc = h5_fail(h, "file", "/", "writing failed", err);
        abandon_created(h);  /* also unlinks the temporary file */
    } else if (H5Fclose(h->file) < 0) {
        h->file = H5I_INVALID_HID;
        rc = h5_fail(h, "file", "/", "close failed", err);
    }
    if (rc == 0) {
        int fd = open(h->tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) rc = duo_fail(err, "%s: fsync of %s failed: %s", h->path, h->tmp, strerror(errno));
        if (fd >= 0) close(fd);
    }
    if (rc == 0 && rename(h->tmp, h->path) != 0)
        rc = duo_fail(err, "%s: cannot rename %s over it: %s", h->path, h->tmp, strerror(errno));
    if (rc == 0) fsync_parent_dir(h->path);
    else unlink(h->tmp);
    free_handle(h);
    return rc;
}

duo_h5 *h5store_open(const char *path, int writable, duo_error *err) {
    quiet();
    if (file_check_regular(path, err)) return NULL;  /* a FIFO or a device would block or never end */
    if (access(path, writable ? R_OK | W_OK : R_OK) != 0) {
        duo_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    hid_t fapl = strong_close_fapl();
    hid_t file = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
    if (file < 0) {
        char reason[256];
        duo_fail(err, "%s: not a readable HDF5 file (HDF5: %s)", path, hdf5_reason(reason));
    }
    H5Pclose(fapl);
    if (file < 0) return NULL;
    duo_h5 *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        H5Fclose(file);
        duo_fail(err, "%s: out of memory", path);
        return NULL;
    }
    h->file = file;
    return h;
}

void h5store_close(duo_h5 *h) {
    if (!h) return;
    quiet();
    if (h->tmp) {
        abandon_created(h);  /* a created file that was not committed is discarded, whatever its state */
    } else {
        H5Fclose(h->file);
        H5Eclear2(H5E_DEFAULT);
    }
    free_handle(h);
}

/* 1 if every component of the path name exists as a link (so H5Ldelete/H5Oopen can work on it). */
static int link_exists(hid_t file, const char *name) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", name) >= (int)sizeof buf) return 0;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            htri_t ok = H5Lexists(file, buf, H5P_DEFAULT);
            *p = c;
            if (ok <= 0) {
                H5Eclear2(H5E_DEFAULT);
                return 0;
            }
            if (!c) return 1;
        }
    }
}

int h5store_exists(duo_h5 *h, const char *name) {
    quiet();
    if (!name || !*name || !link_exists(h->file, name)) return 0;
    hid_t o = H5Oopen(h->file, name, H5P_DEFAULT);
    if (o < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    int yes = H5Iget_type(o) == H5I_DATASET;
    H5Oclose(o);
    return yes;
}

/* Chunk shape for a compressed dataset: the whole extent, with leading dimensions halved until one
 * chunk is at most CHUNK_BYTES. */
static void chunk_dims(int rank, const hsize_t *dims, size_t elem, hsize_t *chunk) {
    size_t bytes = elem;
    for (int i = 0; i < rank; i++) {
        chunk[i] = dims[i] ? dims[i] : 1;
        bytes *= chunk[i];
    }
    for (int i = 0; i < rank && bytes > CHUNK_BYTES; i++) {
        while (chunk[i] > 1 && bytes > CHUNK_BYTES) {
            hsize_t half = (chunk[i] + 1) / 2;
            bytes = bytes / chunk[i] * half;
            chunk[i] = half;
        }
    }
}

/* Creates (replacing any old one) a dataset of the given file type and space; returns its id. */
static hid_t create_dataset(duo_h5 *h, const char *name, hid_t ftype, hid_t space, hid_t dcpl, duo_error *err) {
    if (link_exists(h->file, name) && H5Ldelete(h->file, name, H5P_DEFAULT) < 0) {
        h5_fail(h, "dataset", name, "cannot replace the existing object", err);
        return H5I_INVALID_HID;
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t own = dcpl == H5P_DEFAULT ? H5Pcreate(H5P_DATASET_CREATE) : H5I_INVALID_HID;
    if (own >= 0) dcpl = own;
    H5Pset_obj_track_times(dcpl, 0);
    hid_t ds = H5Dcreate2(h->file, name, ftype, space, lcpl, dcpl, H5P_DEFAULT);
    if (ds < 0) h5_fail(h, "dataset", name, "cannot create", err);
    if (own >= 0) H5Pclose(own);
    H5Pclose(lcpl);
    return ds;
}

static int write_dataset(duo_h5 *h, const char *name, duo_h5_type type, int rank, const size_t *dims,
                         const void *data, int level, duo_error *err) {
    quiet();
    if (!name || !*name) return duo_fail(err, "%s: empty dataset name", h->path);
    if (rank < 0 || rank > H5STORE_MAX_RANK || (rank > 0 && !dims))
        return duo_fail(err, "%s: dataset '%s': rank %d not supported", h->path, name, rank);
    if (file_type(type) == H5I_INVALID_HID) return duo_fail(err, "%s: dataset '%s': bad element type", h->path, name);
    hsize_t hd[H5STORE_MAX_RANK];
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        hd[i] = dims[i];
        count *= dims[i];
    }
    if (count > 0 && !data) return duo_fail(err, "%s: dataset '%s': no data", h->path, name);
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, hd, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (level > 0 && rank > 0 && count > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        hsize_t chunk[H5STORE_MAX_RANK];
        chunk_dims(rank, hd, h5store_type_size(type), chunk);
        H5Pset_chunk(dcpl, rank, chunk);
        H5Pset_shuffle(dcpl);  /* byte shuffling makes numbers compress much better */
        H5Pset_deflate(dcpl, (unsigned)(level > 9 ? 9 : level));
    }
    hid_t ds = create_dataset(h, name, file_type(type), space, dcpl, err);
    int rc = ds < 0 ? -1 : 0;
    if (rc == 0 && count > 0 && H5Dwrite(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = h5_fail(h, "dataset", name, "write failed", err);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc;
}

int h5store_write(duo_h5 *h, const char *name, duo_h5_type type, int rank, const size_t *dims,
                  const void *data, duo_error *err) {
    return write_dataset(h, name, type, rank, dims, data, 0, err);
}

int h5store_write_deflate(duo_h5 *h, const char *name, duo_h5_type type, int rank, const size_t *dims,
                          const void *data, int level, duo_error *err) {
    return write_dataset(h, name, type, rank, dims, data, level < 1 ? 1 : level, err);
}

int h5store_write_1d(duo_h5 *h, const char *name, duo_h5_type type, size_t n, const void *data, duo_error *err) {
    return write_dataset(h, name, type, 1, &n, data, 0, err);
}

int h5store_write_2d(duo_h5 *h, const char *name, duo_h5_type type, size_t rows, size_t cols, const void *data,
                     duo_error *err) {
    size_t dims[2] = {rows, cols};
    return write_dataset(h, name, type, 2, dims, data, 0, err);
}

/* Opens a dataset with an error that names it when it is missing. */
static hid_t open_dataset(duo_h5 *h, const char *name, duo_error *err) {
    quiet();
    if (!name || !link_exists(h->file, name)) {
        duo_fail(err, "%s: dataset '%s' not found", h->path, name ? name : "(null)");
        return H5I_INVALID_HID;
    }
    hid_t ds = H5Dopen2(h->file, name, H5P_DEFAULT);
    if (ds < 0) h5_fail(h, "dataset", name, "cannot open (not a dataset?)", err);
    return ds;
}

static int space_shape(hid_t space, int *rank, size_t *dims) {
    int r = H5Sget_simple_extent_ndims(space);
    if (r < 0 || r > H5STORE_MAX_RANK) return -1;
    hsize_t hd[H5STORE_MAX_RANK];
    H5Sget_simple_extent_dims(space, hd, NULL);
    if (rank) *rank = r;
    if (dims)
        for (int i = 0; i < r; i++) dims[i] = (size_t)hd[i];
    return 0;
}

int h5store_dims(duo_h5 *h, const char *name, int *rank, size_t *dims, duo_error *err) {
    hid_t ds = open_dataset(h, name, err);
    if (ds < 0) return -1;
    hid_t space = H5Dget_space(ds);
    int rc = space_shape(space, rank, dims);
    if (rc != 0) duo_fail(err, "%s: dataset '%s': rank above %d not supported", h->path, name, H5STORE_MAX_RANK);
    H5Sclose(space);
    H5Dclose(ds);
    return rc;
}

/* Reads an open dataset after checking its class and element count. */
static int read_open(duo_h5 *h, hid_t ds, const char *name, duo_h5_type type, void *out, size_t count, duo_error *err) {
    hid_t dtype = H5Dget_type(ds);
    H5T_class_t cls = H5Tget_class(dtype);
    H5Tclose(dtype);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        return duo_fail(err, "%s: dataset '%s' is not numeric", h->path, name);
    /* HDF5 would convert floats to integers silently (truncating); that is never what a caller wants. */
    if ((cls == H5T_FLOAT) != type_is_float(type))
        return duo_fail(err, "%s: dataset '%s' holds %s, read as %s", h->path, name,
                        cls == H5T_FLOAT ? "floats" : "integers", type_is_float(type) ? "floats" : "integers");
    hid_t space = H5Dget_space(ds);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    if (n < 0 || (size_t)n != count)
        return duo_fail(err, "%s: dataset '%s' has %lld elements, expected %zu", h->path, name, (long long)n, count);
    if (count > 0 && H5Dread(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        return h5_fail(h, "dataset", name, "read failed", err);
    return 0;
}

int h5store_read(duo_h5 *h, const char *name, duo_h5_type type, void *out, size_t count, duo_error *err) {
    hid_t ds = open_dataset(h, name, err);
    if (ds < 0) return -1;
    int rc = read_open(h, ds, name, type, out, count, err);
    H5Dclose(ds);
    return rc;
}

void *h5store_read_alloc(duo_h5 *h, const char *name, duo_h5_type type, int *rank, size_t *dims, duo_error *err) {
    hid_t ds = open_dataset(h, name, err);
    if (ds < 0) return NULL;
    int r = 0;
    size_t d[H5STORE_MAX_RANK];
    hid_t space = H5Dget_space(ds);
    int ok = space_shape(space, &r, d) == 0;
    H5Sclose(space);
    void *buf = NULL;
    if (!ok) {
        duo_fail(err, "%s: dataset '%s': rank above %d not supported", h->path, name, H5STORE_MAX_RANK);
    } else {
        size_t count = 1;
        for (int i = 0; i < r; i++) count *= d[i];
        size_t esz = h5store_type_size(type);
        buf = count > SIZE_MAX / esz ? NULL : malloc(count ? count * esz : 1);
        if (!buf) {
            duo_fail(err, "%s: dataset '%s': out of memory for %zu elements", h->path, name, count);
        } else if (read_open(h, ds, name, type, buf, count, err) != 0) {
            free(buf);
            buf = NULL;
        } else {
            if (rank) *rank = r;
            if (dims) memcpy(dims, d, (size_t)r * sizeof *d);
        }
    }
    H5Dclose(ds);
    return buf;
}

static hid_t utf8_vlen_string_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* A fixed-length string memory type that keeps all sz bytes (NULLTERM would drop the last one to
 * make room for a NUL); callers cut at the first NUL themselves. */
static hid_t fixed_string_type(size_t sz) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, sz);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    return t;
}

int h5store_write_strings(duo_h5 *h, const char *name, const char *const *strs, size_t n, duo_error *err) {
    quiet();
    if (!name || !*name) return duo_fail(err, "%s: empty dataset name", h->path);
    /* HDF5 stores a NULL pointer as an empty string on some versions and fails on others: be explicit. */
    const char **copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy) return duo_fail(err, "%s: dataset '%s': out of memory", h->path, name);
    for (size_t i = 0; i < n; i++) copy[i] = strs[i] ? strs[i] : "";
    hsize_t dim = n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t st = utf8_vlen_string_type();
    hid_t ds = create_dataset(h, name, st, space, H5P_DEFAULT, err);
    int rc = ds < 0 ? -1 : 0;
    if (rc == 0 && n > 0 && H5Dwrite(ds, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, copy) < 0)
        rc = h5_fail(h, "dataset", name, "write failed", err);
    if (ds >= 0) H5Dclose(ds);
    H5Tclose(st);
    H5Sclose(space);
    free(copy);
    return rc;
}

void h5store_free_strings(char **strs, size_t n) {
    if (!strs) return;
    for (size_t i = 0; i < n; i++) free(strs[i]);
    free(strs);
}

int h5store_read_strings(duo_h5 *h, const char *name, char ***out, size_t *n_out, duo_error *err) {
    *out = NULL;
    *n_out = 0;
    hid_t ds = open_dataset(h, name, err);
    if (ds < 0) return -1;
    hid_t dtype = H5Dget_type(ds), space = H5Dget_space(ds);
    int rc = 0;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (H5Tget_class(dtype) != H5T_STRING) {
        rc = duo_fail(err, "%s: dataset '%s' is not a string array", h->path, name);
    } else if (n < 0) {
        rc = h5_fail(h, "dataset", name, "cannot read its shape", err);
    } else if (H5Tis_variable_str(dtype) > 0) {
        hid_t mt = utf8_vlen_string_type();
        char **raw = calloc((size_t)n + 1, sizeof *raw);
        if (!raw) {
            rc = duo_fail(err, "%s: dataset '%s': out of memory", h->path, name);
        } else if (n > 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
            rc = h5_fail(h, "dataset", name, "read failed", err);
        } else {
            *out = calloc((size_t)n + 1, sizeof **out);
            for (hssize_t i = 0; *out && i < n; i++)
                if (!((*out)[i] = strdup(raw[i] ? raw[i] : ""))) {
                    h5store_free_strings(*out, (size_t)i);
                    *out = NULL;
                }
            if (*out) *n_out = (size_t)n;
            else rc = duo_fail(err, "%s: dataset '%s': out of memory", h->path, name);
            if (n > 0) H5Dvlen_reclaim(mt, space, H5P_DEFAULT, raw);
        }
        free(raw);
        H5Tclose(mt);
    } else {  /* fixed-length strings, e.g. written by h5py from a numpy 'S' array */
        size_t sz = H5Tget_size(dtype);
        hid_t mt = fixed_string_type(sz);
        char *raw = sz && (size_t)n > (SIZE_MAX - 1) / sz ? NULL : calloc((size_t)n * sz + 1, 1);
        if (!raw) {
            rc = duo_fail(err, "%s: dataset '%s': out of memory", h->path, name);
        } else if (n > 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
            rc = h5_fail(h, "dataset", name, "read failed", err);
        } else {
            *out = calloc((size_t)n + 1, sizeof **out);
            for (hssize_t i = 0; *out && i < n; i++)
                if (!((*out)[i] = strndup(raw + (size_t)i * sz, sz))) {
                    h5store_free_strings(*out, (size_t)i);
                    *out = NULL;
                }
            if (*out) *n_out = (size_t)n;
            else rc = duo_fail(err, "%s: dataset '%s': out of memory", h->path, name);
        }
        free(raw);
        H5Tclose(mt);
    }
    H5Sclose(space);
    H5Tclose(dtype);
    H5Dclose(ds);
    return rc;
}

/* --- attributes ---------------------------------------------------------------------------- */

static const char *obj_name(const char *obj) { return obj && *obj ? obj : "/"; }

static hid_t open_object(duo_h5 *h, const char *obj, duo_error *err) {
    quiet();
    const char *o = obj_name(obj);
    if (strcmp(o, "/") != 0 && !link_exists(h->file, o)) {
        duo_fail(err, "%s: object '%s' not found", h->path, o);
        return H5I_INVALID_HID;
    }
    hid_t id = H5Oopen(h->file, o, H5P_DEFAULT);
    if (id < 0) h5_fail(h, "object", o, "cannot open", err);
    return id;
}

static int set_attr(duo_h5 *h, const char *obj, const char *attr, hid_t ftype, hid_t mtype, const void *v,
                    duo_error *err) {
    hid_t o = open_object(h, obj, err);
    if (o < 0) return -1;
    int rc = 0;
    if (H5Aexists(o, attr) > 0 && H5Adelete(o, attr) < 0)
        rc = h5_fail(h, "object", obj_name(obj), "cannot replace attribute", err);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = rc == 0 ? H5Acreate2(o, attr, ftype, space, H5P_DEFAULT, H5P_DEFAULT) : H5I_INVALID_HID;
    if (rc == 0 && a < 0) rc = h5_fail(h, "object", obj_name(obj), "cannot create attribute", err);
    if (rc == 0 && H5Awrite(a, mtype, v) < 0) rc = h5_fail(h, "object", obj_name(obj), "attribute write failed", err);
    if (rc != 0) duo_error_prefix(err, "attribute '%s'", attr);
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    H5Oclose(o);
    return rc;
}

int h5store_set_attr_i64(duo_h5 *h, const char *obj, const char *attr, int64_t v, duo_error *err) {
    return set_attr(h, obj, attr, H5T_STD_I64LE, H5T_NATIVE_INT64, &v, err);
}

int h5store_set_attr_f64(duo_h5 *h, const char *obj, const char *attr, double v, duo_error *err) {
    return set_attr(h, obj, attr, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v, err);
}

int h5store_set_attr_str(duo_h5 *h, const char *obj, const char *attr, const char *v, duo_error *err) {
    hid_t st = utf8_vlen_string_type();
    const char *s = v ? v : "";
    int rc = set_attr(h, obj, attr, st, st, &s, err);
    H5Tclose(st);
    return rc;
}

int h5store_has_attr(duo_h5 *h, const char *obj, const char *attr) {
    hid_t o = open_object(h, obj, NULL);
    if (o < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    int yes = H5Aexists(o, attr) > 0;
    H5Oclose(o);
    H5Eclear2(H5E_DEFAULT);
    return yes;
}

/* Opens a one-element attribute of class cls (or, when cls2 >= 0, of class cls2). */
static hid_t open_scalar_attr(duo_h5 *h, const char *obj, const char *attr, H5T_class_t cls, int cls2, duo_error *err) {
    hid_t o = open_object(h, obj, err);
    if (o < 0) return H5I_INVALID_HID;
    hid_t a = H5I_INVALID_HID;
    if (H5Aexists(o, attr) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        duo_fail(err, "%s: object '%s' has no attribute '%s'", h->path, obj_name(obj), attr);
    } else {
        a = H5Aopen(o, attr, H5P_DEFAULT);
        hid_t t = H5Aget_type(a), s = H5Aget_space(a);
        H5T_class_t c = H5Tget_class(t);
        hssize_t n = H5Sget_simple_extent_npoints(s);
        H5Tclose(t);
        H5Sclose(s);
        const char *want = cls == H5T_STRING ? "a string" : cls == H5T_INTEGER ? "an integer" : "a number";
        if ((c != cls && (cls2 < 0 || (int)c != cls2)) || n != 1) {
            duo_fail(err, "%s: object '%s': attribute '%s' is not %s", h->path, obj_name(obj), attr, want);
            H5Aclose(a);
            a = H5I_INVALID_HID;
        }
    }
    H5Oclose(o);
    return a;
}

int h5store_get_attr_i64(duo_h5 *h, const char *obj, const char *attr, int64_t *v, duo_error *err) {
    hid_t a = open_scalar_attr(h, obj, attr, H5T_INTEGER, -1, err);
    if (a < 0) return -1;
    int rc = H5Aread(a, H5T_NATIVE_INT64, v) < 0 ? h5_fail(h, "attribute", attr, "read failed", err) : 0;
    H5Aclose(a);
    return rc;
}

int h5store_get_attr_f64(duo_h5 *h, const char *obj, const char *attr, double *v, duo_error *err) {
    hid_t a = open_scalar_attr(h, obj, attr, H5T_FLOAT, H5T_INTEGER, err);
    if (a < 0) return -1;
    int rc = H5Aread(a, H5T_NATIVE_DOUBLE, v) < 0 ? h5_fail(h, "attribute", attr, "read failed", err) : 0;
    H5Aclose(a);
    return rc;
}

char *h5store_get_attr_str(duo_h5 *h, const char *obj, const char *attr, duo_error *err) {
    hid_t a = open_scalar_attr(h, obj, attr, H5T_STRING, -1, err);
    if (a < 0) return NULL;
    hid_t t = H5Aget_type(a);
    char *out = NULL;
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = utf8_vlen_string_type();
        char *raw = NULL;
        if (H5Aread(a, mt, &raw) >= 0) {
            out = strdup(raw ? raw : "");
            H5free_memory(raw);
        }
        H5Tclose(mt);
    } else {
        size_t sz = H5Tget_size(t);
        hid_t mt = fixed_string_type(sz);
        char *raw = calloc(sz + 1, 1);
        if (raw && H5Aread(a, mt, raw) >= 0) out = strndup(raw, sz);
        free(raw);
        H5Tclose(mt);
    }
    if (!out) h5_fail(h, "attribute", attr, "read failed", err);
    H5Tclose(t);
    H5Aclose(a);
    return out;
}
