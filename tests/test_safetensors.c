/* safetensors reader: the committed fixtures against the values numpy wrote into
 * tests/fixtures/models/reference.json (scripts/make_tiny_checkpoints.py), exact dtype widening
 * (numpy's and the compiler's conversions as oracles), and corrupt files built byte by byte. */
/* Failure messages quote error messages; cutting a long one short is fine. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <jansson.h>
#include <stdint.h>

#include "data/fileio.h"
#include "data/safetensors.h"
#include "tests/harness.h"

#define MODELS "tests/fixtures/models"

/* ---- helpers ---------------------------------------------------------------------------------- */

/* Writes [u64 hlen_field][header][data_len bytes of 0x11] to dir/name; returns the path. */
static const char *write_raw(const char *dir, const char *name, uint64_t hlen_field, const char *header, size_t data_len) {
    static char path[1024];
    path_join(path, sizeof path, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(hlen_field >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    for (size_t i = 0; i < data_len; i++) fputc(0x11, f);
    fclose(f);
    return path;
}

/* A file with a well-formed length field. */
static const char *write_st(const char *dir, const char *name, const char *header, size_t data_len) {
    return write_raw(dir, name, strlen(header), header, data_len);
}

/* Opening `path` must fail with a message naming the file (or `what`) and containing `needle`. */
#define EXPECT_OPEN_FAILS(path, what, needle)                                                        \
    do {                                                                                             \
        duo_error e_ = {{0}};                                                                        \
        duo_checkpoint *ck_ = checkpoint_open(path, &e_);                                            \
        if (ck_) {                                                                                   \
            checkpoint_close(ck_);                                                                   \
            FAILF("%s opened, expected an error containing '%s'", path, needle);                     \
        }                                                                                            \
        CHECK_MSG(strstr(e_.msg, what), "error does not name '%s': %s", what, e_.msg);               \
        CHECK_MSG(strstr(e_.msg, needle), "error lacks '%s': %s", needle, e_.msg);                   \
        CHECK_MSG(!strchr(e_.msg, '\n'), "error is not one line: %s", e_.msg);                       \
    } while (0)

static const char *base_of(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* ---- the fixtures against numpy's view of them ------------------------------------------------- */

TEST(fixtures_match_reference) {
    json_error_t jerr;
    json_t *ref = json_load_file(MODELS "/reference.json", 0, &jerr);
    CHECK_MSG(ref, "reference.json: %s", jerr.text);
    const char *model;
    json_t *mref;
    int nmodels = 0;
    json_object_foreach(ref, model, mref) {
        char dir[512];
        snprintf(dir, sizeof dir, MODELS "/%s", model);
        duo_error err = {{0}};
        duo_checkpoint *ck = checkpoint_open(dir, &err);
        if (!ck) {
            json_decref(ref);
            FAILF("%s: %s", dir, err.msg);
        }
        json_t *tensors = json_object_get(mref, "tensors");
        const char *tname;
        json_t *tref;
        char bad[512] = "";
        size_t bytes = 0;
        json_object_foreach(tensors, tname, tref) {
            const duo_tensor *t = checkpoint_find(ck, tname);
            if (!t) { snprintf(bad, sizeof bad, "%s: %s not found", model, tname); break; }
            bytes += t->nbytes;
            json_t *shape = json_object_get(tref, "shape");
            int shape_ok = (size_t)t->ndim == json_array_size(shape);
            for (int i = 0; shape_ok && i < t->ndim; i++)
                shape_ok = t->shape[i] == json_integer_value(json_array_get(shape, (size_t)i));
            if (!shape_ok || strcmp(dtype_name(t->dtype), json_string_value(json_object_get(tref, "dtype"))) ||
                strcmp(base_of(t->file), json_string_value(json_object_get(tref, "file")))) {
                snprintf(bad, sizeof bad, "%s: %s: shape, dtype or file differs", model, tname);
                break;
            }
            size_t n = tensor_numel(t);
            float *v = malloc(n * sizeof *v);
            tensor_to_f32(t, 0, n, v);
            double sum = 0;
            for (size_t i = 0; i < n; i++) sum += v[i];
            double want = json_real_value(json_object_get(tref, "sum"));
            double scale = json_real_value(json_object_get(tref, "sum_abs"));
            if (fabs(sum - want) > 1e-9 * fmax(1.0, scale))
                snprintf(bad, sizeof bad, "%s: %s: sum %.12g, numpy says %.12g", model, tname, sum, want);
            size_t k;
            json_t *s;
            json_array_foreach(json_object_get(tref, "samples"), k, s) {
                size_t at = (size_t)json_integer_value(json_array_get(s, 0));
                float one;
                tensor_to_f32(t, at, 1, &one); /* a single element at an offset */
                if (one != (float)json_real_value(json_array_get(s, 1)) || v[at] != one)
                    snprintf(bad, sizeof bad, "%s: %s[%zu] = %.9g, numpy says %.9g", model, tname, at, one,
                             json_real_value(json_array_get(s, 1)));
            }
            free(v);
            if (bad[0]) break;
        }
        /* Every stored tensor is one numpy wrote, except the rotary inv_freq the linear fixture carries. */
        size_t extra = checkpoint_num_tensors(ck) - json_object_size(tensors);
        if (!bad[0] && extra != (strstr(model, "rope-linear") ? 1u : 0u))
            snprintf(bad, sizeof bad, "%s: %zu tensors beyond the reference", model, extra);
        if (!bad[0] && bytes != (size_t)json_integer_value(json_object_get(mref, "bytes_of_weights")) && !extra)
            snprintf(bad, sizeof bad, "%s: %zu bytes of weights, numpy wrote %lld", model, bytes,
                     (long long)json_integer_value(json_object_get(mref, "bytes_of_weights")));
        checkpoint_close(ck);
        if (bad[0]) {
            json_decref(ref);
            FAILF("%s", bad);
        }
        nmodels++;
    }
    json_decref(ref);
    CHECK(nmodels >= 6);
}

TEST(sharded_maps_each_shard_once) {
    duo_error err = {{0}};
    duo_checkpoint *ck = checkpoint_open(MODELS "/tiny-llama-sharded", &err);
    CHECK_MSG(ck, "%s", err.msg);
    size_t nfiles = checkpoint_num_files(ck);
    const duo_tensor *a = checkpoint_find(ck, "model.embed_tokens.weight");
    const duo_tensor *b = checkpoint_find(ck, "lm_head.weight");
    int ok = nfiles == 2 && a && b && strcmp(a->file, b->file) != 0 && checkpoint_file_size(ck, 0) > 0 &&
             checkpoint_file_size(ck, 1) > 0;
    checkpoint_close(ck);
    CHECK_MSG(ok, "expected 2 distinct shards, got %zu files", nfiles);
}

TEST(index_file_path) {
    duo_error err = {{0}};
    duo_checkpoint *ck = checkpoint_open(MODELS "/tiny-llama-sharded/model.safetensors.index.json", &err);
    CHECK_MSG(ck, "%s", err.msg);
    int ok = checkpoint_num_files(ck) == 2 && checkpoint_num_tensors(ck) == 21 &&
             !strcmp(checkpoint_file_path(ck, 0), MODELS "/tiny-llama-sharded/model-00001-of-00002.safetensors");
    checkpoint_close(ck);
    CHECK(ok);
}

TEST(single_file_path_and_lookup) {
    duo_error err = {{0}};
    duo_checkpoint *ck = checkpoint_open(MODELS "/tiny-llama-gqa/model.safetensors", &err);
    CHECK_MSG(ck, "%s", err.msg);
    size_t n = checkpoint_num_tensors(ck);
    const duo_tensor *missing = checkpoint_find(ck, "model.layers.9.mlp.up_proj.weight");
    const duo_tensor *q = checkpoint_find(ck, "model.layers.1.self_attn.q_proj.weight");
    int ok = n == 21 && !missing && q && q->ndim == 2 && q->shape[0] == 32 && q->shape[1] == 32 &&
             q->dtype == DUO_F32 && q->nbytes == 32 * 32 * 4 && checkpoint_tensor(ck, n) == NULL;
    /* The weights are in the map, not copied: the data pointer lies inside the file's bytes. */
    checkpoint_close(ck);
    CHECK(ok);
}

/* ---- dtype widening --------------------------------------------------------------------------- */

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* numpy decoded these F16/BF16 special values (subnormals, +-0, inf, NaN with payload) into F32. */
TEST(dtype_cases_match_numpy) {
    duo_error err = {{0}};
    duo_checkpoint *ck = checkpoint_open(MODELS "/dtype-cases.safetensors", &err);
    CHECK_MSG(ck, "%s", err.msg);
    const char *pairs[2][2] = {{"f16", "f16_as_f32"}, {"bf16", "bf16_as_f32"}};
    char bad[256] = "";
    for (int p = 0; p < 2 && !bad[0]; p++) {
        const duo_tensor *h = checkpoint_find(ck, pairs[p][0]), *f = checkpoint_find(ck, pairs[p][1]);
        if (!h || !f || tensor_numel(h) != tensor_numel(f) || tensor_numel(h) < 16) {
            snprintf(bad, sizeof bad, "%s: tensors missing", pairs[p][0]);
            break;
        }
        size_t n = tensor_numel(h);
        float got[64], want[64];
        tensor_to_f32(h, 0, n, got);
        tensor_to_f32(f, 0, n, want);
        for (size_t i = 0; i < n; i++)
            if (f32_bits(got[i]) != f32_bits(want[i]))
                snprintf(bad, sizeof bad, "%s[%zu]: bits %08x, numpy %08x", pairs[p][0], i, f32_bits(got[i]),
                         f32_bits(want[i]));
    }
    checkpoint_close(ck);
    CHECK_MSG(!bad[0], "%s", bad);
}

/* All 65536 half-precision values against the compiler's own _Float16 -> float conversion. */
TEST(f16_exhaustive_vs_compiler) {
#ifdef __FLT16_MANT_DIG__
    for (uint32_t u = 0; u < 65536; u++) {
        uint16_t h = (uint16_t)u;
        _Float16 x;
        memcpy(&x, &h, sizeof x);
        float want = (float)x, got = f16_to_f32(h);
        if (isnan(want)) CHECK_MSG(isnan(got), "0x%04x: %g, expected NaN", u, got);
        else CHECK_MSG(f32_bits(got) == f32_bits(want), "0x%04x: %.9g, expected %.9g", u, got, want);
    }
#else
    SKIP("compiler has no _Float16");
#endif
}

/* bf16 is a float32 with the low 16 bits dropped: every pattern, against ldexp of its fields. */
TEST(bf16_exhaustive_vs_fields) {
    for (uint32_t u = 0; u < 65536; u++) {
        int sign = u >> 15, exp = (u >> 7) & 0xff, mant = u & 0x7f;
        float got = bf16_to_f32((uint16_t)u);
        double want;
        if (exp == 0xff) want = mant ? NAN : INFINITY;
        else if (exp == 0) want = ldexp(mant, -133);            /* subnormal: mant x 2^(1-127-7) */
        else want = ldexp(128 + mant, exp - 134);               /* (1 + mant/128) x 2^(exp-127) */
        if (sign) want = -want;
        if (isnan(want)) CHECK_MSG(isnan(got), "0x%04x", u);
        else CHECK_MSG(got == (float)want && !signbit(got) == !signbit(want), "0x%04x: %.9g, expected %.9g", u, got, want);
    }
}

/* Odd header lengths leave the data unaligned; conversion must still be exact (and UBSan-clean). */
TEST(unaligned_data) {
    const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]}}";
    size_t hl = strlen(hdr), size = 8 + hl + 16;
    unsigned char *buf = calloc(1, size + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    float vals[3] = {1.5f, -2.25f, 3e-39f}; /* the last one subnormal */
    memcpy(buf + 8 + hl, vals, sizeof vals);
    unsigned char bf[4] = {0x80, 0x3f, 0x49, 0xc0}; /* 1.0, -3.140625 */
    memcpy(buf + 8 + hl + 12, bf, 4);
    duo_error err = {{0}};
    duo_checkpoint *ck = checkpoint_open_buffer(buf, size, "mem", &err);
    if (!ck) free(buf);
    CHECK_MSG(ck, "%s", err.msg);
    float a[3], b[2];
    tensor_to_f32(checkpoint_find(ck, "a"), 0, 3, a);
    tensor_to_f32(checkpoint_find(ck, "b"), 0, 2, b);
    checkpoint_close(ck);
    free(buf);
    CHECK(a[0] == 1.5f && a[1] == -2.25f && a[2] == 3e-39f);
    CHECK(b[0] == 1.0f && b[1] == -3.140625f);
}

TEST(metadata_ignored_scalars_and_empty_tensors) {
    const char *dir = test_tmpdir();
    const char *p = write_st(dir, "ok.safetensors",
                             "{\"__metadata__\":{\"format\":\"pt\"},\"s\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,2]},"
                             "\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[2,2]}}",
                             2);
    duo_error err = {{0}};
    duo_checkpoint *ck = checkpoint_open(p, &err);
    CHECK_MSG(ck, "%s", err.msg);
    size_t n = checkpoint_num_tensors(ck);
    const duo_tensor *s = checkpoint_find(ck, "s"), *e = checkpoint_find(ck, "e");
    int ok = n == 2 && s && e && s->ndim == 0 && tensor_numel(s) == 1 && tensor_numel(e) == 0 &&
             !checkpoint_find(ck, "__metadata__");
    checkpoint_close(ck);
    CHECK(ok);
    /* No tensors at all is a valid (empty) file; lookups just miss.  (Found by fuzz_safetensors.) */
    const char *empties[] = {"{}", "{\"__metadata__\":{}}"};
    for (int i = 0; i < 2; i++) {
        p = write_st(dir, "empty.safetensors", empties[i], 0);
        ck = checkpoint_open(p, &err);
        CHECK_MSG(ck, "%s", err.msg);
        ok = checkpoint_num_tensors(ck) == 0 && !checkpoint_find(ck, "w") && !checkpoint_tensor(ck, 0);
        checkpoint_close(ck);
        CHECK(ok);
    }
}

/* ---- corrupt single files ---------------------------------------------------------------------- */

#define ONE_F32_4 "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}"

TEST(bad_truncated_and_lengths) {
    const char *dir = test_tmpdir();
    char path[1024];
    path_join(path, sizeof path, dir, "short.safetensors");
    FILE *f = fopen(path, "wb");
    fwrite("\x10\x00\x00", 1, 3, f);
    fclose(f);
    EXPECT_OPEN_FAILS(path, path, "truncated");
    path_join(path, sizeof path, dir, "empty.safetensors");
    fclose(fopen(path, "wb"));
    EXPECT_OPEN_FAILS(path, path, "truncated");
    const char *p = write_raw(dir, "hlen.safetensors", 1000, ONE_F32_4, 16);
    EXPECT_OPEN_FAILS(p, p, "header length 1000 runs past the end of the file");
    p = write_raw(dir, "hlen_huge.safetensors", UINT64_MAX, ONE_F32_4, 16);
    EXPECT_OPEN_FAILS(p, p, "runs past the end of the file");
    p = write_st(dir, "data_short.safetensors", ONE_F32_4, 12);
    EXPECT_OPEN_FAILS(p, p, "run past the end of the data");
    p = write_st(dir, "data_long.safetensors", ONE_F32_4, 20);
    EXPECT_OPEN_FAILS(p, p, "cover 16 bytes of a 20-byte data section");
}

/* A real fixture cut short at several points: always a clean error. */
TEST(bad_truncated_fixture) {
    size_t len;
    duo_error err = {{0}};
    char *bytes = file_read_all(MODELS "/tiny-llama-mha-bf16-tied/model.safetensors", &len, &err);
    CHECK_MSG(bytes, "%s", err.msg);
    const char *dir = test_tmpdir();
    char path[1024];
    path_join(path, sizeof path, dir, "cut.safetensors");
    size_t cuts[] = {4, 8, 100, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        FILE *f = fopen(path, "wb");
        fwrite(bytes, 1, cuts[i], f);
        fclose(f);
        duo_checkpoint *ck = checkpoint_open(path, &err);
        if (ck) {
            checkpoint_close(ck);
            free(bytes);
            FAILF("cut at %zu opened", cuts[i]);
        }
        if (!strstr(err.msg, path)) {
            free(bytes);
            FAILF("cut at %zu: %s", cuts[i], err.msg);
        }
    }
    free(bytes);
}

TEST(bad_header_json) {
    const char *dir = test_tmpdir();
    const char *p = write_st(dir, "notjson.safetensors", "{\"w\": {\"dtype\": \"F32\", ", 16);
    EXPECT_OPEN_FAILS(p, p, "header is not valid JSON");
    p = write_st(dir, "array.safetensors", "[1, 2, 3]", 0);
    EXPECT_OPEN_FAILS(p, p, "not a JSON object");
    p = write_st(dir, "dup.safetensors",
                 "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                 16);
    EXPECT_OPEN_FAILS(p, p, "duplicate");
    p = write_st(dir, "entry.safetensors", "{\"w\": 5}", 0);
    EXPECT_OPEN_FAILS(p, "'w'", "not an object");
}

TEST(bad_offsets) {
    const char *dir = test_tmpdir();
    const char *p = write_st(dir, "past.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 16);
    EXPECT_OPEN_FAILS(p, "'w'", "run past the end of the data section");
    p = write_st(dir, "overlap.safetensors",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                 16);
    EXPECT_OPEN_FAILS(p, p, "overlap");
    p = write_st(dir, "gap.safetensors",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
                 16);
    EXPECT_OPEN_FAILS(p, "'b'", "gap");
    p = write_st(dir, "backwards.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8);
    EXPECT_OPEN_FAILS(p, "'w'", "end before they begin");
    p = write_st(dir, "neg.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4);
    EXPECT_OPEN_FAILS(p, "'w'", "data_offsets");
    p = write_st(dir, "three.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8);
    EXPECT_OPEN_FAILS(p, "'w'", "two non-negative integers");
}

TEST(bad_dtype_and_shape) {
    const char *dir = test_tmpdir();
    const char *p = write_st(dir, "i64.safetensors", "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16);
    EXPECT_OPEN_FAILS(p, "'ids'", "dtype 'I64' is not supported");
    p = write_st(dir, "f8.safetensors", "{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
    EXPECT_OPEN_FAILS(p, p, "dtype 'F8_E4M3' is not supported");
    p = write_st(dir, "nodtype.safetensors", "{\"x\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    EXPECT_OPEN_FAILS(p, "'x'", "dtype");
    p = write_st(dir, "size.safetensors", "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[0,16]}}", 16);
    EXPECT_OPEN_FAILS(p, "'w'", "hold 16 bytes but BF16 x shape needs 12");
    p = write_st(dir, "negshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
    EXPECT_OPEN_FAILS(p, "'w'", "shape[0]");
    p = write_st(dir, "hugeshape.safetensors",
                 "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,4]}}", 4);
    EXPECT_OPEN_FAILS(p, "'w'", "too large");
    p = write_st(dir, "5d.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4);
    EXPECT_OPEN_FAILS(p, "'w'", "dimensions");
}

TEST(bad_paths) {
    const char *dir = test_tmpdir();
    EXPECT_OPEN_FAILS(dir, dir, "no model.safetensors or model.safetensors.index.json");
    EXPECT_OPEN_FAILS("tests/fixtures/models/no-such-model", "no-such-model", "cannot open");
}

/* ---- sharded checkpoints ------------------------------------------------------------------------ */

/* A two-shard folder: shard 1 holds a, shard 2 holds b; `index` is written as given. */
static const char *make_sharded(const char *index, int write_second) {
    const char *dir = test_tmpdir();
    write_st(dir, "s1.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    if (write_second) write_st(dir, "s2.safetensors", "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    char path[1024];
    path_join(path, sizeof path, dir, "model.safetensors.index.json");
    FILE *f = fopen(path, "w");
    fputs(index, f);
    fclose(f);
    return dir;
}

TEST(sharded_ok) {
    const char *dir = make_sharded("{\"metadata\":{},\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}", 1);
    duo_error err = {{0}};
    duo_checkpoint *ck = checkpoint_open(dir, &err);
    CHECK_MSG(ck, "%s", err.msg);
    int ok = checkpoint_num_files(ck) == 2 && checkpoint_num_tensors(ck) == 2 && checkpoint_find(ck, "a") &&
             checkpoint_find(ck, "b") && checkpoint_find(ck, "b")->dtype == DUO_F16;
    checkpoint_close(ck);
    CHECK(ok);
}

TEST(bad_sharded) {
    const char *dir = make_sharded("{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}", 0);
    EXPECT_OPEN_FAILS(dir, "s2.safetensors", "cannot open");
    dir = make_sharded("{\"weight_map\":{\"a\":\"s1.safetensors\",", 1);
    EXPECT_OPEN_FAILS(dir, "model.safetensors.index.json", "not valid JSON");
    dir = make_sharded("{\"metadata\":{}}", 1);
    EXPECT_OPEN_FAILS(dir, "model.safetensors.index.json", "weight_map");
    dir = make_sharded("{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"}}", 1);
    EXPECT_OPEN_FAILS(dir, "model.safetensors.index.json", "weight_map puts tensor 'b' in s1.safetensors");
    dir = make_sharded("{\"weight_map\":{\"a\":\"../s1.safetensors\"}}", 1);
    EXPECT_OPEN_FAILS(dir, "model.safetensors.index.json", "file name in the same folder");
    dir = make_sharded("{\"weight_map\":{\"a\":7}}", 1);
    EXPECT_OPEN_FAILS(dir, "model.safetensors.index.json", "weight_map['a']");
    /* The same tensor name in two shards. */
    dir = make_sharded("{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}", 0);
    write_st(dir, "s2.safetensors", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    EXPECT_OPEN_FAILS(dir, "s2.safetensors", "tensor 'a' appears twice");
}

TEST_MAIN()
