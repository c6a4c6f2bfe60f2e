// The CUDA primitives' row family: gather, scatter-add, strided copy and head permutation of float32
// activation rows.  Pure index computations: one thread per element, grid-stride, size_t indices.
#include "kernels/cuda/cuda_impl.h"

__global__ void rows_gather_kernel(const float *X, const int32_t *rows, size_t m, int d, float *Y) {
    size_t n = m * (size_t)d;
    CUDA_GRID_STRIDE(i, n) {
        size_t r = i / (size_t)d, k = i % (size_t)d;
        Y[i] = X[(size_t)rows[r] * d + k];
    }
}

// Rows are distinct (kernels/ops.h), so no two threads add into one element: no atomics needed.
__global__ void rows_scatter_add_kernel(const float *X, const int32_t *rows, size_t m, int d, float *Y) {
    size_t n = m * (size_t)d;
    CUDA_GRID_STRIDE(i, n) {
        size_t r = i / (size_t)d, k = i % (size_t)d;
        Y[(size_t)rows[r] * d + k] += X[i];
    }
}

__global__ void rows_copy_kernel(float *dst, size_t dst_stride, const float *src, size_t src_stride, size_t m,
                                 int width) {
    size_t n = m * (size_t)width;
    CUDA_GRID_STRIDE(i, n) {
        size_t r = i / (size_t)width, k = i % (size_t)width;
        dst[r * dst_stride + k] = src[r * src_stride + k];
    }
}

__global__ void rows_permute_heads_kernel(const float *X, size_t m, int nheads, int hd, cuda_head_ints perm, float *Y) {
    size_t row = (size_t)nheads * hd, n = m * row;
    CUDA_GRID_STRIDE(i, n) {
        size_t r = i / row, c = i % row;
        int j = (int)(c / (size_t)hd), e = (int)(c % (size_t)hd);
        Y[i] = X[r * row + (size_t)perm.v[j] * hd + e];
    }
}

void cuda_gather_rows(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y) {
    size_t n = m * (size_t)d;
    if (!n) return;
    rows_gather_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>((const float *)X, rows, m, d, (float *)Y);
    CUDA_LAUNCHED(be, "gather_rows");
}

void cuda_scatter_add_rows(duo_backend *be, const void *X, const int32_t *rows, size_t m, int d, void *Y) {
    size_t n = m * (size_t)d;
    if (!n) return;
    rows_scatter_add_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>((const float *)X, rows, m, d,
                                                                                       (float *)Y);
    CUDA_LAUNCHED(be, "scatter_add_rows");
}

void cuda_copy_rows(duo_backend *be, void *dst, size_t dst_stride, const void *src, size_t src_stride, size_t m,
                    int width) {
    if (!m || width <= 0) return;
    if (dst_stride == (size_t)width && src_stride == (size_t)width) { // contiguous: one plain copy
        CUDA_FAILED(be, "copy_rows", cudaMemcpyAsync(dst, src, m * (size_t)width * sizeof(float),
                                                     cudaMemcpyDeviceToDevice, cuda_stream(be)));
        return;
    }
    // one 2-D copy where the driver can do it (it is a strided memcpy); the kernel is the fallback for
    // pitches cudaMemcpy2D refuses
    cudaError_t e = cudaMemcpy2DAsync(dst, dst_stride * sizeof(float), src, src_stride * sizeof(float),
                                      (size_t)width * sizeof(float), m, cudaMemcpyDeviceToDevice, cuda_stream(be));
    if (e == cudaSuccess) return;
    cudaGetLastError();
    size_t n = m * (size_t)width;
    rows_copy_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>((float *)dst, dst_stride,
                                                                                (const float *)src, src_stride, m, width);
    CUDA_LAUNCHED(be, "copy_rows");
}

void cuda_permute_heads(duo_backend *be, const void *X, size_t m, int nheads, int hd, const int *perm, void *Y) {
    if (nheads > DUO_CUDA_MAX_HEADS) {
        BACKEND_FAIL(be, "permute_heads", "%d heads: this build passes at most %d", nheads, DUO_CUDA_MAX_HEADS);
        return;
    }
    cuda_head_ints p = {};
    for (int j = 0; j < nheads; j++) {
        if (perm[j] < 0 || perm[j] >= nheads) {
            BACKEND_FAIL(be, "permute_heads", "perm[%d] = %d is not a head of %d", j, perm[j], nheads);
            return;
        }
        p.v[j] = perm[j];
    }
    size_t n = m * (size_t)nheads * hd;
    if (!n) return;
    rows_permute_heads_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>((const float *)X, m, nheads, hd,
                                                                                         p, (float *)Y);
    CUDA_LAUNCHED(be, "permute_heads");
}
