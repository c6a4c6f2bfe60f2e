/* Memory-mapped safetensors checkpoints: one file, or the shards of model.safetensors.index.json.
 *
 * File layout: u64 little-endian header length N, N bytes of JSON header
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data.
 * Offsets are relative to the data section; like the reference implementation we require the tensors
 * to tile the data section exactly (no overlap, no gap, nothing left over).  Weights are never copied:
 * every duo_tensor points into its file's read-only map. */
#include "data/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json.h"

/* The reference implementation refuses headers above 100 MB; so do we (a corrupt length is not a malloc). */
#define HEADER_MAX ((uint64_t)100 << 20)

typedef struct {
    char *path;
    file_map map;
    int mapped; /* 0 for checkpoint_open_buffer: memory owned by the caller */
} st_file;

struct duo_checkpoint {
    st_file *files;
    size_t nfiles;
    duo_tensor *tensors; /* sorted by name once every file is read */
    size_t ntensors, cap;
};

/* Per-tensor extents, for the tiling check. */
typedef struct {
    uint64_t begin, end;
    const char *name;
} extent;

static int parse_dtype(const char *s, duo_dtype *dt) {
    if (!strcmp(s, "F32")) *dt = DUO_F32;
    else if (!strcmp(s, "F16")) *dt = DUO_F16;
    else if (!strcmp(s, "BF16")) *dt = DUO_BF16;
    else return -1;
    return 0;
}

static int json_u64(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int cmp_extent(const void *a, const void *b) {
    const extent *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const duo_tensor *)a)->name, ((const duo_tensor *)b)->name);
}

/* Reads one tensor entry of the header into t (name and file set by the caller). */
static int parse_entry(const char *file, const char *name, const json_t *e, uint64_t data_size, duo_tensor *t,
                       extent *ext, duo_error *err) {
    if (!json_is_object(e)) return duo_fail(err, "%s: tensor '%s': header entry is not an object", file, name);
    const json_t *dt = json_object_get(e, "dtype"), *shape = json_object_get(e, "shape"),
                 *offs = json_object_get(e, "data_offsets");
    if (!json_is_string(dt)) return duo_fail(err, "%s: tensor '%s': missing or non-string 'dtype'", file, name);
    if (parse_dtype(json_string_value(dt), &t->dtype))
        return duo_fail(err, "%s: tensor '%s': dtype '%s' is not supported (BF16, F16 or F32)", file, name,
                        json_string_value(dt));
    if (!json_is_array(shape)) return duo_fail(err, "%s: tensor '%s': missing or non-list 'shape'", file, name);
    size_t ndim = json_array_size(shape);
    if (ndim > 4) return duo_fail(err, "%s: tensor '%s': %zu dimensions (at most 4 supported)", file, name, ndim);
    t->ndim = (int)ndim;
    /* numel x 4 bytes must not overflow 64 bits (the size check below then catches absurd shapes). */
    uint64_t numel = 1;
    for (size_t i = 0; i < ndim; i++) {
        uint64_t d;
        if (json_u64(json_array_get(shape, i), &d))
            return duo_fail(err, "%s: tensor '%s': shape[%zu] is not a non-negative integer", file, name, i);
        t->shape[i] = (int64_t)d;
        if (d && numel > UINT64_MAX / 4 / d)
            return duo_fail(err, "%s: tensor '%s': shape is too large", file, name);
        numel *= d;
    }
    for (size_t i = ndim; i < 4; i++) t->shape[i] = 0;
    uint64_t begin, end;
    if (!json_is_array(offs) || json_array_size(offs) != 2 || json_u64(json_array_get(offs, 0), &begin) ||
        json_u64(json_array_get(offs, 1), &end))
        return duo_fail(err, "%s: tensor '%s': 'data_offsets' must be two non-negative integers", file, name);
    if (end < begin) return duo_fail(err, "%s: tensor '%s': data_offsets [%llu, %llu) end before they begin", file, name,
                                     (unsigned long long)begin, (unsigned long long)end);
    if (end > data_size)
        return duo_fail(err, "%s: tensor '%s': data_offsets [%llu, %llu) run past the end of the data section (%llu bytes)",
                        file, name, (unsigned long long)begin, (unsigned long long)end, (unsigned long long)data_size);
    uint64_t want = numel * dtype_size(t->dtype);
    if (end - begin != want)
        return duo_fail(err, "%s: tensor '%s': data_offsets hold %llu bytes but %s x shape needs %llu", file, name,
                        (unsigned long long)(end - begin), dtype_name(t->dtype), (unsigned long long)want);
    t->nbytes = (size_t)want;
    ext->begin = begin;
    ext->end = end;
    ext->name = name;
    return 0;
}

/* The tensors must tile [0, data_size) exactly. */
static int check_tiling(const char *file, extent *ext, size_t n, uint64_t data_size, duo_error *err) {
    qsort(ext, n, sizeof *ext, cmp_extent);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (ext[i].begin < at)
            return duo_fail(err, "%s: tensors '%s' and '%s' overlap (data_offsets [%llu, %llu) and [%llu, %llu))", file,
                            ext[i - 1].name, ext[i].name, (unsigned long long)ext[i - 1].begin,
                            (unsigned long long)ext[i - 1].end, (unsigned long long)ext[i].begin,
                            (unsigned long long)ext[i].end);
        if (ext[i].begin > at)
            return duo_fail(err, "%s: tensor '%s': data_offsets start at %llu, leaving a gap after byte %llu (offsets must be contiguous)",
                            file, ext[i].name, (unsigned long long)ext[i].begin, (unsigned long long)at);
        at = ext[i].end;
    }
    if (at != data_size)
        return duo_fail(err, "%s: the tensors cover %llu bytes of a %llu-byte data section (file truncated or padded?)",
                        file, (unsigned long long)at, (unsigned long long)data_size);
    return 0;
}

/* Parses the file ck->files[fi] (already in memory) and appends its tensors. */
static int parse_file(duo_checkpoint *ck, size_t fi, const unsigned char *data, size_t size, duo_error *err) {
    const char *file = ck->files[fi].path;
    if (size < 8)
        return duo_fail(err, "%s: truncated: %zu bytes (a safetensors file starts with an 8-byte header length)", file, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | data[i];
    if (hlen > size - 8)
        return duo_fail(err, "%s: header length %llu runs past the end of the file (%zu bytes)", file,
                        (unsigned long long)hlen, size);
    if (hlen > HEADER_MAX) return duo_fail(err, "%s: header length %llu is over the 100 MB limit", file, (unsigned long long)hlen);
    json_error_t jerr;
    json_t *root = duo_json_loadb((const char *)data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return duo_fail(err, "%s: header is not valid JSON (column %d): %s", file, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return duo_fail(err, "%s: header is not a JSON object", file);
    }
    const unsigned char *base = data + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    size_t n = json_object_size(root), k = 0;
    extent *ext = malloc((n ? n : 1) * sizeof *ext);
    if (ext && ck->ntensors + n > ck->cap) {
        size_t cap = (ck->ntensors + n) * 2;
        duo_tensor *grown = realloc(ck->tensors, cap * sizeof *ck->tensors);
        if (grown) {
            ck->tensors = grown;
            ck->cap = cap;
        } else {
            free(ext);
            ext = NULL;
        }
    }
    if (!ext) {
        json_decref(root);
        return duo_fail(err, "%s: out of memory for %zu tensors", file, n);
    }
    int rc = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) continue;
        duo_tensor *t = &ck->tensors[ck->ntensors];
        memset(t, 0, sizeof *t);
        if (parse_entry(file, key, val, data_size, t, &ext[k], err)) {
            rc = -1;
            break;
        }
        if (!(t->name = strdup(key))) {
            rc = duo_fail(err, "%s: out of memory", file);
            break;
        }
        t->file = file;
        t->data = base + ext[k].begin;
        ext[k].name = t->name; /* the JSON key dies with root */
        ck->ntensors++;
        k++;
    }
    if (!rc) rc = check_tiling(file, ext, k, data_size, err);
    free(ext);
    json_decref(root);
    return rc;
}

static duo_checkpoint *checkpoint_new(void) { return calloc(1, sizeof(duo_checkpoint)); }

/* Appends a file entry; -1 (err set) when out of memory. */
static long add_file(duo_checkpoint *ck, const char *path, duo_error *err) {
    st_file *grown = realloc(ck->files, (ck->nfiles + 1) * sizeof *ck->files);
    if (!grown) return duo_fail(err, "%s: out of memory", path);
    ck->files = grown;
    st_file *f = &ck->files[ck->nfiles];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(path))) return duo_fail(err, "%s: out of memory", path);
    return (long)ck->nfiles++;
}

/* Sorts the tensors by name, for checkpoint_find, and refuses a name held twice (across shards). */
static int finish(duo_checkpoint *ck, duo_error *err) {
    if (ck->ntensors > 1) qsort(ck->tensors, ck->ntensors, sizeof *ck->tensors, cmp_tensor_name);
    for (size_t i = 1; i < ck->ntensors; i++)
        if (!strcmp(ck->tensors[i - 1].name, ck->tensors[i].name))
            return duo_fail(err, "tensor '%s' appears twice: in %s and in %s", ck->tensors[i].name,
                            ck->tensors[i - 1].file, ck->tensors[i].file);
    return 0;
}

static int map_and_parse(duo_checkpoint *ck, const char *path, duo_error *err) {
    long fi = add_file(ck, path, err);
    if (fi < 0) return -1;
    st_file *f = &ck->files[fi];
    if (file_map_open(path, &f->map, err)) return -1;
    f->mapped = 1;
    return parse_file(ck, (size_t)fi, f->map.data, f->map.size, err);
}

/* model.safetensors.index.json: {"metadata": {...}, "weight_map": {"tensor": "shard file", ...}}. */
static int open_sharded(duo_checkpoint *ck, const char *dir, const char *index_path, duo_error *err) {
    size_t len;
    char *text = file_read_all(index_path, &len, err);
    if (!text) return -1;
    json_error_t jerr;
    json_t *root = duo_json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root)
        return duo_fail(err, "%s: not valid JSON (line %d, column %d): %s", index_path, jerr.line, jerr.column, jerr.text);
    int rc = 0;
    const json_t *wm = json_object_get(root, "weight_map");
    const char *key;
    json_t *val;
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        rc = duo_fail(err, "%s: missing or empty 'weight_map' object", index_path);
        goto out;
    }
    /* The distinct shard names, sorted so the files are mapped (and listed) in their numbered order. */
    const char **shards = malloc(json_object_size(wm) * sizeof *shards);
    size_t nshards = 0;
    if (!shards) {
        rc = duo_fail(err, "%s: out of memory", index_path);
        goto out;
    }
    json_object_foreach((json_t *)wm, key, val) {
        const char *shard = json_string_value(val);
        if (!shard || !shard[0] || strchr(shard, '/')) {
            rc = duo_fail(err, "%s: weight_map['%s'] must be a file name in the same folder", index_path, key);
            break;
        }
        shards[nshards++] = shard;
    }
    if (!rc && nshards > 1) qsort(shards, nshards, sizeof *shards, cmp_str);
    for (size_t i = 0; !rc && i < nshards; i++) {
        if (i && !strcmp(shards[i], shards[i - 1])) continue; /* every shard is mapped once */
        char path[4096];
        path_join(path, sizeof path, dir, shards[i]);
        if (map_and_parse(ck, path, err)) {
            duo_error_prefix(err, "shard listed in %s", index_path);
            rc = -1;
        }
    }
    free(shards);
    if (rc) goto out;
    if ((rc = finish(ck, err))) goto out;
    /* Every tensor the index promises must be in the shard it names. */
    json_object_foreach((json_t *)wm, key, val) {
        const duo_tensor *t = checkpoint_find(ck, key);
        char path[4096];
        path_join(path, sizeof path, dir, json_string_value(val));
        if (!t || strcmp(t->file, path)) {
            rc = duo_fail(err, "%s: weight_map puts tensor '%s' in %s, which does not hold it", index_path, key,
                          json_string_value(val));
            goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

duo_checkpoint *checkpoint_open(const char *path, duo_error *err) {
    duo_checkpoint *ck = checkpoint_new();
    if (!ck) {
        duo_fail(err, "%s: out of memory", path);
        return NULL;
    }
    int rc;
    if (path_is_dir(path)) {
        char index[4096], single[4096];
        path_join(index, sizeof index, path, "model.safetensors.index.json");
        path_join(single, sizeof single, path, "model.safetensors");
        if (path_exists(index)) rc = open_sharded(ck, path, index, err);
        else if (path_exists(single)) rc = map_and_parse(ck, single, err) || finish(ck, err);
        else rc = duo_fail(err, "%s: no model.safetensors or model.safetensors.index.json in this folder", path);
    } else if (ends_with(path, ".index.json")) { /* the index itself: its shards sit beside it */
        char dir[4096];
        const char *slash = strrchr(path, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        rc = open_sharded(ck, dir[0] ? dir : "/", path, err);
    } else {
        rc = map_and_parse(ck, path, err) || finish(ck, err);
    }
    if (rc) {
        checkpoint_close(ck);
        return NULL;
    }
    return ck;
}

duo_checkpoint *checkpoint_open_buffer(const void *data, size_t size, const char *name, duo_error *err) {
    duo_checkpoint *ck = checkpoint_new();
    long fi = ck ? add_file(ck, name, err) : duo_fail(err, "%s: out of memory", name);
    if (fi < 0) {
        checkpoint_close(ck);
        return NULL;
    }
    ck->files[fi].map.data = data; /* borrowed, never unmapped */
    ck->files[fi].map.size = size;
    if (parse_file(ck, (size_t)fi, data, size, err) || finish(ck, err)) {
        checkpoint_close(ck);
        return NULL;
    }
    return ck;
}

const duo_tensor *checkpoint_find(const duo_checkpoint *ck, const char *name) {
    duo_tensor key = {.name = name};
    if (!ck->ntensors) return NULL; /* no array to search: tensors is NULL */
    return bsearch(&key, ck->tensors, ck->ntensors, sizeof key, cmp_tensor_name);
}

size_t checkpoint_num_tensors(const duo_checkpoint *ck) { return ck->ntensors; }

const duo_tensor *checkpoint_tensor(const duo_checkpoint *ck, size_t i) {
    return i < ck->ntensors ? &ck->tensors[i] : NULL;
}

size_t checkpoint_num_files(const duo_checkpoint *ck) { return ck->nfiles; }

const char *checkpoint_file_path(const duo_checkpoint *ck, size_t i) { return i < ck->nfiles ? ck->files[i].path : NULL; }

size_t checkpoint_file_size(const duo_checkpoint *ck, size_t i) { return i < ck->nfiles ? ck->files[i].map.size : 0; }

void checkpoint_close(duo_checkpoint *ck) {
    if (!ck) return;
    for (size_t i = 0; i < ck->ntensors; i++) free((char *)ck->tensors[i].name);
    for (size_t i = 0; i < ck->nfiles; i++) {
        if (ck->files[i].mapped) file_map_close(&ck->files[i].map);
        free(ck->files[i].path);
    }
    free(ck->tensors);
    free(ck->files);
    free(ck);
}
