#include "kernels/backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_backend.h"
#ifdef DUO_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

void backend_fail_at(duo_backend *be, const char *call, const char *file, int line, const char *fmt, ...) {
    char reason[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
#pragma omp critical(duo_backend_status)
    {
        if (!be->failed) {
            snprintf(be->status.msg, sizeof be->status.msg, "%s at %s:%d: %s", call, file, line, reason);
            be->failed = 1;
        }
    }
}

int backend_check(duo_backend *be, duo_error *err) {
    if (!be->failed) return 0;
    return duo_fail(err, "%s backend: %s", be->name, be->status.msg);
}

int backend_built(const char *name) {
    if (!strcmp(name, "cpu") || !strcmp(name, "auto")) return 1;
#ifdef DUO_HAVE_CUDA
    if (!strcmp(name, "cuda")) return 1;
#endif
    return 0;
}

const char *backend_list(void) {
#ifdef DUO_HAVE_CUDA
    return "cpu, cuda";
#else
    return "cpu";
#endif
}

duo_backend *backend_open(const char *name, duo_error *err) {
    if (!strcmp(name, "cpu")) return backend_cpu_create(0, err);
#ifdef DUO_HAVE_CUDA
    if (!strcmp(name, "cuda")) return cuda_backend_create(err);
    if (!strcmp(name, "auto")) {
        duo_error ignored;
        if (cuda_backend_ready(&ignored)) return cuda_backend_create(err);
        return backend_cpu_create(0, err);
    }
#else
    if (!strcmp(name, "auto")) return backend_cpu_create(0, err);
    if (!strcmp(name, "cuda")) {
        duo_fail(err, "this duo-train was built without CUDA (nvcc was not found when it was built)");
        return NULL;
    }
#endif
    duo_fail(err, "unknown backend '%s' (this build has: %s)", name, backend_list());
    return NULL;
}

void backend_free(duo_backend *be) {
    if (!be) return;
#ifdef DUO_HAVE_CUDA
    if (!strcmp(be->name, "cuda")) {
        cuda_backend_free(be);
        return;
    }
#endif
    free(be);
}
