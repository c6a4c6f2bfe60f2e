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
/* A backend by name: "cpu", "cuda", or "auto" (cuda where it is built, a device answers and its
 * training ops exist; else cpu).  NULL with err set when it cannot be had (for cuda: the driver's
 * reason).  Callers check backend_built() first to tell a usage error from a failure. */
duo_backend *backend_open(const char *name, duo_error *err);
void backend_free(duo_backend *be);

/* The backends this build has, for --help texts ("cpu" or "cpu, cuda"). */
const char *backend_list(void);

#endif
