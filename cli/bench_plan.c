/* duo-train bench step --plan: what the step would ask of a device, without one and without weights:
 * the memory plan of model/step_plan.h by category, the FLOPs (DESIGN §5) and the bytes the GEMMs and
 * attention score tiles move, and the time those imply at a stated device peak.  Figures on paper. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "kernels/backend.h"
#include "model/step_plan.h"

/* H100 / H200 SXM: dense bf16 tensor-core and plain fp32 peaks (the same on both), and H100 SXM's HBM3
 * bandwidth (H200's HBM3e: 4800 GB/s). */
#define PEAK_TFLOPS_BF16 989.4
#define PEAK_TFLOPS_FP32 66.9
#define PEAK_GBPS 3350.0

int bench_step_plan(const duo_model_config *cfg, const char *what, const char *backend, int precision,
                    const duo_step_opts *so, const size_t *ctxs, int nctx, long labels, double peak_tflops,
                    double peak_gbps) {
    duo_error err = {{0}};
    duo_plan_backend pb;
    /* "auto" plans for the GPU: a plan is what a device would be asked for */
    if (step_plan_backend_named(!strcmp(backend, "auto") ? "cuda" : backend, (duo_precision)precision, &pb, &err))
        return cli_usage_error("bench step", "%s", err.msg);
    int bf16 = pb.weight_size == 2;
    int tflops_default = !(peak_tflops > 0), gbps_default = !(peak_gbps > 0);
    if (tflops_default) peak_tflops = bf16 ? PEAK_TFLOPS_BF16 : PEAK_TFLOPS_FP32;
    if (gbps_default) peak_gbps = PEAK_GBPS;
    const double GiB = 1024.0 * 1024 * 1024;
    printf("plan: %s (layers %d, hidden %d, heads %d/%d, head_dim %d, inter %d), backend %s, dtype %s: weights %s, "
           "activations float32, %s, composite workspace %.2f GiB\n",
           what, cfg->num_hidden_layers, cfg->hidden_size, cfg->num_attention_heads, cfg->num_key_value_heads,
           cfg->head_dim, cfg->intermediate_size, pb.name, bf16 ? "bf16" : "fp32", bf16 ? "bf16" : "float32",
           pb.weights_resident ? "every layer resident" : "one layer held at a time", pb.workspace_bytes / GiB);
    printf("step: sink %d recent %d %s, cone %s, labels = last %ld tokens\n", so->sink_size, so->recent_size,
           attn_kind_name(so->streaming), so->use_cone ? "on" : "off", labels);
    printf("peak: %.1f TFLOP/s%s, %.0f GB/s%s\n", peak_tflops,
           tflops_default ? (bf16 ? " (H100/H200 SXM bf16 dense)" : " (H100/H200 SXM fp32, no tensor cores)") : "",
           peak_gbps, gbps_default ? " (H100 SXM; H200: 4800)" : "");
    duo_step_plan *plans = calloc((size_t)nctx, sizeof *plans);
    if (!plans) {
        duo_fail(&err, "out of memory");
        return cli_fail(&err);
    }
    int rc = 0;
    for (int k = 0; k < nctx && !rc; k++) {
        size_t n = ctxs[k], nlab = (size_t)labels < n ? (size_t)labels : n;
        duo_step_plan_in in = {.cfg = cfg, .opts = *so, .be = pb, .n = n, .label_first = n - nlab, .label_count = nlab};
        if (step_plan_make(&in, &plans[k], NULL, NULL, &err)) {
            rc = cli_fail(&err);
            break;
        }
    }
    /* GiB, or MiB where every plan is below one GiB */
    int big = 0;
    for (int k = 0; k < nctx && !rc; k++) big |= plans[k].total >= GiB;
    double unit = big ? GiB : 1024.0 * 1024;
    if (!rc)
        printf("memory, %s:\n%8s %9s %9s %9s %9s %9s %9s %9s\n", unit == GiB ? "GiB" : "MiB", "ctx", "weights",
               "saved", "work", "rope", "index", "workspace", "total");
    for (int k = 0; k < nctx && !rc; k++) {
        const duo_step_plan *p = &plans[k];
        printf("%8zu %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", p->n, p->cat[PLAN_WEIGHTS] / unit,
               p->cat[PLAN_SAVED] / unit, p->cat[PLAN_WORK] / unit, p->cat[PLAN_ROPE] / unit,
               p->cat[PLAN_INDEX] / unit, p->cat[PLAN_WORKSPACE] / unit, p->total / unit);
    }
    if (!rc) {
        printf("work (DESIGN §5 FLOPs; bytes: GEMM weights + rows, attention score tiles) and the time at the peak:\n"
               "%8s %10s %10s %10s %10s %10s %10s %11s\n",
               "ctx", "TFLOP", "GEMM GB", "tiles GB", "FLOP s", "bytes s", "bound s", "cone share");
        for (int k = 0; k < nctx; k++) {
            const duo_step_plan *p = &plans[k];
            double bytes = p->gemm_bytes + p->tile_bytes, tf = p->flops / (peak_tflops * 1e12),
                   tb = bytes / (peak_gbps * 1e9);
            printf("%8zu %10.1f %10.1f %10.1f %10.3f %10.3f %10.3f %10.1f%%\n", p->n, p->flops / 1e12,
                   p->gemm_bytes / 1e9, p->tile_bytes / 1e9, tf, tb, tf > tb ? tf : tb,
                   100.0 * (double)p->cone_positions / (double)p->all_positions);
        }
        printf("bound s = max(FLOP s, bytes s): no step at that peak is faster\n");
    }
    for (int k = 0; k < nctx; k++) step_plan_free(&plans[k]);
    free(plans);
    return rc;
}
