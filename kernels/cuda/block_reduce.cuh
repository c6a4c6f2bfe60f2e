// Warp and block reductions of the CUDA row kernels (blockDim.x a multiple of 32, at most 1024).
// Every thread of the block must call a block reduction; every thread gets the result.
#ifndef DUO_KERNELS_CUDA_BLOCK_REDUCE_CUH
#define DUO_KERNELS_CUDA_BLOCK_REDUCE_CUH

template <typename T>
__device__ static inline T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename T>
__device__ static inline T warp_max(T v) {
    for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// kind 0: sum, 1: max (NaN-free inputs for max: fmax drops NaN)
template <typename T, int KIND>
__device__ static inline T block_reduce(T v) {
    __shared__ T part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    v = KIND ? warp_max(v) : warp_sum(v);
    __syncthreads(); // part[] may still be read by a previous reduction
    if (lane == 0) part[warp] = v;
    __syncthreads();
    T r = part[0];
    for (int w = 1; w < nwarps; w++) r = KIND ? fmax(r, part[w]) : r + part[w];
    return r;
}

template <typename T>
__device__ static inline T block_sum(T v) { return block_reduce<T, 0>(v); }
template <typename T>
__device__ static inline T block_max(T v) { return block_reduce<T, 1>(v); }

// (value, index) argmax: the larger value wins, the lower index among equal ones; idx < 0 is "none".
struct arg_best {
    float v;
    long long idx;
};
__device__ static inline arg_best arg_better(arg_best a, arg_best b) {
    if (a.idx < 0) return b;
    if (b.idx < 0) return a;
    if (b.v > a.v || (b.v == a.v && b.idx < a.idx)) return b;
    return a;
}
__device__ static inline arg_best block_argmax(arg_best x) {
    __shared__ float pv[32];
    __shared__ long long pi[32];
    for (int o = 16; o > 0; o >>= 1) {
        arg_best y;
        y.v = __shfl_xor_sync(0xffffffffu, x.v, o);
        y.idx = __shfl_xor_sync(0xffffffffu, x.idx, o);
        x = arg_better(x, y);
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    __syncthreads();
    if (lane == 0) pv[warp] = x.v, pi[warp] = x.idx;
    __syncthreads();
    arg_best r = {pv[0], pi[0]};
    for (int w = 1; w < nwarps; w++) r = arg_better(r, arg_best{pv[w], pi[w]});
    return r;
}

#endif
