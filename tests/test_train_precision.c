/* The precision in train's run identity and config.json (cli/train_args.c), and the free-memory figure
 * train's memory check reads (cli/train_memory.c). */
#include "tests/harness.h"

#include <jansson.h>

#include "cli/train_args.h"
#include "cli/train_memory.h"
#include "kernels/cpu/cpu_backend.h"
#include "train/train_loop.h"

TEST(identity_differs_by_precision_and_resume_is_refused) {
    duo_train_args a;
    train_args_default(&a);
    a.model = "m";
    a.dataset = "d.h5";
    a.precision = DUO_PREC_FP32;
    char *fp32 = train_args_identity(&a, "m", 2, 2);
    a.precision = DUO_PREC_BF16;
    char *bf16 = train_args_identity(&a, "m", 2, 2);
    CHECK(fp32 && bf16);
    /* fp32 leaves the key out, so states saved before --dtype existed (all fp32) still resume */
    CHECK_MSG(!strstr(fp32, "dtype"), "%.300s", fp32);
    CHECK_MSG(strstr(bf16, "\"dtype\":\"bf16\""), "%.300s", bf16);
    duo_error err;
    CHECK(train_identity_check(fp32, fp32, &err) == 0);
    CHECK(train_identity_check(bf16, bf16, &err) == 0);
    CHECK(train_identity_check(fp32, bf16, &err) == -1);
    CHECK_MSG(strstr(err.msg, "dtype"), "%.300s", err.msg);
    CHECK(train_identity_check(bf16, fp32, &err) == -1);
    CHECK_MSG(strstr(err.msg, "dtype"), "%.300s", err.msg);
    free(fp32);
    free(bf16);
}

TEST(config_json_records_the_precision) {
    duo_train_args a;
    train_args_default(&a);
    a.model = "m";
    a.dataset = "d.h5";
    for (int bf = 0; bf < 2; bf++) {
        a.precision = bf ? DUO_PREC_BF16 : DUO_PREC_FP32;
        json_t *o = train_args_config_json(&a, "m/x", "out");
        CHECK(o);
        const char *v = json_string_value(json_object_get(o, "dtype"));
        int ok = v && !strcmp(v, bf ? "bf16" : "fp32");
        json_decref(o);
        CHECK(ok);
    }
}

TEST(free_memory_figure) {
    duo_error err;
    duo_backend *be = backend_cpu_create(0, &err);
    CHECK(be);
    size_t free_bytes = 0;
    const char *what = NULL;
    unsetenv(DUO_FAKE_DEVICE_FREE_ENV);
    int none = train_device_free(be, &free_bytes, &what, &err); /* host memory: nothing to check */
    setenv(DUO_FAKE_DEVICE_FREE_ENV, "123456789012", 1);
    int fake = train_device_free(be, &free_bytes, &what, &err);
    size_t got = free_bytes;
    setenv(DUO_FAKE_DEVICE_FREE_ENV, "-5", 1);
    int neg = train_device_free(be, &free_bytes, &what, &err);
    setenv(DUO_FAKE_DEVICE_FREE_ENV, "12 GB", 1);
    int bad = train_device_free(be, &free_bytes, &what, &err);
    unsetenv(DUO_FAKE_DEVICE_FREE_ENV);
    backend_free(be);
    CHECK_EQ_INT(none, 1);
    CHECK_EQ_INT(fake, 0);
    CHECK_EQ_INT(got, 123456789012ll);
    CHECK_EQ_INT(neg, -1);
    CHECK_EQ_INT(bad, -1);
    CHECK_MSG(strstr(err.msg, "12 GB"), "%.300s", err.msg);
}

TEST_MAIN()
