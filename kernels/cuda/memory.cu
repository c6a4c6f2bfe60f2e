// The CUDA primitives' memory family: device allocations, copies between host and device in stream
// order, and memset.  Every copy goes on the backend's one stream, so a download sees every kernel
// queued before it.
#include "kernels/cuda/cuda_impl.h"

void *cuda_alloc(duo_backend *be, size_t bytes) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        cudaGetLastError(); // an out-of-memory failure is not sticky: clear it
        cudaMemGetInfo(&free_b, &total_b);
        BACKEND_FAIL(be, "alloc", "cudaMalloc of %zu bytes: %s (%zu of %zu bytes free on the device)", bytes,
                     cudaGetErrorString(e), free_b, total_b);
        return NULL;
    }
    return p;
}

void cuda_free(duo_backend *be, void *p) {
    if (p) CUDA_FAILED(be, "free", cudaFree(p));
}

// From pageable host memory cudaMemcpyAsync returns once the source has been read, so the caller may
// reuse host_src at once.
void cuda_upload(duo_backend *be, void *dst, const void *host_src, size_t bytes) {
    if (bytes) CUDA_FAILED(be, "upload", cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, cuda_stream(be)));
}

void cuda_download(duo_backend *be, void *host_dst, const void *src, size_t bytes) {
    if (!bytes) return;
    if (CUDA_FAILED(be, "download", cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, cuda_stream(be))))
        return;
    CUDA_FAILED(be, "download", cudaStreamSynchronize(cuda_stream(be)));
}

void cuda_sync(duo_backend *be) { CUDA_FAILED(be, "sync", cudaStreamSynchronize(cuda_stream(be))); }

void cuda_memset0(duo_backend *be, void *dst, size_t bytes) {
    if (bytes) CUDA_FAILED(be, "memset0", cudaMemsetAsync(dst, 0, bytes, cuda_stream(be)));
}
