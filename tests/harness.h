/* Minimal test harness shared by every tests/test_*.c binary.
 *
 * Each test is a function registered with TEST(name); main() comes from TEST_MAIN().
 * Output protocol (read by tests/run_tests.sh), one line per test:
 *   PASS: <file>/<name>
 *   FAIL: <file>/<name> (<file>:<line>: <message>)
 *   SKIP: <file>/<name> (<reason>)
 * A test stops at its first failed CHECK.  Paths in tests are relative to the repository root,
 * which is the working directory the runner uses. */
#ifndef DUO_TESTS_HARNESS_H
#define DUO_TESTS_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int failed, skipped;
    char msg[1024];
} test_ctx;

typedef void (*test_fn)(test_ctx *);
typedef struct { const char *name; test_fn fn; } test_entry;

#define TEST_MAX 256
static test_entry test_registry[TEST_MAX];
static int test_count;

#define TEST(name)                                                                   \
    static void test_##name(test_ctx *);                                             \
    __attribute__((constructor)) static void register_##name(void) {                 \
        if (test_count < TEST_MAX) test_registry[test_count++] = (test_entry){#name, test_##name}; \
    }                                                                                \
    static void test_##name(test_ctx *t)

#define FAILF(...)                                                                   \
    do {                                                                             \
        int n_ = snprintf(t->msg, sizeof t->msg, "%s:%d: ", __FILE__, __LINE__);     \
        snprintf(t->msg + n_, sizeof t->msg - (size_t)n_, __VA_ARGS__);             \
        t->failed = 1;                                                               \
        return;                                                                      \
    } while (0)

#define CHECK(cond) do { if (!(cond)) FAILF("check failed: %s", #cond); } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) FAILF(__VA_ARGS__); } while (0)
#define CHECK_EQ_INT(a, b)                                                           \
    do { long long a_ = (long long)(a), b_ = (long long)(b);                         \
         if (a_ != b_) FAILF("%s == %lld, expected %s == %lld", #a, a_, #b, b_); } while (0)
#define CHECK_STR(a, b)                                                              \
    do { const char *a_ = (a), *b_ = (b);                                            \
         if (!a_ || !b_ || strcmp(a_, b_)) FAILF("%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
/* |a-b| <= tol * max(1, |b|) */
#define CHECK_CLOSE(a, b, tol)                                                       \
    do { double a_ = (double)(a), b_ = (double)(b);                                  \
         if (!(fabs(a_ - b_) <= (tol) * fmax(1.0, fabs(b_))))                        \
             FAILF("%s = %.9g, expected %.9g (tol %g)", #a, a_, b_, (double)(tol)); } while (0)
#define SKIP(...)                                                                    \
    do { snprintf(t->msg, sizeof t->msg, __VA_ARGS__); t->skipped = 1; return; } while (0)

/* Path of the shared test data (../shared by default, DUO_SHARED overrides); NULL if absent. */
static inline const char *test_shared_dir(void) {
    const char *d = getenv("DUO_SHARED");
    if (!d) d = "../shared";
    return access(d, R_OK) == 0 ? d : NULL;
}

/* A fresh scratch directory for a test under $TMPDIR (removed by the runner's tmp cleanup). */
static inline const char *test_tmpdir(void) {
    static char dir[512];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/duo-test-XXXXXX", base ? base : "/tmp");
    return mkdtemp(dir);
}

#define TEST_MAIN()                                                                  \
    int main(int argc, char **argv) {                                                \
        const char *base = strrchr(argv[0], '/');                                    \
        base = base ? base + 1 : argv[0];                                            \
        int nfail = 0;                                                               \
        for (int i = 0; i < test_count; i++) {                                       \
            if (argc > 1 && !strstr(test_registry[i].name, argv[1])) continue;       \
            test_ctx ctx = {0};                                                      \
            test_registry[i].fn(&ctx);                                               \
            if (ctx.skipped) printf("SKIP: %s/%s (%s)\n", base, test_registry[i].name, ctx.msg); \
            else if (ctx.failed) { printf("FAIL: %s/%s (%s)\n", base, test_registry[i].name, ctx.msg); nfail++; } \
            else printf("PASS: %s/%s\n", base, test_registry[i].name);               \
            fflush(stdout);                                                          \
        }                                                                            \
        return nfail ? 1 : 0;                                                        \
    }

#endif
