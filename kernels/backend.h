/* Backend lifecycle and choice (DESIGN §5): create one by name, check its status, free it.  The op
 * table itself is kernels/ops.h. */
#ifndef DUO_KERNELS_BACKEND_H
#define DUO_KERNELS_BACKEND_H

#include "kernels/ops.h"

/* Records a failed call in be->status (only the first: later ones are usually its consequences):
 * "<call> at <file>:<line>: <reason>".  Safe to call from OpenMP threads. */
void backend_fail_at(duo_backend *be, const char *call, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define BACKEND_FAIL(be, call, ...) backend_fail_at((be), (call), __FILE__, __LINE__, __VA_ARGS__)

/* 0 if no call failed so far; else -1 with err set to the recorded failure (prefixed by the backend's
 * name).  The status stays set: a failed backend is not reused. */
int backend_check(duo_backend *be, duo_error *err);

/* 1 if this build has the named backend ("cpu" always; "cuda" when built with nvcc). */
int backend_built(const char *name);
/* Compute precision of a backend (--dtype): fp32 everywhere, or bf16 weights and GEMM operands with
 * float32 accumulation, softmax statistics, gates, loss and optimiser state.  DEFAULT: bf16 on a GPU
 * (as the reference trains), fp32 on the CPU. */
typedef enum { DUO_PREC_DEFAULT = -1, DUO_PREC_FP32 = 0, DUO_PREC_BF16 = 1 } duo_precision;
/* "fp32" / "bf16" -> 0 and *p set; -1 for anything else. */
int duo_precision_parse(const char *s, duo_precision *p);
const char *duo_precision_name(duo_precision p);

/* backend_open with a precision; a precision the backend cannot run (bf16 on the CPU) is an error
 * naming both. */
duo_backend *backend_open_prec(const char *name, duo_precision prec, duo_error *err);

/* A backend by name: "cpu", "cuda", or "auto" (cuda where it is built, a device answers and its
 * training ops exist; else cpu).  NULL with err set when it cannot be had (for cuda: the driver's
 * reason).  Callers check backend_built() first to tell a usage error from a failure. */
duo_backend *backend_open(const char *name, duo_error *err);
void backend_free(duo_backend *be);

/* The backends this build has, for --help texts ("cpu" or "cpu, cuda"). */
const char *backend_list(void);

#endif
