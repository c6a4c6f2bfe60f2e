// The CUDA primitives' attention score tiles (kernels/prims.h duo_score_tile): one block per (head,
// query row).  Thread 0 finds the row's visible columns with the shared kernels/math/attn_rows.h (the
// CPU's own key-span arithmetic, binary search on kpos); the block then runs the row's softmax, its
// recomputation from the log-sum-exp, the score gradient or the argmax, element by element through the
// shared formulas of kernels/math/elem.h.  The softmax's max and sum are block reductions (sum in
// double), so only the order of the row's sum differs from the CPU's sequential row.
#include <math.h>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_impl.h"
extern "C" {
#include "kernels/math/math.h"
}

#define TILE_THREADS 256

// The visible columns of row r of the tile, shared by the block: [0, ae) and [bs, be).
struct row_cols {
    int ae, bs, be;
};
__device__ static inline row_cols tile_row_cols_shared(const duo_score_tile &t, int r) {
    __shared__ row_cols rc;
    __syncthreads(); // rc of the previous row may still be read
    if (threadIdx.x == 0) duo_tile_row_cols(&t, r, &rc.ae, &rc.bs, &rc.be);
    __syncthreads();
    return rc;
}
__device__ static inline bool col_visible(const row_cols &rc, int c) { return c < rc.ae || (c >= rc.bs && c < rc.be); }

__global__ void __launch_bounds__(TILE_THREADS) tile_softmax_kernel(duo_score_tile t, float *S, float *lse,
                                                                    long long lse_row_stride,
                                                                    long long lse_head_stride) {
    size_t nrows = (size_t)t.heads * t.rows;
    float scale = (float)t.scale;
    for (size_t item = blockIdx.x; item < nrows; item += gridDim.x) {
        int h = (int)(item / (size_t)t.rows), r = (int)(item % (size_t)t.rows);
        float *s = S + ((size_t)h * t.rows + r) * (size_t)t.ld;
        row_cols rc = tile_row_cols_shared(t, r);
        float mx = -INFINITY;
        for (int c = threadIdx.x; c < t.cols; c += blockDim.x) {
            if (col_visible(rc, c)) {
                float v = s[c] * scale;
                s[c] = v;
                mx = fmaxf(mx, v);
            } else {
                s[c] = 0;
            }
        }
        mx = block_max(mx);
        float *l = lse + (long long)h * lse_head_stride + (long long)r * lse_row_stride;
        if (rc.ae == 0 && rc.be <= rc.bs) {
            if (threadIdx.x == 0) *l = -INFINITY;
            continue;
        }
        double sum = 0;
        for (int c = threadIdx.x; c < t.cols; c += blockDim.x)
            if (col_visible(rc, c)) {
                float e = expf(s[c] - mx);
                s[c] = e;
                sum += e;
            }
        float sumf = (float)block_sum(sum), inv = 1 / sumf;
        for (int c = threadIdx.x; c < t.cols; c += blockDim.x)
            if (col_visible(rc, c)) s[c] *= inv;
        if (threadIdx.x == 0) *l = mx + (float)log((double)sumf);
    }
}

__global__ void __launch_bounds__(TILE_THREADS) tile_probs_kernel(duo_score_tile t, float *S, const float *lse,
                                                                  long long lse_row_stride, long long lse_head_stride) {
    size_t nrows = (size_t)t.heads * t.rows;
    float scale = (float)t.scale;
    for (size_t item = blockIdx.x; item < nrows; item += gridDim.x) {
        int h = (int)(item / (size_t)t.rows), r = (int)(item % (size_t)t.rows);
        float *s = S + ((size_t)h * t.rows + r) * (size_t)t.ld;
        row_cols rc = tile_row_cols_shared(t, r);
        float l = lse[(long long)h * lse_head_stride + (long long)r * lse_row_stride];
        for (int c = threadIdx.x; c < t.cols; c += blockDim.x)
            s[c] = col_visible(rc, c) ? duo_prob_from_lse_f(s[c], scale, l) : 0.0f;
    }
}

// Elementwise over the whole tile, as the CPU's primitive (invisible columns hold P = 0, so stay 0).
__global__ void tile_dscores_kernel(duo_score_tile t, float *P, const float *dP, const float *D, long long d_row_stride,
                                    long long d_head_stride) {
    size_t cols = (size_t)t.cols, n = (size_t)t.heads * t.rows * cols;
    float scale = (float)t.scale;
    CUDA_GRID_STRIDE(i, n) {
        size_t item = i / cols, c = i % cols;
        int h = (int)(item / (size_t)t.rows), r = (int)(item % (size_t)t.rows);
        size_t off = item * (size_t)t.ld + c;
        P[off] = duo_dscore_f(P[off], dP[off], D[(long long)h * d_head_stride + (long long)r * d_row_stride], scale);
    }
}

// The CPU's scan (duo_argmax_row): the first visible column is taken even if it is NaN, and a NaN never
// beats it nor is beaten; later NaNs are skipped.
__global__ void __launch_bounds__(TILE_THREADS) tile_argmax_kernel(duo_score_tile t, const float *S, int32_t *amax,
                                                                   long long amax_row_stride,
                                                                   long long amax_head_stride) {
    size_t nrows = (size_t)t.heads * t.rows;
    float scale = (float)t.scale;
    for (size_t item = blockIdx.x; item < nrows; item += gridDim.x) {
        int h = (int)(item / (size_t)t.rows), r = (int)(item % (size_t)t.rows);
        const float *s = S + ((size_t)h * t.rows + r) * (size_t)t.ld;
        row_cols rc = tile_row_cols_shared(t, r);
        int first = rc.ae > 0 ? 0 : rc.be > rc.bs ? rc.bs : -1;
        arg_best b = {0, -1};
        for (int c = threadIdx.x; c < t.cols; c += blockDim.x) {
            float v = s[c] * scale;
            if (col_visible(rc, c) && !isnan(v)) b = arg_better(b, arg_best{v, c});
        }
        b = block_argmax(b);
        if (threadIdx.x == 0) {
            int best = first < 0 ? -1 : (isnan(s[first] * scale) || b.idx < 0) ? first : (int)b.idx;
            amax[(long long)h * amax_head_stride + (long long)r * amax_row_stride] =
                best < 0 ? -1 : (int32_t)duo_tile_col_key_row(&t, best);
        }
    }
}

static unsigned tile_blocks(const duo_score_tile *t) { return cuda_row_blocks((size_t)t->heads * t->rows); }
static int tile_empty(const duo_score_tile *t) { return t->heads <= 0 || t->rows <= 0; }

void cuda_tile_softmax(duo_backend *be, const duo_score_tile *t, void *S, void *lse, long long lse_row_stride,
                       long long lse_head_stride) {
    if (tile_empty(t)) return;
    tile_softmax_kernel<<<tile_blocks(t), TILE_THREADS, 0, cuda_stream(be)>>>(*t, (float *)S, (float *)lse,
                                                                              lse_row_stride, lse_head_stride);
    CUDA_LAUNCHED(be, "tile_softmax");
}

void cuda_tile_probs(duo_backend *be, const duo_score_tile *t, void *S, const void *lse, long long lse_row_stride,
                     long long lse_head_stride) {
    if (tile_empty(t)) return;
    tile_probs_kernel<<<tile_blocks(t), TILE_THREADS, 0, cuda_stream(be)>>>(*t, (float *)S, (const float *)lse,
                                                                            lse_row_stride, lse_head_stride);
    CUDA_LAUNCHED(be, "tile_probs");
}

void cuda_tile_dscores(duo_backend *be, const duo_score_tile *t, void *P, const void *dP, const void *D,
                       long long d_row_stride, long long d_head_stride) {
    if (tile_empty(t)) return;
    size_t n = (size_t)t->heads * t->rows * (size_t)(t->cols > 0 ? t->cols : 0);
    if (!n) return;
    tile_dscores_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>(*t, (float *)P, (const float *)dP,
                                                                                   (const float *)D, d_row_stride,
                                                                                   d_head_stride);
    CUDA_LAUNCHED(be, "tile_dscores");
}

void cuda_tile_argmax(duo_backend *be, const duo_score_tile *t, const void *S, int32_t *amax,
                      long long amax_row_stride, long long amax_head_stride) {
    if (tile_empty(t)) return;
    tile_argmax_kernel<<<tile_blocks(t), TILE_THREADS, 0, cuda_stream(be)>>>(*t, (const float *)S, amax,
                                                                             amax_row_stride, amax_head_stride);
    CUDA_LAUNCHED(be, "tile_argmax");
}
