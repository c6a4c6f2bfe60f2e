/* Multi-passkey datasets in HDF5 (layout in synth/h5file.h). The file itself, its attributes and its
 * numeric tables go through data/h5store (atomic create + commit, no timestamps); what h5store does not
 * wrap is done here on its HDF5 id: samples are appended to chunked token arrays one at a time (memory
 * stays at one sample plus the small per-sample tables), passkeys are a fixed-length string array, and
 * a sample is read back alone with hyperslabs. */
#include "synth/h5file.h"

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5store.h"
#include "util/interrupt.h"

#define TOKEN_CHUNK 65536

/* ---------------------------------------------------------------- writing */

static hid_t dcpl_no_times(void) {
    hid_t d = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(d, 0);
    return d;
}

/* Fixed-length UTF-8 strings of size bytes, NUL-padded (h5py reads them as bytes). */
static hid_t string_type(size_t size) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static int write_fixed_strings(hid_t file, const char *name, int rank, const hsize_t *dims, size_t size,
                               const char *data) {
    hid_t type = string_type(size), space = H5Screate_simple(rank, dims, NULL), dcpl = dcpl_no_times();
    hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t st = ds < 0 ? -1 : H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
    return ds < 0 || st < 0 ? -1 : 0;
}

static int write_attrs(duo_h5 *f, const synth_builder *b, int64_t n, const synth_file_meta *meta, const char *tok_fp,
                       duo_error *err) {
    const synth_params *p = synth_builder_params(b);
    int bad = 0;
    bad |= h5store_set_attr_str(f, NULL, "format", SYNTH_FILE_FORMAT, err);
    bad |= h5store_set_attr_str(f, NULL, "dataset_format", "multiple_passkey", err);
    bad |= h5store_set_attr_i64(f, NULL, "num_samples", n, err);
    bad |= h5store_set_attr_i64(f, NULL, "context_length_min", p->context_length_min, err);
    bad |= h5store_set_attr_i64(f, NULL, "context_length_max", p->context_length_max, err);
    bad |= h5store_set_attr_i64(f, NULL, "context_lengths_num_intervals", p->context_lengths_num_intervals, err);
    bad |= h5store_set_attr_f64(f, NULL, "min_needle_depth_ratio", p->min_depth_ratio, err);
    bad |= h5store_set_attr_f64(f, NULL, "max_needle_depth_ratio", p->max_depth_ratio, err);
    bad |= h5store_set_attr_i64(f, NULL, "depth_ratio_num_intervals", p->depth_ratio_num_intervals, err);
    bad |= h5store_set_attr_i64(f, NULL, "num_passkeys", p->num_passkeys, err);
    bad |= h5store_set_attr_i64(f, NULL, "passkey_length", p->passkey_length, err);
    bad |= h5store_set_attr_i64(f, NULL, "buffer_size", p->buffer_size, err);
    bad |= h5store_set_attr_i64(f, NULL, "pad_to_multiple_of", p->pad_to_multiple_of, err);
    bad |= h5store_set_attr_i64(f, NULL, "seed", (int64_t)p->seed, err);
    bad |= h5store_set_attr_i64(f, NULL, "allow_repeat", p->allow_repeat, err);
    bad |= h5store_set_attr_i64(f, NULL, "shuffle", p->shuffle, err);
    bad |= h5store_set_attr_str(f, NULL, "needle", p->needle, err);
    bad |= h5store_set_attr_str(f, NULL, "retrieval_question", p->retrieval_question, err);
    bad |= h5store_set_attr_str(f, NULL, "prompt1", p->prompt1, err);
    bad |= h5store_set_attr_str(f, NULL, "prompt2", p->prompt2, err);
    bad |= h5store_set_attr_str(f, NULL, "seperator", p->separator, err);
    bad |= h5store_set_attr_str(f, NULL, "tokenizer", meta ? meta->tokenizer : NULL, err);
    bad |= h5store_set_attr_str(f, NULL, "dataset_name", meta ? meta->dataset : NULL, err);
    if (tok_fp) bad |= h5store_set_attr_str(f, NULL, "tokenizer_fingerprint", tok_fp, err);
    bad |= h5store_set_attr_i64(f, NULL, "haystack_tokens", synth_builder_haystack_length(b), err);
    bad |= h5store_set_attr_i64(f, NULL, "haystack_texts", synth_builder_haystack_texts(b), err);
    bad |= h5store_set_attr_i64(f, NULL, "repeated", synth_builder_repeated(b), err);
    return bad ? -1 : 0;
}

/* An extendible 1-D int32 dataset that samples are appended to. */
static hid_t create_token_array(hid_t file, const char *name) {
    hsize_t dims = 0, maxdims = H5S_UNLIMITED, chunk = TOKEN_CHUNK;
    hid_t space = H5Screate_simple(1, &dims, &maxdims), dcpl = dcpl_no_times();
    H5Pset_chunk(dcpl, 1, &chunk);
    hid_t ds = H5Dcreate2(file, name, H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    return ds;
}

static int append_tokens(hid_t ds, hsize_t at, const int32_t *v, hsize_t n) {
    hsize_t size = at + n;
    if (H5Dset_extent(ds, &size) < 0) return -1;
    if (n == 0) return 0;
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(1, &n, NULL);
    herr_t st = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &n, NULL);
    if (st >= 0) st = H5Dwrite(ds, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, v);
    H5Sclose(ms);
    H5Sclose(fs);
    return st < 0 ? -1 : 0;
}

int synth_file_write(const char *path, const synth_builder *b, int64_t n, const synth_file_meta *meta,
                     duo_error *err) {
    return synth_file_write_fp(path, b, n, meta, NULL, err);
}

int synth_file_write_fp(const char *path, const synth_builder *b, int64_t n, const synth_file_meta *meta,
                        const char *tok_fp, duo_error *err) {
    const synth_params *p = synth_builder_params(b);
    const size_t P = (size_t)p->num_passkeys, N = (size_t)n;
    const size_t strsize = (size_t)p->passkey_length * 9; /* the longest NATO word is 8 bytes, + space */
    if (n < 1) return duo_fail(err, "--num_samples must be at least 1, got %lld", (long long)n);

    int64_t *offsets = calloc(N + 1, sizeof *offsets), *index = calloc(N, sizeof *index);
    int32_t *scal = calloc(N * 4, sizeof *scal); /* context_index, context_length, haystack_length, qa_start */
    int32_t *per = calloc(N * P * 8, sizeof *per); /* depth_index, insertion_point, 3 ranges x 2 */
    float *ratio = calloc(N * P, sizeof *ratio);
    char *keys = calloc(N * P, strsize);
    int rc = -1;
    synth_sample s = {0};
    duo_h5 *h5 = NULL;
    hid_t ids_ds = -1, lab_ds = -1;
    if (!offsets || !index || !scal || !per || !ratio || !keys) {
        duo_fail(err, "out of memory writing %s", path);
        goto done;
    }
    if (!(h5 = h5store_create(path, err))) goto done;
    const hid_t file = (hid_t)h5store_hid(h5);
    if ((ids_ds = create_token_array(file, "input_ids")) < 0 || (lab_ds = create_token_array(file, "labels")) < 0) {
        duo_fail(err, "%s: cannot create the token datasets", path);
        goto done;
    }
    for (size_t i = 0; i < N; i++) {
        if (interrupt_requested()) {
            duo_fail(err, "interrupted after %zu of %zu samples; %s was not written", i, N, path);
            goto done;
        }
        if (synth_sample_generate(b, (int64_t)i, &s, err)) goto done;
        if (append_tokens(ids_ds, (hsize_t)offsets[i], s.input_ids, s.n) ||
            append_tokens(lab_ds, (hsize_t)offsets[i], s.labels, s.n)) {
            duo_fail(err, "%s: writing the tokens of sample %zu failed", path, i);
            goto done;
        }
        offsets[i + 1] = offsets[i] + (int64_t)s.n;
        index[i] = s.index;
        int32_t sc[4] = {s.context_index, s.context_length, s.haystack_length, s.qa_start};
        for (int k = 0; k < 4; k++) scal[k * N + i] = sc[k];
        for (size_t j = 0; j < P; j++) {
            size_t ij = i * P + j;
            per[ij] = s.depth_index[j];
            per[N * P + ij] = s.insertion_point[j];
            for (int e = 0; e < 2; e++) {
                per[2 * N * P + 2 * ij + e] = s.needle_pos[j][e];
                per[4 * N * P + 2 * ij + e] = s.passkey_pos[j][e];
                per[6 * N * P + 2 * ij + e] = s.answer_pos[j][e];
            }
            ratio[ij] = s.depth_ratio[j];
            strncpy(keys + ij * strsize, s.passkeys[j], strsize);
        }
        synth_sample_free(&s);
        if (meta && meta->progress) meta->progress(meta->progress_ctx, (int64_t)i + 1, n);
    }
    const size_t dN = N, dN1 = N + 1, dNP[3] = {N, P, 2};
    const hsize_t hNP[2] = {N, P};
    int bad = h5store_write(h5, "offsets", DUO_H5_I64, 1, &dN1, offsets, err) ||
              h5store_write(h5, "index", DUO_H5_I64, 1, &dN, index, err) ||
              h5store_write(h5, "context_index", DUO_H5_I32, 1, &dN, scal, err) ||
              h5store_write(h5, "context_length", DUO_H5_I32, 1, &dN, scal + N, err) ||
              h5store_write(h5, "haystack_length", DUO_H5_I32, 1, &dN, scal + 2 * N, err) ||
              h5store_write(h5, "qa_start", DUO_H5_I32, 1, &dN, scal + 3 * N, err) ||
              h5store_write(h5, "depth_index", DUO_H5_I32, 2, dNP, per, err) ||
              h5store_write(h5, "insertion_point", DUO_H5_I32, 2, dNP, per + N * P, err) ||
              h5store_write(h5, "needle_pos", DUO_H5_I32, 3, dNP, per + 2 * N * P, err) ||
              h5store_write(h5, "passkey_pos", DUO_H5_I32, 3, dNP, per + 4 * N * P, err) ||
              h5store_write(h5, "answer_pos", DUO_H5_I32, 3, dNP, per + 6 * N * P, err) ||
              h5store_write(h5, "depth_ratio", DUO_H5_F32, 2, dNP, ratio, err) ||
              write_attrs(h5, b, n, meta, tok_fp, err);
    if (!bad && write_fixed_strings(file, "passkeys", 2, hNP, strsize, keys))
        bad = duo_fail(err, "%s: writing the passkeys failed", path);
    if (bad) goto done;
    H5Dclose(ids_ds);
    H5Dclose(lab_ds);
    ids_ds = lab_ds = -1;
    rc = h5store_commit(h5, err);  /* frees h5, renames the finished file over path */
    h5 = NULL;
done:
    synth_sample_free(&s);
    if (ids_ds >= 0) H5Dclose(ids_ds);
    if (lab_ds >= 0) H5Dclose(lab_ds);
    h5store_close(h5);  /* after a failure: discards the temporary file */
    free(offsets);
    free(index);
    free(scal);
    free(per);
    free(ratio);
    free(keys);
    return rc;
}

/* ---------------------------------------------------------------- reading */

struct synth_file {
    duo_h5 *h5;
    hid_t file;  /* h5's HDF5 id, for the row reads */
    char *path;
    int64_t n, P;
    int64_t *offsets;
};

/* Reads rows [row, row+1) of an N-D dataset (count elements per row) into out. */
static int read_rows(hid_t file, const char *name, hid_t memtype, hsize_t start, hsize_t len, void *out) {
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t fs = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[8], off[8] = {0}, cnt[8];
    herr_t st = rank < 1 || rank > 8 ? -1 : 0;
    if (st >= 0) {
        H5Sget_simple_extent_dims(fs, dims, NULL);
        for (int k = 0; k < rank; k++) cnt[k] = dims[k];
        off[0] = start;
        cnt[0] = len;
        st = start + len > dims[0] ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
    }
    hid_t ms = st < 0 ? -1 : H5Screate_simple(rank, cnt, NULL);
    if (ms >= 0) {
        if (H5Sget_select_npoints(ms) > 0) st = H5Dread(ds, memtype, ms, fs, H5P_DEFAULT, out);
        H5Sclose(ms);
    } else {
        st = -1;
    }
    H5Sclose(fs);
    H5Dclose(ds);
    return st < 0 ? -1 : 0;
}

/* What every table must look like in a file of N samples with P passkeys; T = total tokens. */
typedef enum { COL_INT, COL_FLOAT, COL_STRING } col_class;
typedef struct {
    const char *name;
    col_class cls;
    int rank;
    int dims; /* which shape: 0 = [N], 1 = [N+1], 2 = [N,P], 3 = [N,P,2], 4 = [T] */
} table_spec;

static const table_spec TABLES[] = {
    {"offsets", COL_INT, 1, 1},        {"index", COL_INT, 1, 0},           {"context_index", COL_INT, 1, 0},
    {"context_length", COL_INT, 1, 0}, {"haystack_length", COL_INT, 1, 0}, {"qa_start", COL_INT, 1, 0},
    {"depth_index", COL_INT, 2, 2},    {"insertion_point", COL_INT, 2, 2}, {"depth_ratio", COL_FLOAT, 2, 2},
    {"needle_pos", COL_INT, 3, 3},     {"passkey_pos", COL_INT, 3, 3},     {"answer_pos", COL_INT, 3, 3},
    {"passkeys", COL_STRING, 2, 2},    {"input_ids", COL_INT, 1, 4},       {"labels", COL_INT, 1, 4},
};

static const char *class_name(col_class c) { return c == COL_INT ? "integers" : c == COL_FLOAT ? "floats" : "strings"; }

/* Checks one table's class, rank and shape; the error names the dataset and the shape it should have. */
static int check_table(synth_file *f, const table_spec *t, hsize_t total, duo_error *err) {
    const hsize_t N = (hsize_t)f->n, P = (hsize_t)f->P;
    hsize_t want[3] = {0};
    const char *sym;
    switch (t->dims) {
    case 0: want[0] = N; sym = "(N)"; break;
    case 1: want[0] = N + 1; sym = "(N+1)"; break;
    case 2: want[0] = N; want[1] = P; sym = "(N, P)"; break;
    case 3: want[0] = N; want[1] = P; want[2] = 2; sym = "(N, P, 2)"; break;
    default: want[0] = total; sym = "(offsets[N])"; break;
    }
    char shape[96];
    int used = snprintf(shape, sizeof shape, "%s = (", sym);
    for (int k = 0; k < t->rank; k++)
        used += snprintf(shape + used, sizeof shape - (size_t)used, "%s%llu", k ? ", " : "", (unsigned long long)want[k]);
    snprintf(shape + used, sizeof shape - (size_t)used, ")");
    hid_t ds = H5Lexists(f->file, t->name, H5P_DEFAULT) > 0 ? H5Dopen2(f->file, t->name, H5P_DEFAULT) : -1;
    H5Eclear2(H5E_DEFAULT);
    if (ds < 0)
        return duo_fail(err, "%s: dataset /%s is missing (it should hold %s %s)", f->path, t->name, class_name(t->cls), shape);
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    H5T_class_t c = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[H5S_MAX_RANK] = {0};
    if (rank > 0 && rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(ds);
    int class_ok = t->cls == COL_INT ? c == H5T_INTEGER && size <= 8
                 : t->cls == COL_FLOAT ? c == H5T_FLOAT && size <= 8 : c == H5T_STRING && size > 0 && size < (1u << 20);
    int shape_ok = rank == t->rank;
    for (int k = 0; shape_ok && k < rank; k++) shape_ok = dims[k] == want[k];
    if (class_ok && shape_ok) return 0;
    char got[128];
    used = snprintf(got, sizeof got, "(");
    for (int k = 0; k < rank && k < H5S_MAX_RANK && used < (int)sizeof got - 24; k++)
        used += snprintf(got + used, sizeof got - (size_t)used, "%s%llu", k ? ", " : "", (unsigned long long)dims[k]);
    snprintf(got + used, sizeof got - (size_t)used, "%s)", rank == 1 ? "," : "");
    if (!class_ok)
        return duo_fail(err, "%s: dataset /%s does not hold %s (it should be %s %s)", f->path, t->name,
                        class_name(t->cls), class_name(t->cls), shape);
    return duo_fail(err, "%s: dataset /%s has shape %s; it should have shape %s", f->path, t->name, got, shape);
}

/* A root attribute that counts something must agree with the tables. */
static int check_count_attr(synth_file *f, const char *attr, int64_t want, const char *what, duo_error *err) {
    if (!h5store_has_attr(f->h5, NULL, attr)) return 0;
    int64_t v;
    duo_error why = {0};
    if (h5store_get_attr_i64(f->h5, NULL, attr, &v, &why))
        return duo_fail(err, "%s: attribute %s is not an integer", f->path, attr);
    if (v != want)
        return duo_fail(err, "%s: attribute %s = %lld contradicts the data (%s %lld)", f->path, attr, (long long)v, what,
                        (long long)want);
    return 0;
}

synth_file *synth_file_open(const char *path, duo_error *err) {
    synth_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        duo_fail(err, "out of memory");
        return NULL;
    }
    if (!(f->h5 = h5store_open(path, 0, err))) {
        duo_error_prefix(err, "cannot open the synth file");
        goto fail;
    }
    f->file = (hid_t)h5store_hid(f->h5);
    char *fmt = synth_file_attr_str(f, "format");
    int ok = fmt && strcmp(fmt, SYNTH_FILE_FORMAT) == 0;
    free(fmt);
    if (!ok) {
        duo_fail(err, "%s is not a duo-train synth file (its \"format\" attribute is not \"%s\")", path,
                 SYNTH_FILE_FORMAT);
        goto fail;
    }
    /* N and P come from /depth_index; every other table is checked against them before any use. */
    int rank = 0;
    size_t dims[H5STORE_MAX_RANK] = {0};
    duo_error why = {0};
    if (h5store_dims(f->h5, "depth_index", &rank, dims, &why) || rank != 2 || dims[0] < 1 || dims[1] < 1 ||
        dims[0] > (size_t)INT32_MAX || dims[1] > 1024) {
        duo_fail(err, "%s: dataset /depth_index must have shape (N, P) with N >= 1 samples and 1 <= P <= 1024 passkeys%s%s",
                 path, why.msg[0] ? ": " : "", why.msg);
        goto fail;
    }
    f->n = (int64_t)dims[0];
    f->P = (int64_t)dims[1];
    if (check_table(f, &TABLES[0], 0, err)) goto fail;
    if (!(f->offsets = malloc((size_t)(f->n + 1) * sizeof *f->offsets))) {
        duo_fail(err, "%s: out of memory for %lld offsets", path, (long long)f->n + 1);
        goto fail;
    }
    if (h5store_read(f->h5, "offsets", DUO_H5_I64, f->offsets, (size_t)f->n + 1, err)) goto fail;
    if (f->offsets[0] != 0) {
        duo_fail(err, "%s: /offsets[0] is %lld; it must be 0", path, (long long)f->offsets[0]);
        goto fail;
    }
    for (int64_t i = 0; i < f->n; i++)
        if (f->offsets[i + 1] < f->offsets[i] || f->offsets[i + 1] - f->offsets[i] > (int64_t)INT32_MAX) {
            duo_fail(err, "%s: /offsets[%lld..%lld] = %lld, %lld: %s", path, (long long)i, (long long)i + 1,
                     (long long)f->offsets[i], (long long)f->offsets[i + 1],
                     f->offsets[i + 1] < f->offsets[i] ? "not increasing" : "a sample longer than 2^31 tokens");
            goto fail;
        }
    for (size_t t = 1; t < sizeof TABLES / sizeof *TABLES; t++)
        if (check_table(f, &TABLES[t], (hsize_t)f->offsets[f->n], err)) goto fail;
    if (check_count_attr(f, "num_samples", f->n, "samples", err) ||
        check_count_attr(f, "num_passkeys", f->P, "passkeys per sample", err))
        goto fail;
    return f;
fail:
    synth_file_close(f);
    return NULL;
}

void synth_file_close(synth_file *f) {
    if (!f) return;
    h5store_close(f->h5);
    free(f->offsets);
    free(f->path);
    free(f);
}

int64_t synth_file_num_samples(const synth_file *f) { return f->n; }

char *synth_file_attr_str(const synth_file *f, const char *name) {
    if (!h5store_has_attr(f->h5, NULL, name)) return NULL;
    duo_error ignored = {0};
    return h5store_get_attr_str(f->h5, NULL, name, &ignored);
}

/* Every position stored for sample i must lie inside it, in the order the builder writes them:
 * needles sorted and disjoint before the QA part, each passkey inside its needle, each answer in the
 * QA part; lengths and indices are not negative, ratios in [0, 1], token ids not negative. */
static int check_sample(const synth_file *f, int64_t i, const synth_sample *s, duo_error *err) {
    const int64_t n = (int64_t)s->n;
#define BAD(...) do { \
        char what_[256]; \
        snprintf(what_, sizeof what_, __VA_ARGS__); \
        return duo_fail(err, "%s: sample %lld (%lld tokens): %s", f->path, (long long)i, (long long)n, what_); \
    } while (0)
    if (s->context_index < 0 || s->context_length < 0 || s->haystack_length < 0)
        BAD("negative context_index/context_length/haystack_length (%d, %d, %d)", s->context_index, s->context_length,
            s->haystack_length);
    if (s->haystack_length > n) BAD("/haystack_length %d is beyond the sample", s->haystack_length);
    if (s->qa_start < 0 || s->qa_start > n) BAD("/qa_start %d is outside [0, %lld]", s->qa_start, (long long)n);
    int64_t prev_end = 0;
    for (int32_t j = 0; j < s->num_passkeys; j++) {
        const int32_t *np = s->needle_pos[j], *pp = s->passkey_pos[j], *ap = s->answer_pos[j];
        if (np[0] < prev_end || np[1] < np[0] || np[1] > s->qa_start)
            BAD("/needle_pos[%lld, %d] = [%d, %d] is not a range after the previous needle (ends at %lld) and "
                "before /qa_start %d", (long long)i, j, np[0], np[1], (long long)prev_end, s->qa_start);
        if (pp[0] < np[0] || pp[1] < pp[0] || pp[1] > np[1])
            BAD("/passkey_pos[%lld, %d] = [%d, %d] is not inside its needle [%d, %d]", (long long)i, j, pp[0], pp[1],
                np[0], np[1]);
        if (ap[0] < s->qa_start || ap[1] < ap[0] || ap[1] > n)
            BAD("/answer_pos[%lld, %d] = [%d, %d] is not inside the QA part [%d, %lld]", (long long)i, j, ap[0], ap[1],
                s->qa_start, (long long)n);
        if (!(s->depth_ratio[j] >= 0.0f && s->depth_ratio[j] <= 1.0f))
            BAD("/depth_ratio[%lld, %d] = %g is outside [0, 1]", (long long)i, j, (double)s->depth_ratio[j]);
        if (s->depth_index[j] < 0 || s->insertion_point[j] < 0)
            BAD("negative /depth_index or /insertion_point at [%lld, %d]", (long long)i, j);
        prev_end = np[1];
    }
    for (int64_t t = 0; t < n; t++) {
        if (s->input_ids[t] < 0) BAD("/input_ids[%lld] = %d is negative", (long long)(f->offsets[i] + t), s->input_ids[t]);
        if (s->labels[t] < 0 && s->labels[t] != SYNTH_IGNORE_LABEL)
            BAD("/labels[%lld] = %d is neither a token id nor %d", (long long)(f->offsets[i] + t), s->labels[t],
                SYNTH_IGNORE_LABEL);
    }
#undef BAD
    return 0;
}

int synth_file_read(synth_file *f, int64_t i, synth_sample *out, duo_error *err) {
    memset(out, 0, sizeof *out);
    if (i < 0 || i >= f->n)
        return duo_fail(err, "%s has %lld samples; there is no sample %lld", f->path, (long long)f->n, (long long)i);
    const size_t P = (size_t)f->P;
    hsize_t start = (hsize_t)f->offsets[i], len = (hsize_t)(f->offsets[i + 1] - f->offsets[i]);
    out->n = (size_t)len;
    out->num_passkeys = (int32_t)P;
    out->input_ids = malloc((len ? len : 1) * sizeof *out->input_ids);
    out->labels = malloc((len ? len : 1) * sizeof *out->labels);
    out->depth_index = malloc(P * sizeof *out->depth_index);
    out->insertion_point = malloc(P * sizeof *out->insertion_point);
    out->depth_ratio = malloc(P * sizeof *out->depth_ratio);
    out->needle_pos = malloc(P * sizeof *out->needle_pos);
    out->passkey_pos = malloc(P * sizeof *out->passkey_pos);
    out->answer_pos = malloc(P * sizeof *out->answer_pos);
    out->passkeys = calloc(P, sizeof *out->passkeys);
    hid_t ds = H5Dopen2(f->file, "passkeys", H5P_DEFAULT), t = ds < 0 ? -1 : H5Dget_type(ds);
    size_t strsize = t < 0 ? 0 : H5Tget_size(t);
    if (t >= 0) H5Tclose(t);
    if (ds >= 0) H5Dclose(ds);
    char *keys = strsize ? calloc(P, strsize) : NULL;
    int rc = -1;
    if (!out->input_ids || !out->labels || !out->depth_index || !out->insertion_point || !out->depth_ratio ||
        !out->needle_pos || !out->passkey_pos || !out->answer_pos || !out->passkeys || !keys) {
        duo_fail(err, "%s: cannot read sample %lld (out of memory or no /passkeys)", f->path, (long long)i);
        goto done;
    }
    hid_t st = string_type(strsize);
    int32_t sc[4];
    const char *names[4] = {"context_index", "context_length", "haystack_length", "qa_start"};
    int bad = read_rows(f->file, "input_ids", H5T_NATIVE_INT32, start, len, out->input_ids) ||
              read_rows(f->file, "labels", H5T_NATIVE_INT32, start, len, out->labels) ||
              read_rows(f->file, "index", H5T_NATIVE_INT64, (hsize_t)i, 1, &out->index) ||
              read_rows(f->file, "depth_index", H5T_NATIVE_INT32, (hsize_t)i, 1, out->depth_index) ||
              read_rows(f->file, "insertion_point", H5T_NATIVE_INT32, (hsize_t)i, 1, out->insertion_point) ||
              read_rows(f->file, "depth_ratio", H5T_NATIVE_FLOAT, (hsize_t)i, 1, out->depth_ratio) ||
              read_rows(f->file, "needle_pos", H5T_NATIVE_INT32, (hsize_t)i, 1, out->needle_pos) ||
              read_rows(f->file, "passkey_pos", H5T_NATIVE_INT32, (hsize_t)i, 1, out->passkey_pos) ||
              read_rows(f->file, "answer_pos", H5T_NATIVE_INT32, (hsize_t)i, 1, out->answer_pos) ||
              read_rows(f->file, "passkeys", st, (hsize_t)i, 1, keys);
    for (int k = 0; k < 4 && !bad; k++) bad = read_rows(f->file, names[k], H5T_NATIVE_INT32, (hsize_t)i, 1, &sc[k]);
    H5Tclose(st);
    if (bad) {
        duo_fail(err, "%s: reading sample %lld failed (a dataset is missing or has the wrong shape)", f->path,
                 (long long)i);
        goto done;
    }
    out->context_index = sc[0];
    out->context_length = sc[1];
    out->haystack_length = sc[2];
    out->qa_start = sc[3];
    if (check_sample(f, i, out, err)) goto done;
    for (size_t j = 0; j < P; j++) {
        if (!(out->passkeys[j] = calloc(strsize + 1, 1))) goto done;
        memcpy(out->passkeys[j], keys + j * strsize, strsize);
    }
    rc = 0;
done:
    free(keys);
    if (rc) synth_sample_free(out);
    return rc;
}

int synth_file_read_one(const char *path, int64_t i, synth_sample *out, duo_error *err) {
    synth_file *f = synth_file_open(path, err);
    if (!f) return -1;
    int rc = synth_file_read(f, i, out, err);
    synth_file_close(f);
    return rc;
}
