/* synth/h5file: what is written is read back sample for sample, the same seed gives the same bytes. */
#include <stdint.h>

#include "synth/h5file.h"
#include "tests/harness.h"
#include "tests/synth_toy.h"

static const char *const *corpus_texts(void) {
    static char buf[40][101];
    static const char *ptrs[40];
    for (int i = 0; i < 40; i++) {
        for (int j = 0; j < 100; j++) buf[i][j] = (char)('a' + (i * 7 + j) % 26);
        buf[i][99] = '.';
        buf[i][100] = '\0';
        ptrs[i] = buf[i];
    }
    return ptrs;
}

static synth_builder *build(uint64_t seed, duo_error *err) {
    synth_params p;
    synth_params_default(&p);
    p.context_length_min = 1000;
    p.context_length_max = 3000;
    p.context_lengths_num_intervals = 4;
    p.depth_ratio_num_intervals = 30;
    p.num_passkeys = 3;
    p.passkey_length = 4;
    p.buffer_size = 50;
    p.seed = seed;
    toy_texts tt = {corpus_texts(), 40, 0};
    synth_text_source src = toy_source(&tt);
    synth_encoder enc = toy_encoder();
    return synth_builder_new(&p, &enc, &src, err);
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc(*len ? *len : 1);
    if (d && fread(d, 1, *len, f) != *len) {
        free(d);
        d = NULL;
    }
    fclose(f);
    return d;
}

static int same_sample(const synth_sample *a, const synth_sample *b) {
    if (a->n != b->n || a->num_passkeys != b->num_passkeys || a->index != b->index ||
        a->context_index != b->context_index || a->context_length != b->context_length ||
        a->haystack_length != b->haystack_length || a->qa_start != b->qa_start)
        return 0;
    if (memcmp(a->input_ids, b->input_ids, a->n * 4) || memcmp(a->labels, b->labels, a->n * 4)) return 0;
    size_t P = (size_t)a->num_passkeys;
    if (memcmp(a->depth_index, b->depth_index, P * 4) || memcmp(a->depth_ratio, b->depth_ratio, P * 4) ||
        memcmp(a->insertion_point, b->insertion_point, P * 4) || memcmp(a->needle_pos, b->needle_pos, P * 8) ||
        memcmp(a->passkey_pos, b->passkey_pos, P * 8) || memcmp(a->answer_pos, b->answer_pos, P * 8))
        return 0;
    for (size_t j = 0; j < P; j++)
        if (strcmp(a->passkeys[j], b->passkeys[j])) return 0;
    return 1;
}

TEST(write_read_round_trip) {
    duo_error err = {0};
    const char *dir = test_tmpdir();
    CHECK(dir);
    char path[600];
    snprintf(path, sizeof path, "%s/s.h5", dir);
    synth_builder *b = build(42, &err);
    CHECK_MSG(b, "%.300s", err.msg);
    synth_file_meta meta = {"toy-tokenizer", "toy-corpus", NULL, NULL};
    CHECK_MSG(synth_file_write(path, b, 9, &meta, &err) == 0, "%.300s", err.msg);
    synth_file *f = synth_file_open(path, &err);
    CHECK_MSG(f, "%.300s", err.msg);
    CHECK_EQ_INT(synth_file_num_samples(f), 9);
    char *tok = synth_file_attr_str(f, "tokenizer");
    CHECK_STR(tok, "toy-tokenizer");
    free(tok);
    for (int64_t i = 0; i < 9; i++) {
        synth_sample a, r;
        CHECK(synth_sample_generate(b, i, &a, &err) == 0);
        CHECK_MSG(synth_file_read(f, i, &r, &err) == 0, "%.300s", err.msg);
        int same = same_sample(&a, &r);
        synth_sample_free(&a);
        synth_sample_free(&r);
        CHECK_MSG(same, "sample %lld differs after the round trip", (long long)i);
    }
    synth_sample r;
    CHECK(synth_file_read(f, 9, &r, &err) == -1 && strstr(err.msg, "no sample 9"));
    synth_file_close(f);
    synth_builder_free(b);
}

TEST(same_seed_same_bytes) {
    duo_error err = {0};
    const char *dir = test_tmpdir();
    CHECK(dir);
    char p1[600], p2[600], p3[600];
    snprintf(p1, sizeof p1, "%s/a.h5", dir);
    snprintf(p2, sizeof p2, "%s/b.h5", dir);
    snprintf(p3, sizeof p3, "%s/c.h5", dir);
    synth_builder *b1 = build(7, &err), *b2 = build(7, &err), *b3 = build(8, &err);
    CHECK_MSG(b1 && b2 && b3, "%.300s", err.msg);
    synth_file_meta meta = {"t", "c", NULL, NULL};
    CHECK(synth_file_write(p1, b1, 6, &meta, &err) == 0);
    CHECK(synth_file_write(p2, b2, 6, &meta, &err) == 0);
    CHECK(synth_file_write(p3, b3, 6, &meta, &err) == 0);
    size_t l1 = 0, l2 = 0, l3 = 0;
    unsigned char *d1 = slurp(p1, &l1), *d2 = slurp(p2, &l2), *d3 = slurp(p3, &l3);
    CHECK(d1 && d2 && d3);
    int same12 = l1 == l2 && memcmp(d1, d2, l1) == 0, same13 = l1 == l3 && memcmp(d1, d3, l1) == 0;
    free(d1);
    free(d2);
    free(d3);
    synth_builder_free(b1);
    synth_builder_free(b2);
    synth_builder_free(b3);
    CHECK_MSG(same12, "two files written with seed 7 differ");
    CHECK_MSG(!same13, "seeds 7 and 8 wrote the same file");
    char tmpname[700];
    snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", p1, (long)getpid());
    CHECK(access(tmpname, F_OK) != 0);
}

TEST(bad_files_are_clear_errors) {
    duo_error err = {0};
    const char *dir = test_tmpdir();
    CHECK(dir);
    char path[600];
    snprintf(path, sizeof path, "%s/not.h5", dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs("not hdf5\n", f);
    fclose(f);
    CHECK(synth_file_open(path, &err) == NULL && strstr(err.msg, "cannot open"));
    snprintf(path, sizeof path, "%s/missing.h5", dir);
    CHECK(synth_file_open(path, &err) == NULL && strstr(err.msg, "missing.h5"));
    synth_builder *b = build(1, &err);
    CHECK(b);
    snprintf(path, sizeof path, "%s/no/such/dir/x.h5", dir);
    CHECK(synth_file_write(path, b, 2, NULL, &err) == -1 && strstr(err.msg, "cannot create"));
    synth_builder_free(b);
}

TEST_MAIN()
