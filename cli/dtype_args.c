#include "cli/dtype_args.h"

#include <string.h>

#include "cli/cli.h"

int cli_parse_dtype(const char *cmd, const char *value, duo_precision *out) {
    if (duo_precision_parse(value, out)) return cli_usage_error(cmd, "--dtype must be fp32 or bf16, got '%s'", value);
    return 0;
}

int cli_check_dtype_backend(const char *cmd, duo_precision prec, const char *backend) {
    if (prec == DUO_PREC_BF16 && !strcmp(backend, "cpu"))
        return cli_usage_error(cmd, "--dtype bf16 needs --backend cuda; --backend cpu computes in fp32 only");
    return 0;
}
