/* The training loop through its real code path, driven by a small fake objective (a quadratic in the
 * gates whose targets change with the step, like samples do): stop/resume and kill/resume give the
 * same gates bit for bit as a straight run, NaN stops with the step named and keeps the last
 * checkpoint, a resume with other settings is refused, and the files of DESIGN §3 are written. */
#include <signal.h>
#include <sys/wait.h>

#include "data/fileio.h"
#include "data/h5store.h"
#include "tests/harness.h"
#include "pattern/export.h"
#include "train/train_loop.h"

enum { L = 3, H = 4, N = L * H };

typedef struct {
    long nan_at;     /* 0-based step whose loss is NaN (-1: never) */
    int slow_us;     /* sleep per step (kill test) */
} fake_ctx;

/* distill = mean_i w_i (a_i - t_i(step))^2 with targets in [-0.2, 1.2] that depend on the step. */
static int fake_run(void *vctx, long step, const float *gates, size_t n, double *distill, float *grad,
                    long *sample_length, long *context_length, duo_error *err) {
    fake_ctx *c = vctx;
    if (c->slow_us) usleep((useconds_t)c->slow_us);
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double t = -0.2 + 1.4 * (double)((i * 7 + (size_t)step % 3) % n) / (double)(n - 1);
        double w = 0.5 + (double)(i % 3);
        d += w * ((double)gates[i] - t) * ((double)gates[i] - t);
        grad[i] = (float)(2.0 * w * ((double)gates[i] - t) / (double)n);
    }
    *distill = step == c->nan_at ? NAN : d / (double)n;
    *sample_length = 1000 + step;
    *context_length = 900 + step;
    (void)err;
    return 0;
}

static duo_train_opts base_opts(const char *dir) {
    duo_train_opts o = {0};
    o.num_layers = L;
    o.num_kv_heads = H;
    o.num_steps = 23;
    o.save_steps = 5;
    o.lr = 0.05;
    o.reg_weight = 0.05;
    o.initial_value = 1.0f;
    o.seed = 42;
    o.output_dir = dir;
    o.run_identity = "{\"lr\": 0.05, \"model\": \"fake\"}";
    return o;
}

static int run_straight(const char *dir, float *gates, duo_error *err) {
    fake_ctx fc = {-1, 0};
    duo_objective obj = {&fc, fake_run};
    duo_train_opts o = base_opts(dir);
    duo_train_result r;
    return train_loop_run(&o, &obj, &r, gates, err);
}

TEST(straight_run_writes_pattern_files) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    float gates[N];
    duo_error err;
    CHECK_MSG(run_straight(dir, gates, &err) == 0, "%.300s", err.msg);
    char p[700];
    const char *files[] = {"full_attention_heads.tsv", "full_attention_heads_latest.tsv", "full_attention_heads_step=5.tsv",
                           "full_attention_heads_step=20.tsv", "full_attention_heads_step=23.tsv", "train_state.h5",
                           "full_attention_heads.png"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        CHECK_MSG(path_exists(path_join(p, sizeof p, dir, files[i])), "missing %s", files[i]);
    CHECK(!path_exists(path_join(p, sizeof p, dir, "full_attention_heads_step=25.tsv")));
    /* The final TSV holds exactly the returned gates; the gates moved towards their targets. */
    double *back;
    int r, c;
    CHECK(export_read_tsv(path_join(p, sizeof p, dir, "full_attention_heads.tsv"), &back, &r, &c, &err) == 0);
    CHECK(r == L && c == H);
    int moved = 0;
    for (int i = 0; i < N; i++) {
        moved += gates[i] < 0.99f;
        if (back[i] != (double)gates[i]) { free(back); FAILF("TSV value %d differs", i); }
    }
    free(back);
    CHECK(moved > N / 2);
    /* The state: step 23, 23 log entries, gate history's last row == final gates. */
    duo_h5 *h = h5store_open(path_join(p, sizeof p, dir, "train_state.h5"), 0, &err);
    CHECK(h);
    int64_t step = 0;
    float hist[23 * N];
    double lr[23];
    int ok = h5store_get_attr_i64(h, "/", "step", &step, &err) == 0 &&
             h5store_read(h, "log/gate_history", DUO_H5_F32, hist, 23 * N, &err) == 0 &&
             h5store_read(h, "log/lr", DUO_H5_F64, lr, 23, &err) == 0;
    h5store_close(h);
    CHECK_MSG(ok, "%.300s", err.msg);
    CHECK_EQ_INT(step, 23);
    CHECK(!memcmp(hist + 22 * N, gates, sizeof gates));
    CHECK_CLOSE(lr[0], 0.05 * 0.25, 1e-15); /* (0+1) / (23//5) */
    CHECK_CLOSE(lr[10], 0.05, 1e-15);
}

TEST(stop_and_resume_is_bit_identical) {
    const char *d1 = test_tmpdir();
    char a[600];
    snprintf(a, sizeof a, "%s", d1);
    const char *d2 = test_tmpdir();
    CHECK(d1 && d2);
    float straight[N], resumed[N];
    duo_error err;
    CHECK(run_straight(a, straight, &err) == 0);
    fake_ctx fc = {-1, 0};
    duo_objective obj = {&fc, fake_run};
    duo_train_result r;
    for (long stop = 7; stop <= 23; stop += 8) { /* stop at 7 (not a save step: resumes from 5), 15, then finish */
        duo_train_opts o = base_opts(d2);
        o.stop_after = stop;
        o.resume = 1;
        CHECK_MSG(train_loop_run(&o, &obj, &r, resumed, &err) == 0, "%.300s", err.msg);
    }
    CHECK(r.finished);
    CHECK(!memcmp(straight, resumed, sizeof straight));
    char p1[700], p2[700];
    CHECK(files_identical(path_join(p1, sizeof p1, a, "full_attention_heads.tsv"), path_join(p2, sizeof p2, d2, "full_attention_heads.tsv")));
    CHECK(files_identical(path_join(p1, sizeof p1, a, "full_attention_heads_step=10.tsv"),
                    path_join(p2, sizeof p2, d2, "full_attention_heads_step=10.tsv")));
    /* The logs agree too (a resume rebuilds the history, then appends). */
    duo_h5 *h1 = h5store_open(path_join(p1, sizeof p1, a, "train_state.h5"), 0, &err);
    duo_h5 *h2 = h5store_open(path_join(p2, sizeof p2, d2, "train_state.h5"), 0, &err);
    CHECK(h1 && h2);
    double l1[23], l2[23];
    float g1[23 * N], g2[23 * N];
    int ok = !h5store_read(h1, "log/loss", DUO_H5_F64, l1, 23, &err) && !h5store_read(h2, "log/loss", DUO_H5_F64, l2, 23, &err) &&
             !h5store_read(h1, "log/gate_history", DUO_H5_F32, g1, 23 * N, &err) &&
             !h5store_read(h2, "log/gate_history", DUO_H5_F32, g2, 23 * N, &err);
    h5store_close(h1);
    h5store_close(h2);
    CHECK(ok);
    CHECK(!memcmp(l1, l2, sizeof l1));
    CHECK(!memcmp(g1, g2, sizeof g1));
}

TEST(kill_during_run_then_resume) {
    const char *d1 = test_tmpdir();
    char a[600];
    snprintf(a, sizeof a, "%s", d1);
    const char *d2 = test_tmpdir();
    CHECK(d1 && d2);
    float straight[N], resumed[N];
    duo_error err;
    CHECK(run_straight(a, straight, &err) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        fake_ctx fc = {-1, 20000}; /* 20 ms a step */
        duo_objective obj = {&fc, fake_run};
        duo_train_opts o = base_opts(d2);
        duo_train_result r;
        train_loop_run(&o, &obj, &r, NULL, &err);
        _exit(0);
    }
    usleep(250000); /* ~12 steps in: past the checkpoints at 5 and 10 */
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFSIGNALED(status), "the child finished before the kill; make it slower");
    char p[700];
    CHECK(!path_exists(path_join(p, sizeof p, d2, "full_attention_heads.tsv")));
    fake_ctx fc = {-1, 0};
    duo_objective obj = {&fc, fake_run};
    duo_train_opts o = base_opts(d2);
    o.resume = 1;
    duo_train_result r;
    CHECK_MSG(train_loop_run(&o, &obj, &r, resumed, &err) == 0, "%.300s", err.msg);
    CHECK_MSG(r.start_step > 0, "the killed run left no checkpoint to resume from");
    CHECK(!memcmp(straight, resumed, sizeof straight));
}

TEST(nan_stops_and_keeps_last_checkpoint) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    fake_ctx fc = {12, 0}; /* the 13th step */
    duo_objective obj = {&fc, fake_run};
    duo_train_opts o = base_opts(dir);
    duo_train_result r;
    duo_error err;
    CHECK(train_loop_run(&o, &obj, &r, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "step 13") && strstr(err.msg, "not finite") && strstr(err.msg, "last checkpoint (step 10)"),
              "message: %.300s", err.msg);
    CHECK_EQ_INT(r.end_step, 12);
    char p[700];
    duo_h5 *h = h5store_open(path_join(p, sizeof p, dir, "train_state.h5"), 0, &err);
    CHECK(h);
    int64_t step = 0;
    h5store_get_attr_i64(h, "/", "step", &step, &err);
    h5store_close(h);
    CHECK_EQ_INT(step, 10);
    CHECK(!path_exists(path_join(p, sizeof p, dir, "full_attention_heads.tsv")));
}

TEST(resume_with_other_settings_is_refused) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    fake_ctx fc = {-1, 0};
    duo_objective obj = {&fc, fake_run};
    duo_train_opts o = base_opts(dir);
    o.stop_after = 5;
    duo_train_result r;
    duo_error err;
    CHECK(train_loop_run(&o, &obj, &r, NULL, &err) == 0);
    o.stop_after = 0;
    o.resume = 1;
    o.run_identity = "{\"lr\": 0.1, \"model\": \"fake\"}";
    CHECK(train_loop_run(&o, &obj, &r, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "refusing to resume") && strstr(err.msg, "lr: saved 0.05, now 0.1"), "message: %.300s", err.msg);
    /* other model shape */
    o.run_identity = base_opts(dir).run_identity;
    o.num_layers = 2;
    CHECK(train_loop_run(&o, &obj, &r, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "3 x 4"), "message: %.300s", err.msg);
}

TEST(identity_check_lists_differences) {
    duo_error err;
    CHECK(train_identity_check("{\"a\": 1, \"b\": \"x\"}", "{\"b\": \"x\", \"a\": 1}", &err) == 0);
    CHECK(train_identity_check("{\"a\": 1}", "{\"a\": 2, \"c\": 3}", &err) == -1);
    CHECK(strstr(err.msg, "a: saved 1, now 2") && strstr(err.msg, "c: not in the saved run"));
}

TEST(rejects_too_few_steps) {
    const char *dir = test_tmpdir();
    fake_ctx fc = {-1, 0};
    duo_objective obj = {&fc, fake_run};
    duo_train_opts o = base_opts(dir);
    o.num_steps = 4;
    duo_train_result r;
    duo_error err;
    CHECK(train_loop_run(&o, &obj, &r, NULL, &err) == -1);
    CHECK(strstr(err.msg, "num_steps"));
}

TEST_MAIN()
