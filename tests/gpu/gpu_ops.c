/* GPU test: every op of the CUDA backend (the composite op table on the CUDA primitives) against the
 * CPU's fused ops on the shared op-case table (tests/op_cases.h: ragged sizes, windows longer than n,
 * the cone's gaps, one query, GQA groups 1-8, both streaming forms and full, Qwen biases), with guard
 * bytes around every output.  fp32: the case's tolerance or 1e-5 relative, whichever is larger (the
 * issue's bound for the fp32 mode; cuBLAS and the device reductions sum in another order than the
 * CPU); bf16 weights: the case's bf16 tolerance. */
#include "kernels/cpu/cpu_backend.h"
#include "tests/gpu/gpu_common.h"
#include "tests/op_cases.h"

static void run_cases(test_ctx *t, duo_precision prec) {
    duo_backend *be;
    GPU_OPEN(be, prec);
    duo_error err = {{0}};
    duo_backend *cpu = backend_cpu_create(0, &err);
    CHECK_MSG(cpu != NULL, "%.500s", err.msg);
    char failure[900] = "";
    int nfail = 0;
    for (size_t i = 0; i < OP_CASES_COUNT; i++) {
        const op_case *c = &OP_CASES[i];
        oc_result r;
        int rc = op_case_run(c, cpu, be, &r);
        double tol = prec == DUO_PREC_BF16 ? c->tol_bf16 : (c->tol > 1e-5 ? c->tol : 1e-5);
        int ok = rc == 0 && r.worst_rel <= tol;
        fprintf(stderr, "  %-48s %s %.3g (tolerance %.3g)%s%s\n", c->name, ok ? "ok  " : "FAIL", r.worst_rel, tol,
                rc ? ": " : "", rc ? r.why : "");
        if (!ok && !nfail++)
            snprintf(failure, sizeof failure, "case '%s': %s", c->name, rc ? r.why : r.why);
        if (be->failed) break; /* a failed backend is not reused */
    }
    if (!failure[0] && backend_check(be, &err)) snprintf(failure, sizeof failure, "%.800s", err.msg);
    backend_free(cpu);
    backend_free(be);
    CHECK_MSG(!failure[0], "%d of %zu cases beyond tolerance; first: %s", nfail, OP_CASES_COUNT, failure);
}

TEST(every_op_fp32_against_cpu) { run_cases(t, DUO_PREC_FP32); }
TEST(every_op_bf16_against_cpu) { run_cases(t, DUO_PREC_BF16); }

TEST_MAIN()
