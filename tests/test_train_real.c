/* `duo-train train` end to end on the tiny Llama fixture with the real two-way step (model/duo_step.h),
 * on a small synthetic dataset built here with the byte tokenizer of tests/synth_toy.h:
 * stop + resume reproduces a straight run bit for bit, the logged distill of a step equals an
 * independent duo_step_run on that step's sample and gates, resuming with other settings is refused. */
#include <stdint.h>

#include "data/fileio.h"
#include "data/h5store.h"
#include "data/model.h"
#include "model/duo_step.h"
#include "synth/h5file.h"
#include "tests/harness.h"
#include "tests/synth_toy.h"
#include "cli/cli.h"

#define MODEL "tests/fixtures/tiny-llama"

static const char *const *corpus_texts(void) {
    static char buf[40][101];
    static const char *ptrs[40];
    for (int i = 0; i < 40; i++) {
        for (int j = 0; j < 100; j++) buf[i][j] = (char)('a' + (i * 7 + j * 3) % 26);
        buf[i][99] = '.';
        buf[i][100] = '\0';
        ptrs[i] = buf[i];
    }
    return ptrs;
}

/* 6 samples of 300..600 haystack tokens, 2 passkeys of 2 words. */
static int make_dataset(const char *path, duo_error *err) {
    synth_params p;
    synth_params_default(&p);
    p.context_length_min = 300;
    p.context_length_max = 600;
    p.context_lengths_num_intervals = 3;
    p.depth_ratio_num_intervals = 10;
    p.num_passkeys = 2;
    p.passkey_length = 2;
    p.buffer_size = 50;
    p.seed = 7;
    toy_texts tt = {corpus_texts(), 40, 0};
    synth_text_source src = toy_source(&tt);
    synth_encoder enc = toy_encoder();
    synth_builder *b = synth_builder_new(&p, &enc, &src, err);
    if (!b) return -1;
    synth_file_meta meta = {"toy-bytes", "in-memory", NULL, NULL};
    int rc = synth_file_write(path, b, 6, &meta, err);
    synth_builder_free(b);
    return rc;
}

static int train(const char *data, const char *out, const char *extra1, const char *extra2, const char *extra3) {
    const char *argv[32] = {"train", "--model", MODEL, "--dataset", data, "--output-dir", out, "--num-steps", "10",
                            "--save-steps", "3", "--sink-size", "16", "--recent-size", "64", "--reg", "1.0",
                            "--lr", "0.05"};
    int argc = 19;
    if (extra1) argv[argc++] = extra1;
    if (extra2) argv[argc++] = extra2;
    if (extra3) argv[argc++] = extra3;
    char *copy[32];
    for (int i = 0; i < argc; i++) copy[i] = strdup(argv[i]);
    copy[argc] = NULL;
    int rc = cmd_train(argc, copy);
    for (int i = 0; i < argc; i++) free(copy[i]);
    return rc;
}

/* For the shell test: writes the dataset to $DUO_TRAIN_DATASET_OUT when set. */
TEST(make_dataset_for_cli_tests) {
    const char *out = getenv("DUO_TRAIN_DATASET_OUT");
    char path[600];
    if (!out) {
        const char *dir = test_tmpdir();
        CHECK(dir);
        snprintf(path, sizeof path, "%s/data.h5", dir);
        out = path;
    }
    duo_error err;
    CHECK_MSG(make_dataset(out, &err) == 0, "%.300s", err.msg);
}

TEST(resume_matches_straight_run_and_log_matches_step) {
    setenv("DUO_PROGRESS", "0", 1);
    const char *tmp = test_tmpdir();
    CHECK(tmp);
    char data[600], a[600], b[600], p1[700], p2[700];
    snprintf(data, sizeof data, "%s/data.h5", tmp);
    snprintf(a, sizeof a, "%s/straight", tmp);
    snprintf(b, sizeof b, "%s/resumed", tmp);
    duo_error err;
    CHECK_MSG(make_dataset(data, &err) == 0, "%.300s", err.msg);
    CHECK_EQ_INT(train(data, a, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(train(data, b, "--stop-after", "4", NULL), 0);
    CHECK_EQ_INT(train(data, b, "--resume", "--stop-after", "7"), 0);
    CHECK_EQ_INT(train(data, b, "--resume", NULL, NULL), 0);
    CHECK(files_identical(path_join(p1, sizeof p1, a, "full_attention_heads.tsv"), path_join(p2, sizeof p2, b, "full_attention_heads.tsv")));
    CHECK(files_identical(path_join(p1, sizeof p1, a, "full_attention_heads_step=6.tsv"),
                    path_join(p2, sizeof p2, b, "full_attention_heads_step=6.tsv")));
    CHECK(path_exists(path_join(p1, sizeof p1, a, "config.json")));
    CHECK(path_exists(path_join(p1, sizeof p1, a, "full_attention_heads.png")));

    /* Independent check of what the loop logged: distill at step k (1-based) == duo_step_run on sample
     * (k-1) mod 6 with the gates after step k-1, clamped. */
    duo_h5 *h = h5store_open(path_join(p1, sizeof p1, a, "train_state.h5"), 0, &err);
    CHECK(h);
    enum { NG = 2 * 2 };
    float hist[10 * NG];
    double distill[10];
    int64_t len[10];
    int ok = !h5store_read(h, "log/gate_history", DUO_H5_F32, hist, 10 * NG, &err) &&
             !h5store_read(h, "log/distill", DUO_H5_F64, distill, 10, &err) &&
             !h5store_read(h, "log/sample_length", DUO_H5_I64, len, 10, &err);
    h5store_close(h);
    CHECK_MSG(ok, "%.300s", err.msg);
    duo_model m;
    CHECK(model_open(MODEL, &m, &err) == 0);
    duo_step_opts so = {.sink_size = 16, .recent_size = 64, .streaming = ATTN_STREAM_BLOCKSPARSE, .use_cone = 1};
    duo_step_ctx *ctx = duo_step_create(&m, &so, NULL, &err);
    CHECK(ctx);
    synth_file *f = synth_file_open(data, &err);
    CHECK(f);
    int bad = 0;
    double moved = 0;
    for (int k = 2; k <= 10 && !bad; k += 4) {
        synth_sample s = {0};
        float g[NG], grad[NG];
        for (int i = 0; i < NG; i++) {
            float x = hist[(k - 2) * NG + i];
            g[i] = x < 0 ? 0 : x > 1 ? 1 : x;
        }
        duo_step_result r;
        bad = synth_file_read(f, (k - 1) % 6, &s, &err) || duo_step_run(ctx, s.input_ids, s.labels, s.n, g, &r, grad, &err);
        if (!bad && (r.distill != distill[k - 1] || (int64_t)s.n != len[k - 1])) bad = 2;
        synth_sample_free(&s);
    }
    for (int i = 0; i < NG; i++) moved += 1.0 - hist[9 * NG + i];
    synth_file_close(f);
    duo_step_free(ctx);
    model_close(&m);
    CHECK_MSG(bad == 0, "logged distill differs from an independent step (%d) %.200s", bad, err.msg);
    CHECK_MSG(moved > 0.05, "the gates did not move");
    CHECK(distill[9] > 0);
}

TEST(resume_with_other_settings_or_model_refused) {
    setenv("DUO_PROGRESS", "0", 1);
    const char *tmp = test_tmpdir();
    CHECK(tmp);
    char data[600], a[600];
    snprintf(data, sizeof data, "%s/data.h5", tmp);
    snprintf(a, sizeof a, "%s/run", tmp);
    duo_error err;
    CHECK(make_dataset(data, &err) == 0);
    CHECK_EQ_INT(train(data, a, "--stop-after", "3", NULL), 0);
    /* --reg differs (the later --reg overrides the one train() sets) */
    CHECK_EQ_INT(train(data, a, "--resume", "--reg", "0.5"), 1);
    CHECK_EQ_INT(train(data, a, "--resume", "--sink-size", "32"), 1);
    CHECK_EQ_INT(train(data, a, "--resume", "--model", "tests/fixtures/models/tiny-llama-gqa"), 1); /* same shape */
    CHECK_EQ_INT(train(data, a, "--resume", "--stop-after", "5"), 0);
    /* data flags must agree with the dataset file */
    CHECK_EQ_INT(train(data, a, "--num-passkeys", "3", NULL), 1);
    CHECK_EQ_INT(train(data, a, "--num-steps", "4", NULL), 2);
}

/* --streaming_attn_implementation sdpa reaches the step: a different mask gives a different distill
 * once the gates have left 1 (at 1 the student equals the teacher in both forms), and config.json
 * records it. */
TEST(sdpa_streaming_form_is_used) {
    setenv("DUO_PROGRESS", "0", 1);
    const char *tmp = test_tmpdir();
    CHECK(tmp);
    char data[600], a[600], b[600], p[700];
    snprintf(data, sizeof data, "%s/data.h5", tmp);
    snprintf(a, sizeof a, "%s/blocksparse", tmp);
    snprintf(b, sizeof b, "%s/sdpa", tmp);
    duo_error err;
    CHECK(make_dataset(data, &err) == 0);
    CHECK_EQ_INT(train(data, a, "--stop-after", "3", NULL), 0);
    CHECK_EQ_INT(train(data, b, "--stop-after", "3", "--streaming-attn-implementation=sdpa"), 0);
    double da[3], db[3];
    duo_h5 *h = h5store_open(path_join(p, sizeof p, a, "train_state.h5"), 0, &err);
    CHECK(h);
    int ok = !h5store_read(h, "log/distill", DUO_H5_F64, da, 3, &err);
    h5store_close(h);
    h = h5store_open(path_join(p, sizeof p, b, "train_state.h5"), 0, &err);
    CHECK(h);
    ok = ok && !h5store_read(h, "log/distill", DUO_H5_F64, db, 3, &err);
    h5store_close(h);
    CHECK(ok);
    CHECK_MSG(da[2] > 0 && db[2] > 0 && da[2] != db[2], "distill at step 3: blocksparse %g, sdpa %g", da[2], db[2]);
    char *cfg = file_read_all(path_join(p, sizeof p, b, "config.json"), NULL, &err);
    CHECK(cfg);
    ok = strstr(cfg, "\"streaming_attn_implementation\": \"sdpa\"") != NULL;
    free(cfg);
    CHECK(ok);
}

TEST_MAIN()
