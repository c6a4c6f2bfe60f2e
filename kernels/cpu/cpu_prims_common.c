/* The CPU primitives that do not depend on the compute type (kernels/prims.h): element conversion,
 * checkpoint loads into any element type, and the GEMM descriptor executed by cblas in CblasColMajor
 * (batch as a loop; bf16 operands widened exactly into a float scratch and run as sgemm, so every bf16
 * descriptor the GPU will see is executable here too). */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/cpu_par.h"
#include "kernels/math/bf16.h"

/* One element of type t at p[i] as double (exact for every type). */
static double elem_get(const void *p, duo_elem t, size_t i) {
    switch (t) {
    case DUO_E_F64: return ((const double *)p)[i];
    case DUO_E_BF16: return duo_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

void cpu_convert(duo_backend *be, const void *src, duo_elem st, void *dst, duo_elem dt, size_t count) {
    if (st == dt) {
        if (count) memcpy(dst, src, count * duo_elem_size(st));
        return;
    }
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(count))
    for (size_t i = 0; i < count; i++) {
        if (dt == DUO_E_F64) ((double *)dst)[i] = elem_get(src, st, i);
        else if (dt == DUO_E_F32) ((float *)dst)[i] = (float)elem_get(src, st, i); /* from f64: one rounding */
        else if (st == DUO_E_F32) ((uint16_t *)dst)[i] = duo_f32_to_bf16(((const float *)src)[i]);
        else ((uint16_t *)dst)[i] = duo_f64_to_bf16(((const double *)src)[i]);
    }
}

void cpu_load_tensor_as(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *dst, duo_elem dt) {
    if (dt == DUO_E_BF16 && t->dtype == DUO_BF16) { /* the stored bits, as they are */
        const unsigned char *p = (const unsigned char *)t->data + first * 2;
        uint16_t *o = dst;
        for (size_t i = 0; i < count; i++) o[i] = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        return;
    }
    if (dt == DUO_E_F32) {
        tensor_to_f32(t, first, count, dst);
        return;
    }
    float chunk[4096];
    size_t es = duo_elem_size(dt);
    for (size_t s = 0; s < count; s += 4096) {
        size_t k = count - s < 4096 ? count - s : 4096;
        tensor_to_f32(t, first + s, k, chunk);
        cpu_convert(be, chunk, DUO_E_F32, (char *)dst + s * es, dt, k);
    }
}

/* Elements an operand spans: `cols` columns of `rows` rows, ld apart, over batch strides. */
static size_t operand_extent(int rows, int cols, long long ld, long long stride, int batch) {
    return (size_t)(ld * (cols - 1) + rows) + (size_t)stride * (size_t)(batch - 1);
}

/* A float copy of a bf16 operand (NULL and recorded when out of memory). */
static float *widen(duo_backend *be, const void *X, duo_elem t, size_t n) {
    float *w = malloc((n ? n : 1) * sizeof *w);
    if (!w) {
        BACKEND_FAIL(be, "gemm", "out of memory widening a %zu-element bf16 operand", n);
        return NULL;
    }
    if (t == DUO_E_BF16)
        for (size_t i = 0; i < n; i++) w[i] = duo_bf16_to_f32(((const uint16_t *)X)[i]);
    else memcpy(w, X, n * sizeof *w);
    return w;
}

static int fits_int(long long v) { return v >= 0 && v <= INT_MAX; }

void cpu_gemm(duo_backend *be, const duo_gemm *g) {
    int f64 = g->a_type == DUO_E_F64;
    if (f64 ? (g->b_type != DUO_E_F64 || g->c_type != DUO_E_F64)
            : (g->a_type == DUO_E_F64 || g->b_type == DUO_E_F64 || g->c_type != DUO_E_F32)) {
        BACKEND_FAIL(be, "gemm", "unsupported operand types A %s, B %s, C %s", duo_elem_name(g->a_type),
                     duo_elem_name(g->b_type), duo_elem_name(g->c_type));
        return;
    }
    if (g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 1) {
        BACKEND_FAIL(be, "gemm", "bad shape m %d n %d k %d batch %d", g->m, g->n, g->k, g->batch);
        return;
    }
    if (g->m == 0 || g->n == 0) return;
    int ar = g->trans_a ? g->k : g->m, ac = g->trans_a ? g->m : g->k; /* stored A: ar x ac */
    int br = g->trans_b ? g->n : g->k, bc = g->trans_b ? g->k : g->n;
    if (!fits_int(g->lda) || !fits_int(g->ldb) || !fits_int(g->ldc) || g->ldc < g->m || (g->k > 0 && (g->lda < ar || g->ldb < br)) ||
        g->stride_a < 0 || g->stride_b < 0 || g->stride_c < 0) {
        BACKEND_FAIL(be, "gemm", "bad leading dimensions/strides (m %d n %d k %d, lda %lld ldb %lld ldc %lld)", g->m,
                     g->n, g->k, g->lda, g->ldb, g->ldc);
        return;
    }
    if (g->k == 0) { /* C = beta * C (BLAS would reject lda < 1) */
        for (int b = 0; b < g->batch; b++)
            for (int j = 0; j < g->n; j++)
                for (int i = 0; i < g->m; i++) {
                    size_t at = (size_t)b * g->stride_c + (size_t)j * g->ldc + i;
                    if (f64) ((double *)g->C)[at] = g->beta == 0 ? 0 : g->beta * ((double *)g->C)[at];
                    else ((float *)g->C)[at] = g->beta == 0 ? 0 : (float)g->beta * ((float *)g->C)[at];
                }
        return;
    }
    enum CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans, tb = g->trans_b ? CblasTrans : CblasNoTrans;
    if (f64) {
        for (int b = 0; b < g->batch; b++)
            cblas_dgemm(CblasColMajor, ta, tb, g->m, g->n, g->k, g->alpha, (const double *)g->A + (size_t)b * g->stride_a,
                        (int)g->lda, (const double *)g->B + (size_t)b * g->stride_b, (int)g->ldb, g->beta,
                        (double *)g->C + (size_t)b * g->stride_c, (int)g->ldc);
        return;
    }
    const float *A = g->A, *B = g->B;
    float *wa = NULL, *wb = NULL;
    if (g->a_type == DUO_E_BF16) {
        A = wa = widen(be, g->A, DUO_E_BF16, operand_extent(ar, ac, g->lda, g->stride_a, g->batch));
        if (!wa) return;
    }
    if (g->b_type == DUO_E_BF16) {
        B = wb = widen(be, g->B, DUO_E_BF16, operand_extent(br, bc, g->ldb, g->stride_b, g->batch));
        if (!wb) {
            free(wa);
            return;
        }
    }
    for (int b = 0; b < g->batch; b++)
        cblas_sgemm(CblasColMajor, ta, tb, g->m, g->n, g->k, (float)g->alpha, A + (size_t)b * g->stride_a, (int)g->lda,
                    B + (size_t)b * g->stride_b, (int)g->ldb, (float)g->beta, (float *)g->C + (size_t)b * g->stride_c,
                    (int)g->ldc);
    free(wa);
    free(wb);
}
