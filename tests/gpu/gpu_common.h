/* Shared by the GPU tests (tests/gpu/gpu_*.c, run by `make test-gpu` / scripts/gpu_check.sh): open the
 * CUDA backend at a precision, or skip the test when no device answers (the driver's reason). */
#ifndef DUO_TESTS_GPU_GPU_COMMON_H
#define DUO_TESTS_GPU_GPU_COMMON_H

#include "kernels/backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "tests/harness.h"

/* DUO_GPU_TESTS_ON=cpu-composite runs the whole-path tests on the CPU composite backends instead
 * ("cpu-composite" for fp32, "cpu-composite-bf16" for bf16): the same composite code on the CPU's
 * primitives, so a machine without a GPU checks the tests themselves (their samples, tolerances and
 * comparisons).  Tests of the CUDA primitives alone skip in that mode. */
static inline const char *gpu_tests_stand_in(void) {
    const char *e = getenv("DUO_GPU_TESTS_ON");
    return e && !strcmp(e, "cpu-composite") ? e : NULL;
}

/* Skips the calling test (returns from it) when no device answers; fails it when the backend refuses
 * (its self-test names the primitive). */
#define GPU_OPEN(be, prec)                                                                                    \
    do {                                                                                                    \
        duo_error gerr_ = {{0}};                                                                            \
        if (gpu_tests_stand_in()) {                                                                         \
            (be) = backend_open((prec) == DUO_PREC_BF16 ? "cpu-composite-bf16" : "cpu-composite", &gerr_);  \
            CHECK_MSG((be) != NULL, "%.900s", gerr_.msg);                                                   \
            break;                                                                                          \
        }                                                                                                   \
        if (!cuda_backend_ready(&gerr_)) SKIP("%.500s", gerr_.msg);                                         \
        (be) = backend_open_prec("cuda", (prec), &gerr_);                                                   \
        CHECK_MSG((be) != NULL, "%.900s", gerr_.msg);                                                       \
    } while (0)
/* The CUDA primitives themselves: skipped on a stand-in. */
#define GPU_OPEN_CUDA(be, prec)                                                                               \
    do {                                                                                                    \
        if (gpu_tests_stand_in()) SKIP("DUO_GPU_TESTS_ON=%s: a test of the CUDA primitives", gpu_tests_stand_in()); \
        GPU_OPEN(be, prec);                                                                                 \
    } while (0)

#endif
