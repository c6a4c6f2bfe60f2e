// The one matrix product (kernels/prims.h duo_gemm) on cuBLAS: the descriptor already has column-major
// BLAS meaning, so it maps one to one onto cublasGemmStridedBatchedEx.  Compute types:
//   float32 operands  -> CUBLAS_COMPUTE_32F_PEDANTIC (no TF32, no reduced-precision shortcuts: the mode
//                        that must match the CPU's sgemm);
//   bf16 operands     -> CUBLAS_COMPUTE_32F, C float32 (bf16 products accumulated in float32);
//   float64           -> CUBLAS_COMPUTE_64F.
// A float32 operand paired with a bf16 one: the bf16 one is widened (exactly) into scratch and the
// product runs as float32, as the CPU runs it.
#include <limits.h>

#include "kernels/cuda/cuda_impl.h"

static cudaDataType cuda_type_of(duo_elem e) {
    return e == DUO_E_F64 ? CUDA_R_64F : e == DUO_E_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

// Elements an operand stored column-major as rows x cols (leading dimension ld) spans over the batch.
static size_t operand_span(int rows, int cols, long long ld, long long stride, int batch) {
    if (rows == 0 || cols == 0) return 0;
    size_t one = (size_t)ld * (size_t)(cols - 1) + (size_t)rows;
    return one + (size_t)(batch - 1) * (size_t)stride;
}

static int gemm_check(duo_backend *be, const duo_gemm *g) {
    int ok_f64 = g->a_type == DUO_E_F64 && g->b_type == DUO_E_F64 && g->c_type == DUO_E_F64;
    int ok_f32 = g->a_type != DUO_E_F64 && g->b_type != DUO_E_F64 && g->c_type == DUO_E_F32;
    if (!ok_f64 && !ok_f32) {
        BACKEND_FAIL(be, "gemm", "operand types A %s, B %s, C %s: want all float64, or float32/bf16 with C float32",
                     duo_elem_name(g->a_type), duo_elem_name(g->b_type), duo_elem_name(g->c_type));
        return -1;
    }
    int ra = g->trans_a ? g->k : g->m, rb = g->trans_b ? g->n : g->k;
    if (g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 1 || g->lda < (ra > 1 ? ra : 1) || g->ldb < (rb > 1 ? rb : 1) ||
        g->ldc < (g->m > 1 ? g->m : 1) || g->stride_a < 0 || g->stride_b < 0 || g->stride_c < 0 || g->lda > INT_MAX ||
        g->ldb > INT_MAX || g->ldc > INT_MAX) {
        BACKEND_FAIL(be, "gemm", "bad descriptor: m %d n %d k %d trans %d/%d lda %lld ldb %lld ldc %lld batch %d", g->m,
                     g->n, g->k, g->trans_a, g->trans_b, g->lda, g->ldb, g->ldc, g->batch);
        return -1;
    }
    return 0;
}

// Scratch of at least `bytes` (grown, never shrunk; freed with the backend).
static void *scratch_at_least(duo_backend *be, size_t bytes) {
    cuda_state *s = cuda_st(be);
    if (s->scratch_bytes >= bytes) return s->scratch;
    if (s->scratch) {
        if (CUDA_FAILED(be, "gemm", cudaStreamSynchronize(s->stream))) return NULL;
        cudaFree(s->scratch);
        s->scratch = NULL;
        s->scratch_bytes = 0;
    }
    s->scratch = cuda_alloc(be, bytes);
    if (s->scratch) s->scratch_bytes = bytes;
    return s->scratch;
}

void cuda_gemm(duo_backend *be, const duo_gemm *g) {
    if (gemm_check(be, g)) return;
    if (g->m == 0 || g->n == 0) return;
    cuda_state *s = cuda_st(be);
    duo_gemm w = *g;
    if (w.a_type != w.b_type && w.c_type == DUO_E_F32) {
        // mixed float32 / bf16: widen the bf16 operand over the span the product reads
        int a_is_bf16 = w.a_type == DUO_E_BF16;
        size_t span = a_is_bf16 ? operand_span(w.trans_a ? w.k : w.m, w.trans_a ? w.m : w.k, w.lda, w.stride_a, w.batch)
                                : operand_span(w.trans_b ? w.n : w.k, w.trans_b ? w.k : w.n, w.ldb, w.stride_b, w.batch);
        void *wide = scratch_at_least(be, span * sizeof(float) + 1);
        if (!wide) return;
        cuda_convert(be, a_is_bf16 ? w.A : w.B, DUO_E_BF16, wide, DUO_E_F32, span);
        if (a_is_bf16) w.A = wide, w.a_type = DUO_E_F32;
        else w.B = wide, w.b_type = DUO_E_F32;
    }
    cublasComputeType_t compute = w.c_type == DUO_E_F64 ? CUBLAS_COMPUTE_64F
                                  : w.a_type == DUO_E_BF16 ? CUBLAS_COMPUTE_32F
                                                           : CUBLAS_COMPUTE_32F_PEDANTIC;
    float alpha_f = (float)w.alpha, beta_f = (float)w.beta;
    const void *alpha = w.c_type == DUO_E_F64 ? (const void *)&w.alpha : (const void *)&alpha_f;
    const void *beta = w.c_type == DUO_E_F64 ? (const void *)&w.beta : (const void *)&beta_f;
    cublasStatus_t st = cublasGemmStridedBatchedEx(
        s->blas, w.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, w.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, w.m, w.n, w.k, alpha,
        w.A, cuda_type_of(w.a_type), (int)w.lda, w.stride_a, w.B, cuda_type_of(w.b_type), (int)w.ldb, w.stride_b, beta,
        w.C, cuda_type_of(w.c_type), (int)w.ldc, w.stride_c, w.batch, compute, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS)
        BACKEND_FAIL(be, "gemm", "cublasGemmStridedBatchedEx (m %d n %d k %d batch %d, A %s B %s C %s): %s", w.m, w.n,
                     w.k, w.batch, duo_elem_name(g->a_type), duo_elem_name(g->b_type), duo_elem_name(g->c_type),
                     cublasGetStatusString(st));
}
