// The CUDA primitives' row-reduction family: one block per row (RMSNorm, argmax, squared differences)
// or one warp per (row, head) item (head dots), sums in double as the CPU sums, around the shared
// per-row formulas of kernels/math/elem.h.
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_impl.h"
extern "C" {
#include "kernels/math/math.h"
}

#define ROW_THREADS 256

__global__ void __launch_bounds__(ROW_THREADS) red_rmsnorm_kernel(const float *X, size_t m, int d, const void *w,
                                                                  int w_bf16, double eps, float *Y) {
    for (size_t r = blockIdx.x; r < m; r += gridDim.x) {
        const float *x = X + r * (size_t)d;
        double ss = 0;
        for (int i = threadIdx.x; i < d; i += blockDim.x) ss += (double)x[i] * x[i];
        ss = block_sum(ss);
        float inv = (float)duo_rms_inv_from_sumsq_f(ss, d, eps);
        // Y may be X: each thread rewrites only the elements it read, after the whole block has read
        float *y = Y + r * (size_t)d;
        for (int i = threadIdx.x; i < d; i += blockDim.x) y[i] = duo_rms_apply_f(x[i], cuda_load_w(w, w_bf16, i), inv);
    }
}

__global__ void __launch_bounds__(ROW_THREADS) red_rmsnorm_bwd_stats_kernel(const float *X, size_t m, int d,
                                                                            const void *w, int w_bf16, double eps,
                                                                            const float *dY, double *stats) {
    for (size_t r = blockIdx.x; r < m; r += gridDim.x) {
        const float *x = X + r * (size_t)d, *dy = dY + r * (size_t)d;
        double ss = 0, dot = 0;
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            ss += (double)x[i] * x[i];
            dot += (double)cuda_load_w(w, w_bf16, i) * dy[i] * x[i];
        }
        ss = block_sum(ss);
        dot = block_sum(dot);
        if (threadIdx.x == 0) {
            stats[2 * r] = duo_rms_inv_from_sumsq_f(ss, d, eps);
            stats[2 * r + 1] = dot;
        }
    }
}

// The first column of the row's largest element, as the CPU's sequential scan finds it: a NaN in
// column 0 is never beaten (0); any later NaN never wins and never blocks a later larger element.
__global__ void __launch_bounds__(ROW_THREADS) red_argmax_rows_kernel(const float *X, size_t m, int ncols,
                                                                      int32_t *out) {
    for (size_t r = blockIdx.x; r < m; r += gridDim.x) {
        const float *x = X + r * (size_t)ncols;
        arg_best b = {0, -1};
        for (int c = threadIdx.x; c < ncols; c += blockDim.x)
            if (!isnan(x[c])) b = arg_better(b, arg_best{x[c], c});
        b = block_argmax(b);
        if (threadIdx.x == 0) out[r] = (ncols <= 0 || isnan(x[0]) || b.idx < 0) ? 0 : (int32_t)b.idx;
    }
}

__global__ void __launch_bounds__(ROW_THREADS) red_sqdiff_rows_kernel(const float *A, const float *B, size_t m, int d,
                                                                      double *out) {
    for (size_t r = blockIdx.x; r < m; r += gridDim.x) {
        const float *a = A + r * (size_t)d, *b = B + r * (size_t)d;
        double s = 0;
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            double t = (double)a[i] - (double)b[i];
            s += t * t;
        }
        s = block_sum(s);
        if (threadIdx.x == 0) out[r] = s;
    }
}

// One warp per item (row r, KV group g): sum over the group's heads and e < hd of X * (Y - Z).
__global__ void red_head_dot_diff_kernel(const float *X, const float *Y, const float *Z, size_t m, int nheads,
                                         int ngroups, int hd, double *out) {
    int lane = threadIdx.x & 31;
    size_t warp = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5, nwarps = ((size_t)gridDim.x * blockDim.x) >> 5;
    int group = nheads / ngroups;
    size_t row = (size_t)nheads * hd, span = (size_t)group * hd;
    for (size_t it = warp; it < m * (size_t)ngroups; it += nwarps) {
        size_t r = it / (size_t)ngroups, g = it % (size_t)ngroups;
        size_t base = r * row + g * span;
        double s = 0;
        for (size_t e = lane; e < span; e += 32) s += (double)X[base + e] * (double)(Y[base + e] - Z[base + e]); // the difference in float, as the CPU
                                                                            // takes it
        s = warp_sum(s);
        if (lane == 0) out[it] = s;
    }
}

// One warp per item (row r, head h): out = sum_e A * B, accumulated in double.
__global__ void red_head_dot_kernel(const float *A, size_t a_stride, const float *B, size_t b_stride, size_t m,
                                    int nheads, int hd, float *out, size_t out_stride) {
    int lane = threadIdx.x & 31;
    size_t warp = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5, nwarps = ((size_t)gridDim.x * blockDim.x) >> 5;
    for (size_t it = warp; it < m * (size_t)nheads; it += nwarps) {
        size_t r = it / (size_t)nheads, h = it % (size_t)nheads;
        const float *a = A + r * a_stride + h * hd, *b = B + r * b_stride + h * hd;
        double s = 0;
        for (int e = lane; e < hd; e += 32) s += (double)a[e] * b[e];
        s = warp_sum(s);
        if (lane == 0) out[r * out_stride + h] = (float)s;
    }
}

void cuda_rmsnorm(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps, void *Y) {
    if (!m || d <= 0) return;
    red_rmsnorm_kernel<<<cuda_row_blocks(m), ROW_THREADS, 0, cuda_stream(be)>>>(
        (const float *)X, m, d, w, be->weight_type == DUO_E_BF16, eps, (float *)Y);
    CUDA_LAUNCHED(be, "rmsnorm");
}

void cuda_rmsnorm_bwd_stats(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps,
                            const void *dY, double *stats) {
    if (!m || d <= 0) return;
    red_rmsnorm_bwd_stats_kernel<<<cuda_row_blocks(m), ROW_THREADS, 0, cuda_stream(be)>>>(
        (const float *)X, m, d, w, be->weight_type == DUO_E_BF16, eps, (const float *)dY, stats);
    CUDA_LAUNCHED(be, "rmsnorm_bwd_stats");
}

void cuda_argmax_rows(duo_backend *be, const void *X, size_t m, int ncols, int32_t *out) {
    if (!m) return;
    red_argmax_rows_kernel<<<cuda_row_blocks(m), ROW_THREADS, 0, cuda_stream(be)>>>((const float *)X, m, ncols, out);
    CUDA_LAUNCHED(be, "argmax_rows");
}

void cuda_sqdiff_rows(duo_backend *be, const void *A, const void *B, size_t m, int d, double *out) {
    if (!m) return;
    red_sqdiff_rows_kernel<<<cuda_row_blocks(m), ROW_THREADS, 0, cuda_stream(be)>>>((const float *)A, (const float *)B,
                                                                                    m, d, out);
    CUDA_LAUNCHED(be, "sqdiff_rows");
}

void cuda_head_dot_diff_rows(duo_backend *be, const void *X, const void *Y, const void *Z, size_t m, int nheads,
                             int ngroups, int hd, double *out) {
    if (ngroups <= 0 || nheads % ngroups) {
        BACKEND_FAIL(be, "head_dot_diff_rows", "%d heads in %d groups", nheads, ngroups);
        return;
    }
    size_t items = m * (size_t)ngroups;
    if (!items) return;
    red_head_dot_diff_kernel<<<cuda_blocks(items * 32), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>(
        (const float *)X, (const float *)Y, (const float *)Z, m, nheads, ngroups, hd, out);
    CUDA_LAUNCHED(be, "head_dot_diff_rows");
}

void cuda_head_dot_rows(duo_backend *be, const void *A, size_t a_stride, const void *B, size_t b_stride, size_t m,
                        int nheads, int hd, void *out, size_t out_stride) {
    size_t items = m * (size_t)nheads;
    if (!items) return;
    red_head_dot_kernel<<<cuda_blocks(items * 32), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>(
        (const float *)A, a_stride, (const float *)B, b_stride, m, nheads, hd, (float *)out, out_stride);
    CUDA_LAUNCHED(be, "head_dot_rows");
}
