#include "cli/runtime_env.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *better_coretype(void) {
    const char *core = openblas_get_corename();
    if (!core || (strcasecmp(core, "prescott") && strcasecmp(core, "core2") && strcasecmp(core, "nehalem")))
        return NULL;  /* OpenBLAS found a specific kernel set: keep it */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2")) return "Haswell";
    return NULL;
}

void runtime_env_settle(int argc, char **argv) {
    (void)argc;
    if (getenv("DUO_NO_REEXEC")) return;
    int changed = 0;
    if (!getenv("OPENBLAS_CORETYPE")) {
        const char *core = better_coretype();
        if (core) changed |= setenv("OPENBLAS_CORETYPE", core, 1) == 0;
    }
    if (!changed) return;
    setenv("DUO_NO_REEXEC", "1", 1);  /* once only, whatever happens next */
    execv("/proc/self/exe", argv);
    /* execv failed (no /proc): carry on with the kernels we have */
}
