// Internal to the CUDA backend (C++ / nvcc only): its state, the launch and error helpers every
// primitive family uses, and the primitives' declarations (one .cu file per family).
#ifndef DUO_KERNELS_CUDA_CUDA_IMPL_H
#define DUO_KERNELS_CUDA_CUDA_IMPL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "kernels/backend.h"
#include "kernels/prims.h"
}
#include "kernels/cuda/cuda_backend.h"

// DUO_CUDA_STAGE_BYTES, DUO_CUDA_BLAS_WORKSPACE_BYTES: kernels/cuda/cuda_backend.h (a memory plan counts them)
// Most heads a per-head host parameter (perm, gates) may have: passed to kernels by value.
#define DUO_CUDA_MAX_HEADS 256

typedef struct {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_ws;      // [DUO_CUDA_BLAS_WORKSPACE_BYTES]
    void *stage;        // [DUO_CUDA_STAGE_BYTES] raw checkpoint bytes on their way to a tensor
    void *scratch;      // grown on demand: a gemm's widened operand
    size_t scratch_bytes;
} cuda_state;

static inline cuda_state *cuda_st(duo_backend *be) { return (cuda_state *)be->impl; }
static inline cudaStream_t cuda_stream(duo_backend *be) { return cuda_st(be)->stream; }

// Records a failed CUDA runtime call in be->status; 1 if it failed.
static inline int cuda_failed_at(duo_backend *be, cudaError_t e, const char *call, const char *what,
                                 const char *file, int line) {
    if (e == cudaSuccess) return 0;
    backend_fail_at(be, call, file, line, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return 1;
}
#define CUDA_FAILED(be, call, expr) cuda_failed_at((be), (expr), (call), #expr, __FILE__, __LINE__)
// After a launch: the launch's own error (bad configuration), recorded under the primitive's name.
#define CUDA_LAUNCHED(be, call) cuda_failed_at((be), cudaGetLastError(), (call), "kernel launch", __FILE__, __LINE__)

// Threads per block of the elementwise kernels, and a grid for n work items: grid-stride loops cover
// the rest, so counts beyond 2^31 never overflow a grid dimension.
#define DUO_CUDA_THREADS 256
static inline unsigned cuda_blocks(size_t n, unsigned threads = DUO_CUDA_THREADS) {
    size_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > ((size_t)1 << 20)) b = (size_t)1 << 20;
    return (unsigned)b;
}
// Rows handled by one block each (row kernels): grid-stride over rows beyond the cap.
static inline unsigned cuda_row_blocks(size_t m) {
    if (m < 1) return 1;
    return m > ((size_t)1 << 20) ? (1u << 20) : (unsigned)m;
}

#define CUDA_GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

// Per-head host parameters, passed by value (kernel parameters are copied at launch, so the caller's
// host array may change as soon as the call returns).
typedef struct {
    int v[DUO_CUDA_MAX_HEADS];
} cuda_head_ints;
typedef struct {
    float v[DUO_CUDA_MAX_HEADS];
} cuda_head_floats;

// Reading a weight element (float32 or bf16 storage) as float; bf16 widening is exact.
__device__ static inline float cuda_load_w(const void *w, int w_bf16, size_t i) {
    if (w_bf16) return __uint_as_float((unsigned)((const uint16_t *)w)[i] << 16);
    return ((const float *)w)[i];
}

// ---- the primitives (kernels/prims.h), one family per file ---------------------------------------
// memory.cu
void *cuda_alloc(duo_backend *be, size_t bytes);
void cuda_free(duo_backend *be, void *p);
void cuda_upload(duo_backend *be, void *dst, const void *host_src, size_t bytes);
void cuda_download(duo_backend *be, void *host_dst, const void *src, size_t bytes);
void cuda_sync(duo_backend *be);
void cuda_memset0(duo_backend *be, void *dst, size_t bytes);
// convert.cu
void cuda_convert(duo_backend *be, const void *src, duo_elem src_type, void *dst, duo_elem dst_type, size_t count);
void cuda_load_tensor(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *dst, duo_elem dst_type);
// random.cu: elements [first, first+count) of a device-generated random tensor (model/random_model.h)
void cuda_fill_random(duo_backend *be, uint64_t seed, double offset, double amp, size_t first, size_t count,
                      void *dst, duo_elem dst_type);
// gemm.cu
void cuda_gemm(duo_backend *be, const duo_gemm *g);
// rows.cu
void cuda_gather_rows(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y);
void cuda_scatter_add_rows(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y);
void cuda_copy_rows(duo_backend *be, void *dst, size_t dst_stride, const void *src, size_t src_stride, size_t m,
                    int width);
void cuda_permute_heads(duo_backend *be, const void *X, size_t m, int nheads, int hd, const int *perm, void *Y);
// maps.cu
void cuda_rope(duo_backend *be, void *X, size_t m, int nheads, int hd, const int32_t *pos, const void *cos_t,
               const void *sin_t, int inverse);
void cuda_add_bias_rows(duo_backend *be, void *X, size_t m, int d, const void *bias);
void cuda_swiglu(duo_backend *be, const void *G, const void *U, size_t count, void *A);
void cuda_swiglu_bwd(duo_backend *be, const void *G, const void *U, const void *dA, size_t count, void *dG, void *dU);
void cuda_sqdiff_grad(duo_backend *be, const void *A, const void *B, size_t count, double coef, void *dB);
void cuda_head_blend(duo_backend *be, const void *X, const void *Y, size_t m, int nheads, int hd, const double *c,
                     void *OUT);
void cuda_head_scale(duo_backend *be, void *X, size_t m, int nheads, int hd, const double *c);
void cuda_rmsnorm_bwd_apply(duo_backend *be, const void *X, size_t m, int d, const void *w, const double *stats,
                            const void *dY, void *dX, int accumulate);
// reductions.cu
void cuda_rmsnorm(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps, void *Y);
void cuda_rmsnorm_bwd_stats(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps,
                            const void *dY, double *stats);
void cuda_argmax_rows(duo_backend *be, const void *X, size_t m, int ncols, int32_t *out);
void cuda_sqdiff_rows(duo_backend *be, const void *A, const void *B, size_t m, int d, double *out);
void cuda_head_dot_diff_rows(duo_backend *be, const void *X, const void *Y, const void *Z, size_t m, int nheads,
                             int ngroups, int hd, double *out);
void cuda_head_dot_rows(duo_backend *be, const void *A, size_t a_stride, const void *B, size_t b_stride, size_t m,
                        int nheads, int hd, void *out, size_t out_stride);
// tiles.cu
void cuda_tile_softmax(duo_backend *be, const duo_score_tile *t, void *S, void *lse, long long lse_row_stride,
                       long long lse_head_stride);
void cuda_tile_probs(duo_backend *be, const duo_score_tile *t, void *S, const void *lse, long long lse_row_stride,
                     long long lse_head_stride);
void cuda_tile_dscores(duo_backend *be, const duo_score_tile *t, void *P, const void *dP, const void *D,
                       long long d_row_stride, long long d_head_stride);
void cuda_tile_argmax(duo_backend *be, const duo_score_tile *t, const void *S, int32_t *amax,
                      long long amax_row_stride, long long amax_head_stride);

// The table of all of the above (prims_table.cu) and the start-up self-test (selftest.cu: 0, or -1 with
// err naming the primitive and its error).
extern const duo_prims cuda_prims;
int cuda_selftest(duo_backend *be, duo_error *err);

#endif
