#include "kernels/backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/composite/composite.h"
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
    if (!strcmp(name, "cpu-composite") || !strcmp(name, "cpu-composite-f64") || !strcmp(name, "cpu-composite-bf16"))
        return 1;
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

int duo_precision_parse(const char *s, duo_precision *p) {
    if (!strcmp(s, "fp32") || !strcmp(s, "float32")) *p = DUO_PREC_FP32;
    else if (!strcmp(s, "bf16") || !strcmp(s, "bfloat16")) *p = DUO_PREC_BF16;
    else return -1;
    return 0;
}

const char *duo_precision_name(duo_precision p) {
    return p == DUO_PREC_BF16 ? "bf16" : p == DUO_PREC_FP32 ? "fp32" : "default";
}

static duo_backend *cpu_open(duo_precision prec, duo_error *err) {
    return prec == DUO_PREC_BF16 ? backend_cpu_bf16_create(err) : backend_cpu_create(0, err);
}

duo_backend *backend_open(const char *name, duo_error *err) { return backend_open_prec(name, DUO_PREC_DEFAULT, err); }

duo_backend *backend_open_prec(const char *name, duo_precision prec, duo_error *err) {
    if (!strcmp(name, "cpu")) return cpu_open(prec, err);
    /* Debugging aids, not user backends: the composite op table on the CPU's primitives (float32, float64,
     * and float32 with bf16 weights and GEMM operands, the GPU's bf16 mode). */
    if (!strcmp(name, "cpu-composite"))
        return prec == DUO_PREC_BF16 ? backend_cpu_composite_create(0, 1, err) : backend_cpu_composite_create(0, 0, err);
    if (!strcmp(name, "cpu-composite-f64")) return backend_cpu_composite_create(1, 0, err);
    if (!strcmp(name, "cpu-composite-bf16")) return backend_cpu_composite_create(0, 1, err);
#ifdef DUO_HAVE_CUDA
    if (!strcmp(name, "cuda")) return cuda_backend_create((int)prec, err);
    if (!strcmp(name, "auto")) {
        duo_error ignored;
        if (cuda_backend_ready(&ignored)) return cuda_backend_create((int)prec, err);
        return cpu_open(prec, err);
    }
#else
    if (!strcmp(name, "auto")) return cpu_open(prec, err);
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
    if (be->prims && strcmp(be->name, "cuda")) composite_release(be); /* cuda_backend_free does it for cuda */
#ifdef DUO_HAVE_CUDA
    if (!strcmp(be->name, "cuda")) {
        cuda_backend_free(be);
        return;
    }
#endif
    free(be);
}
