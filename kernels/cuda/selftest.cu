// The CUDA backend's start-up self-test (and, with larger ragged shapes and more cases, tests/gpu's
// primitive check): every primitive of the table once on small inputs, against the CPU's primitives
// (kernels/cpu cpu_prims_f32) on the same inputs.  Every output buffer sits between guard bytes that
// must come back untouched (a stray write fails the primitive that made it).  The first primitive
// beyond its tolerance is named with its error.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_impl.h"
extern "C" {
#include "kernels/cpu/cpu_backend.h"
#include "kernels/math/math.h"
}

#define GUARD_BYTES 256
#define GUARD_BYTE 0xA5

namespace {

struct dev_buf {
    char *base; // the allocation: GUARD_BYTES, the buffer, GUARD_BYTES
    size_t bytes;
};

struct selftest {
    duo_backend *g, *c; // CUDA, CPU
    duo_error *err;
    int failed;
    dev_buf bufs[64];
    int nbufs;
    unsigned long long rng;
    const duo_selftest_shape *sh;
};

int fail(selftest *s, const char *prim, const char *fmt, double a, double b) {
    if (!s->failed) {
        char what[256];
        snprintf(what, sizeof what, fmt, a, b);
        duo_fail(s->err, "primitive %s: %s", prim, what);
    }
    s->failed = 1;
    return -1;
}

// Values exactly representable in bf16 (k/64, |k| <= 64), so bf16 and float32 weights hold the same numbers.
float next_val(selftest *s) {
    s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((int)((s->rng >> 33) % 129) - 64) / 64.0f;
}
float *host_vals(selftest *s, size_t n) {
    float *h = (float *)malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; h && i < n; i++) h[i] = next_val(s);
    return h;
}

// A device buffer with guards; `host` (bytes long) uploaded into it when non-NULL, else zeroed.
void *dev(selftest *s, const void *host, size_t bytes) {
    if (s->nbufs == 64 || s->g->failed) return NULL;
    char *p = (char *)cuda_alloc(s->g, bytes + 2 * GUARD_BYTES);
    if (!p) return NULL;
    cudaMemsetAsync(p, GUARD_BYTE, bytes + 2 * GUARD_BYTES, cuda_stream(s->g)); // the backend's stream: ordered
    if (host) cuda_upload(s->g, p + GUARD_BYTES, host, bytes);
    else cuda_memset0(s->g, p + GUARD_BYTES, bytes);
    s->bufs[s->nbufs].base = p;
    s->bufs[s->nbufs].bytes = bytes;
    s->nbufs++;
    return p + GUARD_BYTES;
}

// The weights in the CUDA backend's weight type (exact: host_vals' values fit bf16).
void *dev_w(selftest *s, const float *w, size_t n) {
    if (s->g->weight_type != DUO_E_BF16) return dev(s, w, n * sizeof(float));
    uint16_t *b = (uint16_t *)malloc((n ? n : 1) * 2);
    if (!b) return NULL;
    for (size_t i = 0; i < n; i++) b[i] = duo_f32_to_bf16(w[i]);
    void *d = dev(s, b, n * 2);
    free(b);
    return d;
}

// Downloads dev buffer d into host (bytes); checks both guards of the buffer d belongs to.
int fetch(selftest *s, const char *prim, void *host, const void *d, size_t bytes) {
    if (s->g->failed || !d) return -1;
    cuda_download(s->g, host, d, bytes);
    for (int i = 0; i < s->nbufs; i++) {
        if (s->bufs[i].base + GUARD_BYTES != (const char *)d) continue;
        unsigned char g[2 * GUARD_BYTES];
        cuda_download(s->g, g, s->bufs[i].base, GUARD_BYTES);
        cuda_download(s->g, g + GUARD_BYTES, s->bufs[i].base + GUARD_BYTES + s->bufs[i].bytes, GUARD_BYTES);
        for (int k = 0; k < 2 * GUARD_BYTES; k++)
            if (g[k] != GUARD_BYTE)
                return fail(s, prim, "wrote outside its output: guard byte %g (of %g each side) changed",
                            (double)(k < GUARD_BYTES ? k - GUARD_BYTES : k - GUARD_BYTES + 1), (double)GUARD_BYTES);
    }
    return s->g->failed ? -1 : 0;
}

void release(selftest *s) {
    for (int i = 0; i < s->nbufs; i++) cudaFree(s->bufs[i].base);
    s->nbufs = 0;
}

// max_i |got - want| / max(1, |want|) <= tol; NaN where the CPU has NaN counts as equal.
int close_f(selftest *s, const char *prim, const float *want, const float *got, size_t n, double tol) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i]) && isnan(got[i])) continue;
        if (isinf(want[i]) && want[i] == got[i]) continue;
        double e = fabs((double)got[i] - want[i]) / fmax(1.0, fabs((double)want[i]));
        if (isnan(e)) return fail(s, prim, "element %g: NaN where the CPU has %g", (double)i, want[i]);
        if (e > worst) worst = e;
    }
    if (!(worst <= tol)) return fail(s, prim, "error %.3g, tolerance %.3g", worst, tol);
    return 0;
}
int close_d(selftest *s, const char *prim, const double *want, const double *got, size_t n, double tol) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i]) && isnan(got[i])) continue;
        double e = fabs(got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        if (isnan(e)) return fail(s, prim, "element %g: NaN where the CPU has %g", (double)i, want[i]);
        if (e > worst) worst = e;
    }
    if (!(worst <= tol)) return fail(s, prim, "error %.3g, tolerance %.3g", worst, tol);
    return 0;
}
int same_bytes(selftest *s, const char *prim, const void *want, const void *got, size_t bytes) {
    const unsigned char *a = (const unsigned char *)want, *b = (const unsigned char *)got;
    for (size_t i = 0; i < bytes; i++)
        if (a[i] != b[i]) return fail(s, prim, "byte %g differs from the CPU's (of %g)", (double)i, (double)bytes);
    return 0;
}

// ---- the cases --------------------------------------------------------------------------------------

void test_convert_and_load(selftest *s) {
    size_t n = (size_t)s->sh->m * s->sh->d;
    float *x = host_vals(s, n);
    for (size_t i = 0; i < n; i++) x[i] = x[i] * 1.0009765625f + (float)i * 3.1e-5f; // bits below bf16's
    double *xd = (double *)malloc(n * sizeof(double));
    uint16_t *wb = (uint16_t *)malloc(n * 2), *gb = (uint16_t *)malloc(n * 2);
    float *wf = (float *)malloc(n * 4), *gf = (float *)malloc(n * 4);
    for (size_t i = 0; i < n; i++) xd[i] = (double)x[i] * (1 + 1e-9);
    void *dx = dev(s, x, n * 4), *dxd = dev(s, xd, n * 8), *db = dev(s, NULL, n * 2), *df = dev(s, NULL, n * 4);
    if (!s->failed && !s->g->failed) {
        cpu_convert(s->c, x, DUO_E_F32, wb, DUO_E_BF16, n);
        cuda_convert(s->g, dx, DUO_E_F32, db, DUO_E_BF16, n);
        if (!fetch(s, "convert", gb, db, n * 2)) same_bytes(s, "convert (float32 -> bf16)", wb, gb, n * 2);
        cpu_convert(s->c, wb, DUO_E_BF16, wf, DUO_E_F32, n);
        cuda_convert(s->g, db, DUO_E_BF16, df, DUO_E_F32, n);
        if (!fetch(s, "convert", gf, df, n * 4)) same_bytes(s, "convert (bf16 -> float32)", wf, gf, n * 4);
        cpu_convert(s->c, xd, DUO_E_F64, wb, DUO_E_BF16, n);
        cuda_convert(s->g, dxd, DUO_E_F64, db, DUO_E_BF16, n);
        if (!fetch(s, "convert", gb, db, n * 2)) same_bytes(s, "convert (float64 -> bf16)", wb, gb, n * 2);
        cpu_convert(s->c, xd, DUO_E_F64, wf, DUO_E_F32, n);
        cuda_convert(s->g, dxd, DUO_E_F64, df, DUO_E_F32, n);
        if (!fetch(s, "convert", gf, df, n * 4)) same_bytes(s, "convert (float64 -> float32)", wf, gf, n * 4);
    }
    // load_tensor from each storage dtype into float32 and bf16: a host tensor, elements [1, n) of it
    const duo_dtype dts[3] = {DUO_F32, DUO_BF16, DUO_F16};
    for (int k = 0; k < 3 && !s->failed; k++) {
        uint16_t *raw16 = (uint16_t *)malloc(n * 2);
        for (size_t i = 0; i < n; i++) raw16[i] = k == 2 ? duo_f32_to_f16(x[i]) : duo_f32_to_bf16(x[i]);
        duo_tensor t;
        memset(&t, 0, sizeof t);
        t.name = "selftest";
        t.dtype = dts[k];
        t.ndim = 1;
        t.shape[0] = (int64_t)n;
        t.data = k == 0 ? (const void *)x : raw16;
        t.nbytes = n * dtype_size(dts[k]);
        t.file = "(self-test)";
        for (int to = 0; to < 2 && !s->failed; to++) {
            duo_elem de = to ? DUO_E_BF16 : DUO_E_F32;
            size_t es = duo_elem_size(de);
            cpu_load_tensor_as(s->c, &t, 1, n - 1, wf, de);
            cuda_load_tensor(s->g, &t, 1, n - 1, to ? db : df, de);
            if (!fetch(s, "load_tensor", gf, to ? db : df, (n - 1) * es))
                same_bytes(s, "load_tensor", wf, gf, (n - 1) * es);
        }
        free(raw16);
    }
    free(x), free(xd), free(wb), free(gb), free(wf), free(gf);
}

// C = alpha op(A) op(B) + beta C for every transpose pair, batch 2, and the operand types of the mode.
void test_gemm(selftest *s) {
    int m = s->sh->m, n = s->sh->d / 2 + 1, k = s->sh->hd + 3, batch = 2;
    for (int types = 0; types < 3 && !s->failed; types++) {
        duo_elem ab = types == 0 ? DUO_E_F32 : types == 1 ? DUO_E_BF16 : DUO_E_F64;
        duo_elem ct = types == 2 ? DUO_E_F64 : DUO_E_F32;
        size_t es = duo_elem_size(ab), cs = duo_elem_size(ct);
        for (int tr = 0; tr < 4 && !s->failed; tr++) {
            duo_gemm g;
            memset(&g, 0, sizeof g);
            g.trans_a = tr & 1, g.trans_b = tr >> 1;
            g.m = m, g.n = n, g.k = k, g.batch = batch;
            g.a_type = g.b_type = ab, g.c_type = ct;
            g.lda = (g.trans_a ? k : m) + 1, g.ldb = (g.trans_b ? n : k) + 2, g.ldc = m + 3;
            g.stride_a = g.lda * (g.trans_a ? m : k), g.stride_b = g.ldb * (g.trans_b ? k : n) + 5,
            g.stride_c = g.ldc * n;
            g.alpha = 0.75, g.beta = tr == 3 ? 0.0 : 0.5;
            size_t na = (size_t)g.stride_a * batch, nb = (size_t)g.stride_b * batch, nc = (size_t)g.stride_c * batch;
            float *fa = host_vals(s, na), *fb = host_vals(s, nb), *fc = host_vals(s, nc);
            void *ha = malloc(na * es), *hb = malloc(nb * es), *hc = malloc(nc * cs), *got = malloc(nc * cs);
            cpu_convert(s->c, fa, DUO_E_F32, ha, ab, na);
            cpu_convert(s->c, fb, DUO_E_F32, hb, ab, nb);
            cpu_convert(s->c, fc, DUO_E_F32, hc, ct, nc);
            void *da = dev(s, ha, na * es), *dbb = dev(s, hb, nb * es), *dc = dev(s, hc, nc * cs);
            duo_gemm gg = g;
            g.A = ha, g.B = hb, g.C = hc;
            cpu_gemm(s->c, &g);
            gg.A = da, gg.B = dbb, gg.C = dc;
            if (!s->g->failed) cuda_gemm(s->g, &gg);
            if (!fetch(s, "gemm", got, dc, nc * cs)) {
                if (ct == DUO_E_F64) close_d(s, "gemm (float64)", (double *)hc, (double *)got, nc, 1e-12);
                else close_f(s, ab == DUO_E_BF16 ? "gemm (bf16)" : "gemm (float32)", (float *)hc, (float *)got, nc,
                             1e-5);
            }
            free(fa), free(fb), free(fc), free(ha), free(hb), free(hc), free(got);
            release(s);
        }
    }
}

void test_rows(selftest *s) {
    int m = s->sh->m, d = s->sh->d, nh = s->sh->nheads, hd = s->sh->hd;
    size_t src_rows = (size_t)m + 3;
    float *X = host_vals(s, src_rows * d), *Y = host_vals(s, src_rows * d), *Yg = (float *)malloc(src_rows * d * 4);
    int32_t *rows = (int32_t *)malloc(m * 4);
    size_t step = 7; // a step coprime with src_rows visits distinct rows
    for (;; step += 2) {
        size_t a = step, b = src_rows;
        while (b) {
            size_t t = a % b;
            a = b, b = t;
        }
        if (a == 1) break;
    }
    for (int r = 0; r < m; r++) rows[r] = (int32_t)((r * step + 2) % src_rows);
    void *dX = dev(s, X, src_rows * d * 4), *dY = dev(s, Y, src_rows * d * 4), *drows = dev(s, rows, m * 4);
    // gather
    float *Yc = (float *)malloc(src_rows * d * 4);
    memcpy(Yc, Y, src_rows * d * 4);
    cpu_prims_f32.gather_rows(s->c, X, rows, m, d, Yc);
    cuda_gather_rows(s->g, dX, (const int32_t *)drows, m, d, dY);
    if (!fetch(s, "gather_rows", Yg, dY, src_rows * d * 4)) close_f(s, "gather_rows", Yc, Yg, src_rows * d, 0);
    // scatter-add onto the gathered result
    cpu_prims_f32.scatter_add_rows(s->c, X, rows, m, d, Yc);
    cuda_scatter_add_rows(s->g, dX, (const int32_t *)drows, m, d, dY);
    if (!fetch(s, "scatter_add_rows", Yg, dY, src_rows * d * 4))
        close_f(s, "scatter_add_rows", Yc, Yg, src_rows * d, 0);
    // copy_rows: width d-1 from stride d into stride d (leaves the last column)
    cpu_prims_f32.copy_rows(s->c, Yc, d, X, d, m, d - 1);
    cuda_copy_rows(s->g, dY, d, dX, d, m, d - 1);
    if (!fetch(s, "copy_rows", Yg, dY, src_rows * d * 4)) close_f(s, "copy_rows", Yc, Yg, src_rows * d, 0);
    // permute_heads over rows of nh*hd
    size_t w = (size_t)nh * hd;
    float *P = host_vals(s, m * w), *Pc = (float *)malloc(m * w * 4), *Pg = (float *)malloc(m * w * 4);
    int perm[DUO_CUDA_MAX_HEADS];
    for (int j = 0; j < nh; j++) perm[j] = (j * 3 + 1) % nh;
    if (nh % 3 == 0)
        for (int j = 0; j < nh; j++) perm[j] = nh - 1 - j;
    void *dP = dev(s, P, m * w * 4), *dPo = dev(s, NULL, m * w * 4);
    cpu_prims_f32.permute_heads(s->c, P, m, nh, hd, perm, Pc);
    cuda_permute_heads(s->g, dP, m, nh, hd, perm, dPo);
    if (!fetch(s, "permute_heads", Pg, dPo, m * w * 4)) close_f(s, "permute_heads", Pc, Pg, m * w, 0);
    free(X), free(Y), free(Yg), free(Yc), free(rows), free(P), free(Pc), free(Pg);
    release(s);
}

void test_maps(selftest *s) {
    int m = s->sh->m, nh = s->sh->nheads, hd = s->sh->hd, half = hd / 2;
    size_t w = (size_t)nh * hd, n = m * w;
    float *X = host_vals(s, n), *Y = host_vals(s, n), *Z = host_vals(s, n), *C = (float *)malloc(n * 4),
          *G = (float *)malloc(n * 4), *C2 = (float *)malloc(n * 4), *G2 = (float *)malloc(n * 4);
    for (size_t i = 0; i < n; i++) X[i] *= 4; // SiLU's interesting range
    void *dX = dev(s, X, n * 4), *dY = dev(s, Y, n * 4), *dZ = dev(s, Z, n * 4), *dO = dev(s, NULL, n * 4),
         *dO2 = dev(s, NULL, n * 4);
    // RoPE at positions below npos with tables as HF builds them
    int npos = m + 5;
    int32_t *pos = (int32_t *)malloc(m * 4);
    for (int r = 0; r < m; r++) pos[r] = (r * 5 + 1) % npos;
    float *ct = (float *)malloc((size_t)npos * half * 4), *st = (float *)malloc((size_t)npos * half * 4);
    for (int p = 0; p < npos; p++)
        for (int i = 0; i < half; i++)
            duo_rope_cos_sin_f(p, pow(10000.0, -2.0 * i / hd), &ct[p * half + i], &st[p * half + i]);
    void *dpos = dev(s, pos, m * 4), *dct = dev(s, ct, (size_t)npos * half * 4), *dst = dev(s, st, (size_t)npos * half * 4);
    for (int inv = 0; inv < 2 && !s->failed; inv++) {
        memcpy(C, X, n * 4);
        cpu_prims_f32.rope(s->c, C, m, nh, hd, pos, ct, st, inv);
        cuda_copy_rows(s->g, dO, 1, dX, 1, n, 1);
        cuda_rope(s->g, dO, m, nh, hd, (const int32_t *)dpos, dct, dst, inv);
        if (!fetch(s, "rope", G, dO, n * 4)) close_f(s, "rope", C, G, n, 1e-6);
    }
    // bias (weight elements)
    float *b = host_vals(s, w);
    void *db = dev_w(s, b, w);
    memcpy(C, X, n * 4);
    cpu_prims_f32.add_bias_rows(s->c, C, m, (int)w, b);
    cuda_copy_rows(s->g, dO, 1, dX, 1, n, 1);
    cuda_add_bias_rows(s->g, dO, m, (int)w, db);
    if (!fetch(s, "add_bias_rows", G, dO, n * 4)) close_f(s, "add_bias_rows", C, G, n, 0);
    // SwiGLU and its backward
    cpu_prims_f32.swiglu(s->c, X, Y, n, C);
    cuda_swiglu(s->g, dX, dY, n, dO);
    if (!fetch(s, "swiglu", G, dO, n * 4)) close_f(s, "swiglu", C, G, n, 1e-6);
    cpu_prims_f32.swiglu_bwd(s->c, X, Y, Z, n, C, C2);
    cuda_swiglu_bwd(s->g, dX, dY, dZ, n, dO, dO2);
    if (!fetch(s, "swiglu_bwd", G, dO, n * 4) && !fetch(s, "swiglu_bwd", G2, dO2, n * 4)) {
        close_f(s, "swiglu_bwd (dG)", C, G, n, 1e-6);
        close_f(s, "swiglu_bwd (dU)", C2, G2, n, 1e-6);
    }
    cpu_prims_f32.sqdiff_grad(s->c, X, Y, n, -0.375, C);
    cuda_sqdiff_grad(s->g, dX, dY, n, -0.375, dO);
    if (!fetch(s, "sqdiff_grad", G, dO, n * 4)) close_f(s, "sqdiff_grad", C, G, n, 0);
    // per-head blend and scale
    double c[DUO_CUDA_MAX_HEADS];
    for (int h = 0; h < nh; h++) c[h] = h == 0 ? 0.0 : h == 1 ? 1.0 : 0.1 + 0.8 * h / nh;
    cpu_prims_f32.head_blend(s->c, X, Y, m, nh, hd, c, C);
    cuda_head_blend(s->g, dX, dY, m, nh, hd, c, dO);
    if (!fetch(s, "head_blend", G, dO, n * 4)) close_f(s, "head_blend", C, G, n, 1e-6);
    memcpy(C, X, n * 4);
    cpu_prims_f32.head_scale(s->c, C, m, nh, hd, c);
    cuda_copy_rows(s->g, dO, 1, dX, 1, n, 1);
    cuda_head_scale(s->g, dO, m, nh, hd, c);
    if (!fetch(s, "head_scale", G, dO, n * 4)) close_f(s, "head_scale", C, G, n, 0);
    free(X), free(Y), free(Z), free(C), free(G), free(C2), free(G2), free(pos), free(ct), free(st), free(b);
    release(s);
}

void test_reductions(selftest *s) {
    int m = s->sh->m, d = s->sh->d, nh = s->sh->nheads, hd = s->sh->hd, ng = s->sh->ngroups;
    size_t n = (size_t)m * d;
    float *X = host_vals(s, n), *dY = host_vals(s, n), *w = host_vals(s, d), *C = (float *)malloc(n * 4),
          *G = (float *)malloc(n * 4);
    double *sc = (double *)malloc(2 * m * 8), *sg = (double *)malloc(2 * m * 8);
    for (int i = 0; i < d; i++) w[i] += 1;
    void *dX = dev(s, X, n * 4), *ddY = dev(s, dY, n * 4), *dw = dev_w(s, w, d), *dO = dev(s, NULL, n * 4),
         *dstats = dev(s, NULL, 2 * m * 8);
    cpu_prims_f32.rmsnorm(s->c, X, m, d, w, 1e-5, C);
    cuda_rmsnorm(s->g, dX, m, d, dw, 1e-5, dO);
    if (!fetch(s, "rmsnorm", G, dO, n * 4)) close_f(s, "rmsnorm", C, G, n, 1e-5);
    cpu_prims_f32.rmsnorm_bwd_stats(s->c, X, m, d, w, 1e-5, dY, sc);
    cuda_rmsnorm_bwd_stats(s->g, dX, m, d, dw, 1e-5, ddY, (double *)dstats);
    if (!fetch(s, "rmsnorm_bwd_stats", sg, dstats, 2 * m * 8)) close_d(s, "rmsnorm_bwd_stats", sc, sg, 2 * m, 1e-10);
    for (int acc = 0; acc < 2 && !s->failed; acc++) {
        // apply from the CPU's stats on both sides, so the apply alone is compared
        cuda_upload(s->g, dstats, sc, 2 * m * 8);
        memcpy(C, dY, n * 4);
        cuda_copy_rows(s->g, dO, 1, ddY, 1, n, 1);
        cpu_prims_f32.rmsnorm_bwd_apply(s->c, X, m, d, w, sc, dY, C, acc);
        cuda_rmsnorm_bwd_apply(s->g, dX, m, d, dw, (const double *)dstats, ddY, dO, acc);
        if (!fetch(s, "rmsnorm_bwd_apply", G, dO, n * 4)) close_f(s, "rmsnorm_bwd_apply", C, G, n, 1e-5);
    }
    // argmax: ties (the first wins), a NaN in column 0 of row 0, a later NaN in row 1
    float *A = host_vals(s, n);
    if (m > 0) A[0] = NAN;
    if (m > 1 && d > 2) A[d + 1] = NAN;
    int32_t *ac = (int32_t *)malloc(m * 4), *ag = (int32_t *)malloc(m * 4);
    void *dA = dev(s, A, n * 4), *damax = dev(s, NULL, m * 4);
    cpu_prims_f32.argmax_rows(s->c, A, m, d, ac);
    cuda_argmax_rows(s->g, dA, m, d, (int32_t *)damax);
    if (!fetch(s, "argmax_rows", ag, damax, m * 4)) same_bytes(s, "argmax_rows", ac, ag, m * 4);
    // squared differences, head dots
    double *rc = (double *)malloc((size_t)m * nh * 8), *rg = (double *)malloc((size_t)m * nh * 8);
    void *dr = dev(s, NULL, (size_t)m * nh * 8);
    cpu_prims_f32.sqdiff_rows(s->c, X, dY, m, d, rc);
    cuda_sqdiff_rows(s->g, dX, ddY, m, d, (double *)dr);
    if (!fetch(s, "sqdiff_rows", rg, dr, m * 8)) close_d(s, "sqdiff_rows", rc, rg, m, 1e-10);
    size_t hw = (size_t)nh * hd, hn = m * hw;
    float *H1 = host_vals(s, hn), *H2 = host_vals(s, hn), *H3 = host_vals(s, hn);
    void *dH1 = dev(s, H1, hn * 4), *dH2 = dev(s, H2, hn * 4), *dH3 = dev(s, H3, hn * 4);
    cpu_prims_f32.head_dot_diff_rows(s->c, H1, H2, H3, m, nh, ng, hd, rc);
    cuda_head_dot_diff_rows(s->g, dH1, dH2, dH3, m, nh, ng, hd, (double *)dr);
    if (!fetch(s, "head_dot_diff_rows", rg, dr, (size_t)m * ng * 8))
        close_d(s, "head_dot_diff_rows", rc, rg, (size_t)m * ng, 1e-10);
    size_t ostride = nh + 2;
    float *oc = (float *)calloc(m * ostride, 4), *og = (float *)malloc(m * ostride * 4);
    void *dout = dev(s, NULL, m * ostride * 4);
    cpu_prims_f32.head_dot_rows(s->c, H1, hw, H2, hw, m, nh, hd, oc, ostride);
    cuda_head_dot_rows(s->g, dH1, hw, dH2, hw, m, nh, hd, dout, ostride);
    if (!fetch(s, "head_dot_rows", og, dout, m * ostride * 4)) close_f(s, "head_dot_rows", oc, og, m * ostride, 1e-5);
    free(X), free(dY), free(w), free(C), free(G), free(sc), free(sg), free(A), free(ac), free(ag), free(rc), free(rg);
    free(H1), free(H2), free(H3), free(oc), free(og);
    release(s);
}

// A tile of `rows` queries against a gapped key set (every third position missing) under a streaming
// mask: sink and recent windows, so rows see two column ranges, some rows one, some none.
void test_tiles(selftest *s) {
    int rows = s->sh->m, heads = s->sh->nheads;
    size_t nk = (size_t)s->sh->nk;
    int32_t *kpos = (int32_t *)malloc(nk * 4), *qpos = (int32_t *)malloc(rows * 4);
    for (size_t r = 0; r < nk; r++) kpos[r] = (int32_t)(r + r / 2); // 0 1 3 4 6 7 ...
    long long last = kpos[nk - 1];
    for (int r = 0; r < rows; r++) qpos[r] = (int32_t)(last - (rows - 1 - r) * 2 > 0 ? last - (rows - 1 - r) * 2 : r);
    for (int r = 1; r < rows; r++)
        if (qpos[r] <= qpos[r - 1]) qpos[r] = qpos[r - 1] + 1;
    for (int kind = 0; kind < 2 && !s->failed; kind++) {
        duo_score_tile t;
        memset(&t, 0, sizeof t);
        t.mask.kind = kind ? ATTN_STREAM_SDPA : ATTN_FULL;
        t.mask.sink_size = 3;
        t.mask.recent_size = s->sh->nk / 3 + 2;
        t.kpos = kpos;
        t.nk = nk;
        t.rows = rows;
        t.heads = heads;
        t.scale = 1 / sqrt((double)s->sh->hd);
        duo_tile_set_span(&t, kpos, qpos[0], qpos[rows - 1]);
        t.ld = t.cols + 3;
        size_t n = (size_t)heads * rows * t.ld, nl = (size_t)heads * rows;
        float *S = host_vals(s, n), *Sc = (float *)malloc(n * 4), *Sg = (float *)malloc(n * 4);
        for (size_t i = 0; i < n; i++) S[i] *= 6;
        float *lc = (float *)malloc(nl * 4), *lg = (float *)malloc(nl * 4);
        void *dS = dev(s, S, n * 4), *dl = dev(s, NULL, nl * 4), *dk = dev(s, kpos, nk * 4),
             *dq = dev(s, qpos, rows * 4);
        duo_score_tile tg = t;
        tg.kpos = (const int32_t *)dk, tg.qpos = (const int32_t *)dq;
        t.qpos = qpos;
        // softmax, lse [head][row] with row stride 1
        memcpy(Sc, S, n * 4);
        cpu_prims_f32.tile_softmax(s->c, &t, Sc, lc, 1, rows);
        cuda_tile_softmax(s->g, &tg, dS, dl, 1, rows);
        if (!fetch(s, "tile_softmax", Sg, dS, n * 4) && !fetch(s, "tile_softmax", lg, dl, nl * 4)) {
            close_f(s, "tile_softmax (P)", Sc, Sg, n, 1e-5);
            close_f(s, "tile_softmax (lse)", lc, lg, nl, 1e-5);
        }
        // probs recomputed from the raw scores and the CPU's lse
        memcpy(Sc, S, n * 4);
        cuda_upload(s->g, dS, S, n * 4);
        cuda_upload(s->g, dl, lc, nl * 4);
        cpu_prims_f32.tile_probs(s->c, &t, Sc, lc, 1, rows);
        cuda_tile_probs(s->g, &tg, dS, dl, 1, rows);
        if (!fetch(s, "tile_probs", Sg, dS, n * 4)) close_f(s, "tile_probs", Sc, Sg, n, 1e-5);
        // dscores from those probabilities, dP and D
        float *dP = host_vals(s, n), *D = host_vals(s, nl);
        void *ddP = dev(s, dP, n * 4), *dD = dev(s, D, nl * 4);
        cpu_prims_f32.tile_dscores(s->c, &t, Sc, dP, D, 1, rows);
        cuda_upload(s->g, dS, Sg, n * 4); // the GPU's own P: equal within tile_probs' tolerance
        cuda_tile_dscores(s->g, &tg, dS, ddP, dD, 1, rows);
        if (!fetch(s, "tile_dscores", Sg, dS, n * 4)) close_f(s, "tile_dscores", Sc, Sg, n, 1e-5);
        // argmax over the raw scores, [row][head] layout
        int32_t *ac = (int32_t *)malloc(nl * 4), *ag = (int32_t *)malloc(nl * 4);
        void *da = dev(s, NULL, nl * 4);
        cuda_upload(s->g, dS, S, n * 4);
        cpu_prims_f32.tile_argmax(s->c, &t, S, ac, heads, 1);
        cuda_tile_argmax(s->g, &tg, dS, (int32_t *)da, heads, 1);
        if (!fetch(s, "tile_argmax", ag, da, nl * 4)) same_bytes(s, "tile_argmax", ac, ag, nl * 4);
        free(S), free(Sc), free(Sg), free(lc), free(lg), free(dP), free(D), free(ac), free(ag);
        release(s);
    }
    free(kpos), free(qpos);
}

} // namespace

extern "C" int cuda_selftest_run(duo_backend *g, const duo_selftest_shape *sh, duo_error *err) {
    duo_error cerr;
    duo_backend *c = backend_cpu_create(0, &cerr);
    if (!c) return duo_fail(err, "self-test: %s", cerr.msg);
    selftest s;
    memset(&s, 0, sizeof s);
    s.g = g, s.c = c, s.err = err, s.sh = sh, s.rng = 0x5eedull + (unsigned long long)sh->m * 131 + sh->d;
    if (sh->m < 2 || sh->d < 4 || sh->nheads < 1 || sh->nheads > DUO_CUDA_MAX_HEADS || sh->hd < 2 || sh->hd % 2 ||
        sh->ngroups < 1 || sh->nheads % sh->ngroups || sh->nk < 4) {
        backend_free(c);
        return duo_fail(err, "self-test: bad shape (m %d d %d heads %d hd %d groups %d nk %d)", sh->m, sh->d,
                        sh->nheads, sh->hd, sh->ngroups, sh->nk);
    }
    void (*cases[])(selftest *) = {test_convert_and_load, test_gemm, test_rows, test_maps, test_reductions, test_tiles};
    for (size_t i = 0; i < sizeof cases / sizeof *cases && !s.failed && !g->failed; i++) {
        cases[i](&s);
        release(&s);
    }
    cuda_sync(g);
    backend_free(c);
    if (!s.failed && g->failed) return duo_fail(err, "%s", g->status.msg);
    return s.failed ? -1 : 0;
}

int cuda_selftest(duo_backend *be, duo_error *err) {
    // small, with odd sizes: rows of d = 300 cross a block of 256 threads, 40 gapped keys a warp
    const duo_selftest_shape sh = {.m = 5, .d = 300, .nheads = 6, .hd = 8, .ngroups = 2, .nk = 40};
    return cuda_selftest_run(be, &sh, err);
}
