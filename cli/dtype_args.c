#include "cli/dtype_args.h"

#include <string.h>

#include "cli/cli.h"

int cli_parse_dtype(const char *cmd, const char *value, duo_precision *out) {
    if (duo_precision_parse(value, out)) return cli_usage_error(cmd, "--dtype must be fp32 or bf16, got '%s'", value);
    return 0;
}

int cli_check_dtype_backend(const char *cmd, duo_precision prec, const char *backend) {
    /* cpu and cuda run both (the CPU stores bf16 weights and computes in fp32); the float64 debugging
     * backend has no bf16 instance */
    if (prec == DUO_PREC_BF16 && !strcmp(backend, "cpu-composite-f64"))
        return cli_usage_error(cmd, "--dtype bf16 does not apply to --backend cpu-composite-f64 (float64 throughout)");
    return 0;
}
