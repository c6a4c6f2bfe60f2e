/* h5store: round trips of every element type and shape, strings, attributes, errors that name the file
 * and dataset, and the atomic replace (a writer killed at any moment leaves the last good file).
 *
 * `test_h5store --write PATH` writes the fixture file that tests/py/test_h5store_h5py.py reads with h5py;
 * `test_h5store --check-h5py PATH` checks the file that test writes with h5py. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "data/h5store.h"
#include "tests/harness.h"

static void tmp_path(char *out, size_t cap, const char *name) {
    const char *dir = test_tmpdir();
    snprintf(out, cap, "%s/%s", dir ? dir : "/tmp", name);
}

/* The fixture: values are simple formulas so the h5py test recomputes them independently. */
static int write_fixture(const char *path, duo_error *err) {
    duo_h5 *h = h5store_create(path, err);
    if (!h) return -1;
    int32_t i32[10];
    for (int i = 0; i < 10; i++) i32[i] = i * 7 - 3;
    int64_t i64[3 * 4];
    for (int i = 0; i < 12; i++) i64[i] = ((int64_t)1 << 40) + i;
    float f32[2 * 3 * 4];
    for (int i = 0; i < 24; i++) f32[i] = 0.5f * (float)i;
    double f64[4 * 2];
    for (int i = 0; i < 8; i++) f64[i] = 1.0 / (i + 1);
    uint8_t u8[256];
    for (int i = 0; i < 256; i++) u8[i] = (uint8_t)i;
    enum { R = 1000, C = 50 };
    float *loss = malloc(sizeof(float) * R * C);
    for (int i = 0; i < R * C; i++) loss[i] = (float)sin(i * 0.01);
    const char *strs[] = {"alpha", "\xce\xb2" "eta", "", "emoji \xf0\x9f\x99\x82"};
    size_t d3[3] = {2, 3, 4}, d2[2] = {R, C};
    double scalar = 2.5;
    int rc = 0;
    rc |= h5store_write_1d(h, "ints/i32", DUO_H5_I32, 10, i32, err);
    rc |= h5store_write_2d(h, "ints/i64", DUO_H5_I64, 3, 4, i64, err);
    rc |= h5store_write(h, "state/f32", DUO_H5_F32, 3, d3, f32, err);
    rc |= h5store_write_2d(h, "state/gates", DUO_H5_F64, 4, 2, f64, err);
    rc |= h5store_write_1d(h, "bytes", DUO_H5_U8, 256, u8, err);
    rc |= h5store_write(h, "scalar", DUO_H5_F64, 0, NULL, &scalar, err);
    rc |= h5store_write_deflate(h, "log/loss", DUO_H5_F32, 2, d2, loss, 4, err);
    rc |= h5store_write_strings(h, "names", strs, 4, err);
    rc |= h5store_set_attr_i64(h, NULL, "step", 1234, err);
    rc |= h5store_set_attr_f64(h, "/", "lr", 2e-3, err);
    rc |= h5store_set_attr_str(h, "/", "model", "tiny-llama \xc3\xbcn\xc3\xaf", err);
    rc |= h5store_set_attr_str(h, "state/gates", "units", "gate", err);
    free(loss);
    if (rc) {
        h5store_close(h);
        return -1;
    }
    return h5store_commit(h, err);
}

TEST(round_trip_every_type_and_shape) {
    char path[600];
    tmp_path(path, sizeof path, "rt.h5");
    duo_error err = {{0}};
    CHECK_MSG(write_fixture(path, &err) == 0, "%.900s", err.msg);
    duo_h5 *h = h5store_open(path, 0, &err);
    CHECK_MSG(h, "%.900s", err.msg);

    int32_t i32[10];
    CHECK_MSG(h5store_read(h, "ints/i32", DUO_H5_I32, i32, 10, &err) == 0, "%.900s", err.msg);
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(i32[i], i * 7 - 3);

    int rank = -1;
    size_t dims[H5STORE_MAX_RANK];
    int64_t *i64 = h5store_read_alloc(h, "/ints/i64", DUO_H5_I64, &rank, dims, &err);
    CHECK_MSG(i64, "%.900s", err.msg);
    int ok = rank == 2 && dims[0] == 3 && dims[1] == 4;
    for (int i = 0; ok && i < 12; i++) ok = i64[i] == ((int64_t)1 << 40) + i;
    free(i64);
    CHECK(ok);

    CHECK_EQ_INT(h5store_dims(h, "state/f32", &rank, dims, &err), 0);
    CHECK_EQ_INT(rank, 3);
    CHECK(dims[0] == 2 && dims[1] == 3 && dims[2] == 4);
    float f32[24];
    CHECK_EQ_INT(h5store_read(h, "state/f32", DUO_H5_F32, f32, 24, &err), 0);
    for (int i = 0; i < 24; i++) CHECK(f32[i] == 0.5f * (float)i);

    double f64[8];
    CHECK_EQ_INT(h5store_read(h, "state/gates", DUO_H5_F64, f64, 8, &err), 0);
    for (int i = 0; i < 8; i++) CHECK(f64[i] == 1.0 / (i + 1));
    /* A float dataset read as another float width converts. */
    float f64_as_f32[8];
    CHECK_EQ_INT(h5store_read(h, "state/gates", DUO_H5_F32, f64_as_f32, 8, &err), 0);
    CHECK(f64_as_f32[2] == (float)(1.0 / 3));

    uint8_t u8[256];
    CHECK_EQ_INT(h5store_read(h, "bytes", DUO_H5_U8, u8, 256, &err), 0);
    for (int i = 0; i < 256; i++) CHECK_EQ_INT(u8[i], i);

    double scalar = 0;
    CHECK_EQ_INT(h5store_dims(h, "scalar", &rank, dims, &err), 0);
    CHECK_EQ_INT(rank, 0);
    CHECK_EQ_INT(h5store_read(h, "scalar", DUO_H5_F64, &scalar, 1, &err), 0);
    CHECK(scalar == 2.5);

    float *loss = h5store_read_alloc(h, "log/loss", DUO_H5_F32, &rank, dims, &err);
    CHECK_MSG(loss, "%.900s", err.msg);
    ok = rank == 2 && dims[0] == 1000 && dims[1] == 50;
    for (int i = 0; ok && i < 1000 * 50; i++) ok = loss[i] == (float)sin(i * 0.01);
    free(loss);
    CHECK(ok);

    char **strs = NULL;
    size_t n = 0;
    CHECK_MSG(h5store_read_strings(h, "names", &strs, &n, &err) == 0, "%.900s", err.msg);
    CHECK_EQ_INT(n, 4);
    ok = !strcmp(strs[0], "alpha") && !strcmp(strs[1], "\xce\xb2" "eta") && !strcmp(strs[2], "") &&
         !strcmp(strs[3], "emoji \xf0\x9f\x99\x82");
    h5store_free_strings(strs, n);
    CHECK(ok);

    int64_t step = 0;
    double lr = 0;
    CHECK_EQ_INT(h5store_get_attr_i64(h, "/", "step", &step, &err), 0);
    CHECK_EQ_INT(step, 1234);
    CHECK_EQ_INT(h5store_get_attr_f64(h, NULL, "lr", &lr, &err), 0);
    CHECK(lr == 2e-3);
    char *model = h5store_get_attr_str(h, NULL, "model", &err);
    char *units = h5store_get_attr_str(h, "state/gates", "units", &err);
    ok = model && units && !strcmp(model, "tiny-llama \xc3\xbcn\xc3\xaf") && !strcmp(units, "gate");
    free(model);
    free(units);
    CHECK(ok);
    /* An integer attribute reads as a double too. */
    CHECK_EQ_INT(h5store_get_attr_f64(h, NULL, "step", &lr, &err), 0);
    CHECK(lr == 1234.0);
    CHECK(h5store_has_attr(h, NULL, "step"));
    CHECK(!h5store_has_attr(h, NULL, "nope"));
    CHECK(!h5store_has_attr(h, "no/such/object", "step"));
    h5store_close(h);
}

TEST(exists_dims_and_empty_datasets) {
    char path[600];
    tmp_path(path, sizeof path, "ex.h5");
    duo_error err = {{0}};
    duo_h5 *h = h5store_create(path, &err);
    CHECK_MSG(h, "%.900s", err.msg);
    size_t zero = 0;
    CHECK_EQ_INT(h5store_write(h, "a/b/empty", DUO_H5_F32, 1, &zero, NULL, &err), 0);
    CHECK_EQ_INT(h5store_write_strings(h, "a/nostrings", NULL, 0, &err), 0);
    CHECK_EQ_INT(h5store_commit(h, &err), 0);

    h = h5store_open(path, 0, &err);
    CHECK_MSG(h, "%.900s", err.msg);
    CHECK(h5store_exists(h, "a/b/empty"));
    CHECK(h5store_exists(h, "/a/b/empty"));
    CHECK(!h5store_exists(h, "a/b"));           /* a group, not a dataset */
    CHECK(!h5store_exists(h, "a/b/missing"));
    CHECK(!h5store_exists(h, "x/y/z"));         /* missing intermediate groups are not an error */
    int rank = -1;
    size_t dims[H5STORE_MAX_RANK] = {99};
    CHECK_EQ_INT(h5store_dims(h, "a/b/empty", &rank, dims, &err), 0);
    CHECK(rank == 1 && dims[0] == 0);
    float *v = h5store_read_alloc(h, "a/b/empty", DUO_H5_F32, &rank, dims, &err);
    CHECK_MSG(v, "%.900s", err.msg);
    free(v);
    char **s = NULL;
    size_t n = 9;
    CHECK_EQ_INT(h5store_read_strings(h, "a/nostrings", &s, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    h5store_free_strings(s, n);
    h5store_close(h);
}

TEST(rewrite_replaces_a_dataset) {
    char path[600];
    tmp_path(path, sizeof path, "rw.h5");
    duo_error err = {{0}};
    duo_h5 *h = h5store_create(path, &err);
    CHECK_MSG(h, "%.900s", err.msg);
    int32_t a[3] = {1, 2, 3}, b[2 * 2] = {9, 8, 7, 6};
    CHECK_EQ_INT(h5store_write_1d(h, "x", DUO_H5_I32, 3, a, &err), 0);
    CHECK_EQ_INT(h5store_write_2d(h, "x", DUO_H5_I32, 2, 2, b, &err), 0);
    CHECK_EQ_INT(h5store_set_attr_i64(h, "x", "k", 1, &err), 0);
    CHECK_EQ_INT(h5store_set_attr_i64(h, "x", "k", 2, &err), 0);
    CHECK_EQ_INT(h5store_commit(h, &err), 0);
    /* In-place read-write open: add a dataset to the committed file. */
    h = h5store_open(path, 1, &err);
    CHECK_MSG(h, "%.900s", err.msg);
    CHECK_EQ_INT(h5store_write_1d(h, "y", DUO_H5_I32, 3, a, &err), 0);
    h5store_close(h);

    h = h5store_open(path, 0, &err);
    CHECK_MSG(h, "%.900s", err.msg);
    int rank;
    size_t dims[H5STORE_MAX_RANK];
    int32_t *x = h5store_read_alloc(h, "x", DUO_H5_I32, &rank, dims, &err);
    CHECK_MSG(x, "%.900s", err.msg);
    int ok = rank == 2 && dims[0] == 2 && dims[1] == 2 && x[0] == 9 && x[3] == 6;
    free(x);
    CHECK(ok);
    int64_t k = 0;
    CHECK_EQ_INT(h5store_get_attr_i64(h, "x", "k", &k, &err), 0);
    CHECK_EQ_INT(k, 2);
    CHECK(h5store_exists(h, "y"));
    h5store_close(h);
}

/* Runs fn with stderr sent to a file and returns what was printed there (malloc'd). */
static char *stderr_of(void (*fn)(void *), void *arg) {
    char path[600];
    tmp_path(path, sizeof path, "stderr.txt");
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    dup2(fd, 2);
    close(fd);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 4096);
    if (f) {
        size_t got = fread(buf, 1, 4095, f);
        buf[got] = '\0';
        fclose(f);
    }
    return buf;
}

struct err_case { const char *path; int rc; duo_error err; };

static void read_missing(void *arg) {
    struct err_case *c = arg;
    duo_h5 *h = h5store_open(c->path, 0, &c->err);
    if (!h) { c->rc = -2; return; }
    float v[4];
    c->rc = h5store_read(h, "state/nope", DUO_H5_F32, v, 4, &c->err);
    h5store_close(h);
}

TEST(errors_name_file_and_dataset_and_stay_quiet) {
    char path[600];
    tmp_path(path, sizeof path, "err.h5");
    duo_error err = {{0}};
    CHECK_MSG(write_fixture(path, &err) == 0, "%.900s", err.msg);

    struct err_case c = {path, 0, {{0}}};
    char *printed = stderr_of(read_missing, &c);
    int quiet = printed[0] == '\0';
    free(printed);
    CHECK_EQ_INT(c.rc, -1);
    CHECK_MSG(strstr(c.err.msg, path) && strstr(c.err.msg, "state/nope"), "message: %.900s", c.err.msg);
    CHECK_MSG(quiet, "HDF5 printed on stderr");

    duo_h5 *h = h5store_open(path, 0, &err);
    CHECK_MSG(h, "%.900s", err.msg);
    float v[10];
    /* wrong element count */
    CHECK_EQ_INT(h5store_read(h, "ints/i32", DUO_H5_I32, v, 9, &err), -1);
    CHECK_MSG(strstr(err.msg, "ints/i32") && strstr(err.msg, "10 elements"), "message: %.900s", err.msg);
    /* integers read as floats would convert silently: refused */
    CHECK_EQ_INT(h5store_read(h, "ints/i32", DUO_H5_F32, v, 10, &err), -1);
    CHECK_MSG(strstr(err.msg, "integers"), "message: %.900s", err.msg);
    /* strings as numbers, numbers as strings */
    CHECK_EQ_INT(h5store_read(h, "names", DUO_H5_F32, v, 4, &err), -1);
    CHECK_MSG(strstr(err.msg, "not numeric"), "message: %.900s", err.msg);
    char **s = NULL;
    size_t n = 0;
    CHECK_EQ_INT(h5store_read_strings(h, "bytes", &s, &n, &err), -1);
    CHECK_MSG(strstr(err.msg, "bytes") && strstr(err.msg, "not a string"), "message: %.900s", err.msg);
    /* a group is not a dataset */
    CHECK_EQ_INT(h5store_read(h, "state", DUO_H5_F32, v, 1, &err), -1);
    CHECK_MSG(strstr(err.msg, "'state'"), "message: %.900s", err.msg);
    /* attributes: missing, wrong type, missing object */
    int64_t i;
    CHECK_EQ_INT(h5store_get_attr_i64(h, NULL, "nope", &i, &err), -1);
    CHECK_MSG(strstr(err.msg, "nope") && strstr(err.msg, path), "message: %.900s", err.msg);
    CHECK_EQ_INT(h5store_get_attr_i64(h, NULL, "lr", &i, &err), -1);
    CHECK_MSG(strstr(err.msg, "not an integer"), "message: %.900s", err.msg);
    CHECK(h5store_get_attr_str(h, NULL, "step", &err) == NULL);
    CHECK_MSG(strstr(err.msg, "not a string"), "message: %.900s", err.msg);
    CHECK_EQ_INT(h5store_get_attr_i64(h, "no/such", "step", &i, &err), -1);
    CHECK_MSG(strstr(err.msg, "no/such"), "message: %.900s", err.msg);
    h5store_close(h);

    /* a missing file and a file that is not HDF5 */
    char missing[600], junk[600];
    tmp_path(missing, sizeof missing, "missing.h5");
    CHECK(h5store_open(missing, 0, &err) == NULL);
    CHECK_MSG(strstr(err.msg, missing), "message: %.900s", err.msg);
    tmp_path(junk, sizeof junk, "junk.h5");
    FILE *f = fopen(junk, "wb");
    CHECK(f);
    fputs("this is not an HDF5 file\n", f);
    fclose(f);
    CHECK(h5store_open(junk, 0, &err) == NULL);
    CHECK_MSG(strstr(err.msg, junk) && strstr(err.msg, "HDF5"), "message: %.900s", err.msg);
    /* creating in a missing directory */
    char nodir[700];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x.h5", test_tmpdir());
    CHECK(h5store_create(nodir, &err) == NULL);
    CHECK_MSG(strstr(err.msg, nodir), "message: %.900s", err.msg);
}

TEST(deflate_compresses) {
    char plain[600], packed[600];
    tmp_path(plain, sizeof plain, "plain.h5");
    tmp_path(packed, sizeof packed, "packed.h5");
    enum { N = 1 << 20 };
    int32_t *v = malloc(sizeof(int32_t) * N);
    for (int i = 0; i < N; i++) v[i] = i / 1000;
    duo_error err = {{0}};
    duo_h5 *a = h5store_create(plain, &err), *b = h5store_create(packed, &err);
    CHECK(a && b);
    size_t dims[2] = {1024, 1024};
    CHECK_EQ_INT(h5store_write(a, "v", DUO_H5_I32, 2, dims, v, &err), 0);
    CHECK_EQ_INT(h5store_write_deflate(b, "v", DUO_H5_I32, 2, dims, v, 6, &err), 0);
    CHECK_EQ_INT(h5store_commit(a, &err), 0);
    CHECK_EQ_INT(h5store_commit(b, &err), 0);
    struct stat sa, sb;
    CHECK(stat(plain, &sa) == 0 && stat(packed, &sb) == 0);
    CHECK_MSG(sa.st_size > 4 * N && sb.st_size < sa.st_size / 20, "sizes %lld / %lld", (long long)sa.st_size,
              (long long)sb.st_size);
    b = h5store_open(packed, 0, &err);
    CHECK_MSG(b, "%.900s", err.msg);
    int32_t *back = h5store_read_alloc(b, "v", DUO_H5_I32, NULL, NULL, &err);
    h5store_close(b);
    int same = back && memcmp(back, v, sizeof(int32_t) * N) == 0;
    free(back);
    free(v);
    CHECK(same);
}

static int write_step_file(const char *path, int step, size_t n) {
    duo_error err;
    duo_h5 *h = h5store_create(path, &err);
    if (!h) return -1;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = step;
    int rc = h5store_write_1d(h, "state/values", DUO_H5_F64, n, v, &err);
    rc |= h5store_set_attr_i64(h, NULL, "step", step, &err);
    free(v);
    if (rc) {
        h5store_close(h);
        return -1;
    }
    return h5store_commit(h, &err);
}

/* Checks that path is a complete file whose values all equal its step attribute; returns the step. */
static int64_t check_step_file(const char *path, size_t n, duo_error *err) {
    duo_h5 *h = h5store_open(path, 0, err);
    if (!h) return -1;
    int64_t step = -1;
    double *v = malloc(n * sizeof *v);
    int rc = h5store_get_attr_i64(h, NULL, "step", &step, err);
    if (rc == 0) rc = h5store_read(h, "state/values", DUO_H5_F64, v, n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (v[i] != (double)step) rc = duo_fail(err, "value %zu is %g in the file of step %lld", i, v[i], (long long)step);
    free(v);
    h5store_close(h);
    return rc == 0 ? step : -1;
}

TEST(atomic_replace_survives_a_writer_killed_before_rename) {
    char path[600];
    tmp_path(path, sizeof path, "atomic.h5");
    enum { N = 1 << 16 };
    CHECK_EQ_INT(write_step_file(path, 1, N), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* The child writes a whole new file, then dies before it can commit. */
        duo_error e;
        duo_h5 *h = h5store_create(path, &e);
        double *v = calloc(N, sizeof *v);
        if (h) h5store_write_1d(h, "state/values", DUO_H5_F64, N, v, &e);
        raise(SIGKILL);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    duo_error err = {{0}};
    CHECK_MSG(check_step_file(path, N, &err) == 1, "%.900s", err.msg);
    char stale[700];
    snprintf(stale, sizeof stale, "%s.tmp.%d", path, (int)pid);
    CHECK_MSG(access(stale, F_OK) == 0, "the child's temporary file %s should be left behind", stale);
    unlink(stale);

    /* A created file closed without commit leaves the old file and no temporary. */
    duo_h5 *h = h5store_create(path, &err);
    CHECK(h);
    h5store_close(h);
    snprintf(stale, sizeof stale, "%s.tmp.%d", path, (int)getpid());
    CHECK(access(stale, F_OK) != 0);
    CHECK_MSG(check_step_file(path, N, &err) == 1, "%.900s", err.msg);
}

TEST(atomic_replace_survives_a_kill_at_any_moment) {
    char path[600];
    tmp_path(path, sizeof path, "killed.h5");
    enum { N = 1 << 17 };  /* 1 MiB of values per file, so a kill often lands mid-write */
    CHECK_EQ_INT(write_step_file(path, 0, N), 0);
    int64_t last = 0;
    for (int round = 0; round < 6; round++) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            for (int step = 1;; step++)
                if (write_step_file(path, (int)(last + step), N) != 0) _exit(3);
        }
        struct timespec ts = {0, (long)(15 + 37 * round) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK_MSG(WIFSIGNALED(status), "writer exited with status %d before the kill", WEXITSTATUS(status));
        duo_error err = {{0}};
        int64_t step = check_step_file(path, N, &err);
        CHECK_MSG(step >= last, "after kill %d: %.900s", round, err.msg);
        last = step;
        fprintf(stderr, "atomic kill round %d: file at step %lld\n", round, (long long)step);
        char stale[700];
        snprintf(stale, sizeof stale, "%s.tmp.%d", path, (int)pid);
        unlink(stale);
    }
}

/* Checks a file written by h5py (tests/py/test_h5store_h5py.py): fixed-length strings and string
 * attributes, numpy integer widths, gzip chunks.  Returns 0 or fills err. */
static int check_h5py_file(const char *path, duo_error *err) {
    duo_h5 *h = h5store_open(path, 0, err);
    if (!h) return -1;
    int rc = -1;
    char **s = NULL, **v = NULL, *label = NULL, *title = NULL;
    size_t ns = 0, nv = 0;
    int64_t count = 0;
    double countf = 0;
    float m[6];
    double md[6];
    int64_t chunked[1000];
    int32_t u16[4];
    if (h5store_read_strings(h, "fixed_names", &s, &ns, err) || h5store_read_strings(h, "vlen_names", &v, &nv, err) ||
        h5store_get_attr_i64(h, NULL, "count", &count, err) || h5store_get_attr_f64(h, NULL, "count", &countf, err) ||
        !(label = h5store_get_attr_str(h, NULL, "label", err)) || !(title = h5store_get_attr_str(h, "/", "title", err)) ||
        h5store_read(h, "m", DUO_H5_F32, m, 6, err) || h5store_read(h, "m", DUO_H5_F64, md, 6, err) ||
        h5store_read(h, "chunked", DUO_H5_I64, chunked, 1000, err) || h5store_read(h, "u16", DUO_H5_I32, u16, 4, err))
        goto done;
    if (ns != 3 || strcmp(s[0], "alpha") || strcmp(s[1], "be") || strcmp(s[2], "")) {
        duo_fail(err, "fixed_names read as %zu strings: '%s' '%s' ...", ns, ns > 0 ? s[0] : "", ns > 1 ? s[1] : "");
        goto done;
    }
    if (nv != 2 || strcmp(v[0], "x") || strcmp(v[1], "\xc3\xbf")) {
        duo_fail(err, "vlen_names wrong");
        goto done;
    }
    if (count != 7 || countf != 7.0 || strcmp(label, "fixed") || strcmp(title, "vlen \xc3\xbc")) {
        duo_fail(err, "attributes wrong: count %lld label '%s' title '%s'", (long long)count, label, title);
        goto done;
    }
    for (int i = 0; i < 6; i++)
        if (m[i] != (float)i || md[i] != (double)i) {
            duo_fail(err, "m[%d] = %g", i, m[i]);
            goto done;
        }
    for (int i = 0; i < 1000; i++)
        if (chunked[i] != 3 * (int64_t)i) {
            duo_fail(err, "chunked[%d] = %lld", i, (long long)chunked[i]);
            goto done;
        }
    if (u16[0] != 0 || u16[3] != 65535) {
        duo_fail(err, "u16 = %d .. %d", u16[0], u16[3]);
        goto done;
    }
    rc = 0;
done:
    h5store_free_strings(s, ns);
    h5store_free_strings(v, nv);
    free(label);
    free(title);
    h5store_close(h);
    return rc;
}

#define main harness_main
TEST_MAIN()
#undef main

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write")) {
        duo_error err = {{0}};
        if (write_fixture(argv[2], &err) != 0) {
            fprintf(stderr, "test_h5store: %s\n", err.msg);
            return 1;
        }
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--check-h5py")) {
        duo_error err = {{0}};
        if (check_h5py_file(argv[2], &err) != 0) {
            fprintf(stderr, "test_h5store: %s\n", err.msg);
            return 1;
        }
        return 0;
    }
    return harness_main(argc, argv);
}
