/* --dtype fp32|bf16 (train, bench step, bench infer, sweep): the backend's compute precision
 * (kernels/backend.h duo_precision; the default: bf16 on a GPU, fp32 on the CPU, where bf16 means bf16
 * weight storage with fp32 arithmetic). */
#ifndef DUO_CLI_DTYPE_ARGS_H
#define DUO_CLI_DTYPE_ARGS_H

#include "kernels/backend.h"

/* --dtype VALUE into *out; anything but fp32 / bf16 is a usage error (2); 0 on success. */
int cli_parse_dtype(const char *cmd, const char *value, duo_precision *out);
/* After parsing: bf16 with the float64 debugging backend (cpu-composite-f64) is a usage error (2) naming
 * both; 0 otherwise (cpu and cuda run both precisions: bf16 on the CPU is bf16 weight storage with fp32
 * arithmetic). */
int cli_check_dtype_backend(const char *cmd, duo_precision prec, const char *backend);

#endif
