/* The composite op table (kernels/composite/composite.h): each op a short sequence of primitives.
 * Memory ops and single-primitive ops forward to be->prims; reductions whose result is one number per
 * head or per call (the gate gradient, the loss) come back per row and are summed on the host in row
 * order, so a run is reproducible bit for bit on every backend. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/composite/composite_impl.h"
#include "kernels/gate.h"
#include "kernels/math/elem.h"

#define P(be) ((be)->prims)

/* ---- memory ------------------------------------------------------------------------------------ */
static void *c_alloc(duo_backend *be, size_t bytes) { return P(be)->alloc(be, bytes); }
static void c_free(duo_backend *be, void *p) { P(be)->free(be, p); }
static void c_upload(duo_backend *be, void *dst, const void *src, size_t bytes) { P(be)->upload(be, dst, src, bytes); }
static void c_download(duo_backend *be, void *dst, const void *src, size_t bytes) {
    P(be)->download(be, dst, src, bytes);
}
static void c_sync(duo_backend *be) { P(be)->sync(be); }
static void c_load_tensor(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *W) {
    P(be)->load_tensor(be, t, first, count, W, (duo_elem)be->weight_type);
}

/* ---- dense --------------------------------------------------------------------------------------- */
/* Y[m][nout] (+)= X[m][k] W[nout][k]^T, or with bwd dX[m][k] (+)= dY[m][nout] W[nout][k]: one GEMM;
 * with bf16 weights the activation operand goes through the workspace as bf16, in row blocks. */
static void linear_any(duo_backend *be, int bwd, const void *X, size_t m, int kx, const void *W, int nw, void *Y,
                       double beta) {
    const char *call = bwd ? "linear_bwd" : "linear";
    duo_elem at = (duo_elem)be->act_type, wt = (duo_elem)be->weight_type;
    if (m == 0) return;
    /* fwd: M=m, N=nout, K=k, W^T;  bwd: M=m, N=k, K=nout, W as is.  kx: X's row width, nw: Y's */
    int tb = bwd ? 0 : 1;
    long long ldw = bwd ? nw : kx;
    if (wt == at) {
        if (m > INT_MAX) {
            BACKEND_FAIL(be, call, "%zu rows exceed the GEMM's int range", m);
            return;
        }
        composite_gemm_rm(be, 0, tb, (int)m, nw, kx, 1, X, at, kx, 0, W, wt, ldw, 0, beta, Y, at, nw, 0, 1);
        return;
    }
    size_t row_bytes = (size_t)kx * duo_elem_size(wt);
    size_t budget = be->composite_workspace_bytes;
    size_t block = row_bytes ? budget / row_bytes : m;
    if (block == 0) {
        BACKEND_FAIL(be, call, "one %d-element row does not fit the workspace (%zu bytes)", kx, budget);
        return;
    }
    if (block > m) block = m;
    if (block > INT_MAX) block = INT_MAX;
    void *xw = composite_ws(be, block * row_bytes, call);
    if (!xw) return;
    size_t es = duo_elem_size(at);
    for (size_t r0 = 0; r0 < m; r0 += block) {
        size_t rows = m - r0 < block ? m - r0 : block;
        P(be)->convert(be, comp_at(X, r0 * kx * es), at, xw, wt, rows * (size_t)kx);
        composite_gemm_rm(be, 0, tb, (int)rows, nw, kx, 1, xw, wt, kx, 0, W, wt, ldw, 0, beta,
                          comp_at(Y, r0 * (size_t)nw * es), at, nw, 0, 1);
    }
}

static void c_linear(duo_backend *be, const void *X, size_t m, int k, const void *W, int nout, void *Y, double beta) {
    linear_any(be, 0, X, m, k, W, nout, Y, beta);
}

static void c_linear_bwd(duo_backend *be, const void *dY, size_t m, int nout, const void *W, int k, void *dX,
                         double beta) {
    linear_any(be, 1, dY, m, nout, W, k, dX, beta);
}

static void c_rmsnorm(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps, void *Y) {
    P(be)->rmsnorm(be, X, m, d, w, eps, Y);
}

/* Per-row statistics (1/rms, sum w dy x) in the workspace, then the elementwise gradient; row blocks. */
static void c_rmsnorm_bwd(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps, const void *dY,
                          void *dX, int accumulate) {
    if (m == 0) return;
    size_t block = be->composite_workspace_bytes / (2 * sizeof(double));
    if (block > m) block = m;
    if (block == 0) block = 1;
    double *stats = composite_ws(be, block * 2 * sizeof(double), "rmsnorm_bwd"); /* [block][2] */
    if (!stats) return;
    size_t rb = (size_t)d * be->act_size;
    for (size_t r0 = 0; r0 < m; r0 += block) {
        size_t rows = m - r0 < block ? m - r0 : block;
        P(be)->rmsnorm_bwd_stats(be, comp_at(X, r0 * rb), rows, d, w, eps, comp_at(dY, r0 * rb), stats);
        P(be)->rmsnorm_bwd_apply(be, comp_at(X, r0 * rb), rows, d, w, stats, comp_at(dY, r0 * rb),
                                 comp_at(dX, r0 * rb), accumulate);
    }
}

/* The tables on the host with the shared formula, then uploaded. */
static void c_rope_tables(duo_backend *be, const double *inv_freq, int hd, size_t n, void *cos_t, void *sin_t) {
    int half = hd / 2;
    size_t count = n * (size_t)half, es = be->act_size;
    size_t bytes = count * es + 1;
    void *hc = malloc(bytes), *hs = malloc(bytes);
    if (!hc || !hs) {
        BACKEND_FAIL(be, "rope_tables", "out of host memory for %zu-entry tables", count);
        free(hc);
        free(hs);
        return;
    }
    for (size_t p = 0; p < n; p++)
        for (int i = 0; i < half; i++) {
            size_t at = p * half + i;
            if (be->act_type == DUO_E_F64)
                duo_rope_cos_sin_d((long long)p, inv_freq[i], (double *)hc + at, (double *)hs + at);
            else duo_rope_cos_sin_f((long long)p, inv_freq[i], (float *)hc + at, (float *)hs + at);
        }
    P(be)->upload(be, cos_t, hc, count * es);
    P(be)->upload(be, sin_t, hs, count * es);
    free(hc);
    free(hs);
}

static void c_rope(duo_backend *be, void *X, size_t m, int nheads, int hd, const int32_t *pos, const void *cos_t,
                   const void *sin_t, int inverse) {
    P(be)->rope(be, X, m, nheads, hd, pos, cos_t, sin_t, inverse);
}
static void c_add_bias_rows(duo_backend *be, void *X, size_t m, int d, const void *bias) {
    P(be)->add_bias_rows(be, X, m, d, bias);
}
static void c_swiglu(duo_backend *be, const void *G, const void *U, size_t count, void *A) {
    P(be)->swiglu(be, G, U, count, A);
}
static void c_swiglu_bwd(duo_backend *be, const void *G, const void *U, const void *dA, size_t count, void *dG,
                         void *dU) {
    P(be)->swiglu_bwd(be, G, U, dA, count, dG, dU);
}

/* ---- rows ---------------------------------------------------------------------------------------- */
/* Rows of the checkpoint's table through load_tensor (the ids downloaded first: backend memory), so a
 * device that makes its tensors itself (random shapes) serves them too. */
static void c_embed(duo_backend *be, const duo_tensor *table, const int32_t *ids, size_t n, void *X) {
    composite_state *st = composite_get(be, "embed");
    if (!st || n == 0) return;
    const int32_t *hid = composite_host_ints(be, ids, n, &st->hq, &st->hq_cap, "embed");
    if (!hid) return;
    size_t d = (size_t)table->shape[1];
    for (size_t i = 0; i < n; i++)
        P(be)->load_tensor(be, table, (size_t)hid[i] * d, d, comp_at(X, i * d * be->act_size), (duo_elem)be->act_type);
}

static void c_gather_rows(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y) {
    P(be)->gather_rows(be, X, rows, m, d, Y);
}
static void c_scatter_add_rows(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y) {
    P(be)->scatter_add_rows(be, X, rows, m, d, Y);
}
static void c_copy_rows(duo_backend *be, void *dst, size_t ds, const void *src, size_t ss, size_t m, int width) {
    P(be)->copy_rows(be, dst, ds, src, ss, m, width);
}

/* count elements as rows of at most 2^30 (copy_rows' width is an int). */
static void c_copy(duo_backend *be, void *dst, const void *src, size_t count) {
    const size_t w = (size_t)1 << 30;
    size_t full = count / w, rest = count % w;
    if (full) P(be)->copy_rows(be, dst, w, src, w, full, (int)w);
    if (rest) P(be)->copy_rows(be, comp_at(dst, full * w * be->act_size), rest, comp_at(src, full * w * be->act_size),
                               rest, 1, (int)rest);
}

static void c_permute_heads(duo_backend *be, const void *X, size_t m, int nheads, int hd, const int *perm, void *Y) {
    P(be)->permute_heads(be, X, m, nheads, hd, perm, Y);
}
static void c_zero(duo_backend *be, void *dst, size_t count) { P(be)->memset0(be, dst, count * be->act_size); }
static void c_argmax_rows(duo_backend *be, const void *X, size_t m, int ncols, int32_t *out) {
    P(be)->argmax_rows(be, X, m, ncols, out);
}

/* ---- DuoAttention -------------------------------------------------------------------------------- */
/* Per query head: the clamped gate in the compute type (as a double: exact), or 1 minus it. */
static double *head_gates(duo_backend *be, int H, int KVH, const double *gates, int one_minus, const char *call) {
    double *c = malloc((size_t)H * sizeof *c);
    if (!c) {
        BACKEND_FAIL(be, call, "out of host memory");
        return NULL;
    }
    int group = H / KVH;
    for (int h = 0; h < H; h++) {
        double a = gate_clamp(gates[h / group]);
        if (be->act_type == DUO_E_F64) c[h] = one_minus ? 1 - a : a;
        else c[h] = one_minus ? (double)(1.0f - (float)a) : (double)(float)a;
    }
    return c;
}

static void c_gate_blend(duo_backend *be, const void *SA, const void *FA, size_t m, int H, int KVH, int hd,
                         const double *gates, void *ATT) {
    double *c = head_gates(be, H, KVH, gates, 0, "gate_blend");
    if (!c) return;
    P(be)->head_blend(be, SA, FA, m, H, hd, c, ATT);
    free(c);
}

/* grad[g] += sum over rows (in order) of the per-row terms sum dATT (FA - SA); then dATT *= 1 - a. */
static void c_gate_blend_bwd(duo_backend *be, void *dATT, const void *FA, const void *SA, size_t m, int H, int KVH,
                             int hd, const double *gates, double *grad) {
    const char *call = "gate_blend_bwd";
    size_t block = be->composite_workspace_bytes / ((size_t)KVH * sizeof(double));
    if (block > m) block = m;
    if (block == 0) block = 1; /* the workspace request below then names the budget */
    double *acc = calloc((size_t)KVH, sizeof *acc), *hrow = malloc((block ? block : 1) * KVH * sizeof *hrow);
    double *hgrad = malloc((size_t)KVH * sizeof *hgrad);
    double *dev = m ? composite_ws(be, block * KVH * sizeof(double), call) : NULL; /* [block][KVH] */
    if (!acc || !hrow || !hgrad || (m && !dev)) {
        if (!acc || !hrow || !hgrad) BACKEND_FAIL(be, call, "out of host memory");
        free(acc);
        free(hrow);
        free(hgrad);
        return;
    }
    size_t rb = (size_t)H * hd * be->act_size;
    for (size_t r0 = 0; r0 < m; r0 += block) {
        size_t rows = m - r0 < block ? m - r0 : block;
        P(be)->head_dot_diff_rows(be, comp_at(dATT, r0 * rb), comp_at(FA, r0 * rb), comp_at(SA, r0 * rb), rows, H, KVH,
                                  hd, dev);
        P(be)->download(be, hrow, dev, rows * KVH * sizeof *hrow);
        for (size_t r = 0; r < rows; r++)
            for (int g = 0; g < KVH; g++) acc[g] += hrow[r * KVH + g];
    }
    P(be)->download(be, hgrad, grad, (size_t)KVH * sizeof *hgrad);
    for (int g = 0; g < KVH; g++)
        if (gate_passes_gradient(gates[g])) hgrad[g] += acc[g];
    P(be)->upload(be, grad, hgrad, (size_t)KVH * sizeof *hgrad);
    double *c = head_gates(be, H, KVH, gates, 1, call);
    if (c) P(be)->head_scale(be, dATT, m, H, hd, c);
    free(c);
    free(acc);
    free(hrow);
    free(hgrad);
}

/* Per-row sums of squares, then the mean over d summed on the host in row order, as the CPU does. */
static void c_sqdiff_loss(duo_backend *be, const void *A, const void *B, size_t m, int d, double *out) {
    size_t block = be->composite_workspace_bytes / sizeof(double);
    if (block > m) block = m;
    if (block == 0) block = 1;
    double total = 0, *hrow = malloc((block ? block : 1) * sizeof *hrow);
    double *dev = m ? composite_ws(be, block * sizeof(double), "sqdiff_loss") : NULL;
    if (!hrow || (m && !dev)) {
        if (!hrow) BACKEND_FAIL(be, "sqdiff_loss", "out of host memory");
        free(hrow);
        return;
    }
    size_t rb = (size_t)d * be->act_size;
    for (size_t r0 = 0; r0 < m; r0 += block) {
        size_t rows = m - r0 < block ? m - r0 : block;
        P(be)->sqdiff_rows(be, comp_at(A, r0 * rb), comp_at(B, r0 * rb), rows, d, dev);
        P(be)->download(be, hrow, dev, rows * sizeof *hrow);
        for (size_t r = 0; r < rows; r++) total += hrow[r] / (double)d;
    }
    P(be)->upload(be, out, &total, sizeof total);
    free(hrow);
}

static void c_sqdiff_grad(duo_backend *be, const void *A, const void *B, size_t count, double coef, void *dB) {
    P(be)->sqdiff_grad(be, A, B, count, coef, dB);
}

const duo_ops duo_composite_ops = {
    .alloc = c_alloc, .free = c_free, .upload = c_upload, .download = c_download, .sync = c_sync,
    .load_tensor = c_load_tensor,
    .linear = c_linear, .linear_bwd = c_linear_bwd, .rmsnorm = c_rmsnorm, .rmsnorm_bwd = c_rmsnorm_bwd,
    .rope_tables = c_rope_tables, .rope = c_rope, .add_bias_rows = c_add_bias_rows, .swiglu = c_swiglu,
    .swiglu_bwd = c_swiglu_bwd,
    .embed = c_embed, .gather_rows = c_gather_rows, .scatter_add_rows = c_scatter_add_rows, .copy = c_copy,
    .copy_rows = c_copy_rows, .permute_heads = c_permute_heads, .zero = c_zero, .argmax_rows = c_argmax_rows,
    .attn_fwd = composite_attn_fwd, .attn_bwd = composite_attn_bwd, .attn_argmax = composite_attn_argmax,
    .gate_blend = c_gate_blend, .gate_blend_bwd = c_gate_blend_bwd, .sqdiff_loss = c_sqdiff_loss,
    .sqdiff_grad = c_sqdiff_grad,
};
