// The CUDA primitives' conversion family: element-type conversion on the device (convert), and
// load_tensor: a checkpoint tensor's raw bytes staged to the device as they are stored (f32, bf16, f16),
// then widened or narrowed there, so the host never converts a weight.  Narrowing to bf16 rounds to
// nearest even through the shared kernels/math/bf16.h the CPU uses.
#include <stdio.h>

#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_impl.h"
extern "C" {
#include "kernels/math/bf16.h"
#include "model/random_model.h"
}

// Source element kinds: the duo_elem ones plus the checkpoint's f16 storage.
enum { SRC_F32 = DUO_E_F32, SRC_F64 = DUO_E_F64, SRC_BF16 = DUO_E_BF16, SRC_F16 = 3 };

template <int SRC>
__device__ static inline double load_src_d(const void *src, size_t i) {
    if constexpr (SRC == SRC_F64) return ((const double *)src)[i];
    else if constexpr (SRC == SRC_F32) return ((const float *)src)[i];
    else if constexpr (SRC == SRC_BF16) return duo_bf16_to_f32(((const uint16_t *)src)[i]);
    else return duo_f16_to_f32(((const uint16_t *)src)[i]);
}

template <int SRC>
__device__ static inline float load_src_f(const void *src, size_t i) {
    if constexpr (SRC == SRC_F32) return ((const float *)src)[i];
    else if constexpr (SRC == SRC_BF16) return duo_bf16_to_f32(((const uint16_t *)src)[i]);
    else return duo_f16_to_f32(((const uint16_t *)src)[i]);
}

// dst[i] = src[i] in the destination type; every widening is exact, each narrowing one rounding.
template <int SRC, int DST>
__global__ void convert_kernel(const void *src, void *dst, size_t n) {
    CUDA_GRID_STRIDE(i, n) {
        if constexpr (SRC == SRC_F64) {
            double v = ((const double *)src)[i];
            if constexpr (DST == DUO_E_F64) ((double *)dst)[i] = v;
            else if constexpr (DST == DUO_E_F32) ((float *)dst)[i] = (float)v;
            else ((uint16_t *)dst)[i] = duo_f64_to_bf16(v);
        } else {
            if constexpr (DST == DUO_E_F64) ((double *)dst)[i] = load_src_d<SRC>(src, i);
            else if constexpr (DST == DUO_E_F32) ((float *)dst)[i] = load_src_f<SRC>(src, i);
            else if constexpr (SRC == SRC_BF16) ((uint16_t *)dst)[i] = ((const uint16_t *)src)[i];
            else ((uint16_t *)dst)[i] = duo_f32_to_bf16(load_src_f<SRC>(src, i));
        }
    }
}

template <int SRC>
static void launch_to(duo_backend *be, const void *src, void *dst, duo_elem dst_type, size_t n) {
    unsigned b = cuda_blocks(n);
    cudaStream_t s = cuda_stream(be);
    switch (dst_type) {
    case DUO_E_F32: convert_kernel<SRC, DUO_E_F32><<<b, DUO_CUDA_THREADS, 0, s>>>(src, dst, n); break;
    case DUO_E_F64: convert_kernel<SRC, DUO_E_F64><<<b, DUO_CUDA_THREADS, 0, s>>>(src, dst, n); break;
    case DUO_E_BF16: convert_kernel<SRC, DUO_E_BF16><<<b, DUO_CUDA_THREADS, 0, s>>>(src, dst, n); break;
    }
}

// src_kind: SRC_* (the f16 storage included).
static void convert_any(duo_backend *be, const void *src, int src_kind, void *dst, duo_elem dst_type, size_t n,
                        const char *call) {
    if (!n) return;
    switch (src_kind) {
    case SRC_F32: launch_to<SRC_F32>(be, src, dst, dst_type, n); break;
    case SRC_F64: launch_to<SRC_F64>(be, src, dst, dst_type, n); break;
    case SRC_BF16: launch_to<SRC_BF16>(be, src, dst, dst_type, n); break;
    default: launch_to<SRC_F16>(be, src, dst, dst_type, n); break;
    }
    CUDA_LAUNCHED(be, call);
}

void cuda_convert(duo_backend *be, const void *src, duo_elem src_type, void *dst, duo_elem dst_type, size_t count) {
    if (!count) return;
    if (src_type == dst_type) {
        CUDA_FAILED(be, "convert", cudaMemcpyAsync(dst, src, count * duo_elem_size(src_type), cudaMemcpyDeviceToDevice,
                                                   cuda_stream(be)));
        return;
    }
    convert_any(be, src, (int)src_type, dst, dst_type, count, "convert");
}

void cuda_load_tensor(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *dst, duo_elem dst_type) {
    if (!count) return;
    size_t numel = tensor_numel(t);
    if (first > numel || count > numel - first) {
        BACKEND_FAIL(be, "load_tensor", "tensor %s: elements [%zu, %zu) outside its %zu", t->name, first, first + count,
                     numel);
        return;
    }
    if (!t->data) {
        duo_random_spec rs;
        if (random_tensor_spec(t, &rs)) {
            cuda_fill_random(be, rs.seed, rs.offset, rs.amp, first, count, dst, dst_type);
            return;
        }
        BACKEND_FAIL(be, "load_tensor", "tensor %s (%s) has no data", t->name, t->file ? t->file : "?");
        return;
    }
    int src_kind = t->dtype == DUO_F32 ? SRC_F32 : t->dtype == DUO_BF16 ? SRC_BF16 : SRC_F16;
    size_t esz = dtype_size(t->dtype);
    const char *host = (const char *)t->data + first * esz;
    cudaStream_t s = cuda_stream(be);
    if ((src_kind == SRC_F32 && dst_type == DUO_E_F32) || (src_kind == SRC_BF16 && dst_type == DUO_E_BF16)) {
        // stored as wanted: straight from the map to the tensor
        CUDA_FAILED(be, "load_tensor", cudaMemcpyAsync(dst, host, count * esz, cudaMemcpyHostToDevice, s));
        return;
    }
    // raw bytes through the staging buffer, one chunk at a time; the stream orders a chunk's copy after
    // the previous chunk's conversion, so one buffer serves every chunk
    cuda_state *st = cuda_st(be);
    size_t per_chunk = DUO_CUDA_STAGE_BYTES / esz, out_esz = duo_elem_size(dst_type);
    for (size_t done = 0; done < count && !be->failed; done += per_chunk) {
        size_t k = count - done < per_chunk ? count - done : per_chunk;
        if (CUDA_FAILED(be, "load_tensor", cudaMemcpyAsync(st->stage, host + done * esz, k * esz,
                                                           cudaMemcpyHostToDevice, s)))
            return;
        convert_any(be, st->stage, src_kind, (char *)dst + done * out_esz, dst_type, k, "load_tensor");
    }
}

// The widening kernel of convert, on the default stream (tests/gpu/gpu_convert.c checks it bit for bit).
extern "C" int cuda_half_to_f32(const uint16_t *d_src, size_t n, int is_f16, float *d_dst, duo_error *err) {
    if (n == 0) return 0;
    if (is_f16) convert_kernel<SRC_F16, DUO_E_F32><<<cuda_blocks(n), DUO_CUDA_THREADS>>>(d_src, d_dst, n);
    else convert_kernel<SRC_BF16, DUO_E_F32><<<cuda_blocks(n), DUO_CUDA_THREADS>>>(d_src, d_dst, n);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return duo_fail(err, "cuda_half_to_f32: kernel launch: %s", cudaGetErrorString(e));
    return 0;
}

extern "C" int cuda_device_describe(char *buf, size_t cap, duo_error *err) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0)
        return duo_fail(err, "no CUDA device: %s", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    cudaDeviceProp p;
    e = cudaGetDeviceProperties(&p, 0);
    if (e != cudaSuccess) return duo_fail(err, "cudaGetDeviceProperties: %s", cudaGetErrorString(e));
    snprintf(buf, cap, "%s, sm_%d%d, %.1f GiB", p.name, p.major, p.minor, p.totalGlobalMem / 1073741824.0);
    return 0;
}
