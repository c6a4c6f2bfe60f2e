// Random benchmark weights generated on the device (model/random_model.h random_model_create_device):
// cuRAND's Philox4x32-10, used counter-based (no state): element i of a tensor is word i % 4 of the
// block Philox(counter = i / 4, key = seed), so any range [first, first + count) is
// generated alone and equals the same range of the whole tensor.  An 8B model's 16 GB never exist on
// the host.
#include <curand_kernel.h>

#include "kernels/cuda/cuda_impl.h"
extern "C" {
#include "kernels/math/bf16.h"
}

__global__ void random_fill_kernel(uint64_t seed, float offset, float amp, size_t first, size_t count, void *dst,
                                   int dst_type) {
    uint2 key = make_uint2((unsigned)seed, (unsigned)(seed >> 32));
    CUDA_GRID_STRIDE(i, count) {
        size_t e = first + i, blk = e / 4;
        uint4 ctr = make_uint4((unsigned)blk, (unsigned)((uint64_t)blk >> 32), 0x64756f00u /* "duo" */, 0);
        uint4 r = curand_Philox4x32_10(ctr, key);
        unsigned w = (e & 3) == 0 ? r.x : (e & 3) == 1 ? r.y : (e & 3) == 2 ? r.z : r.w;
        float u = (float)(w >> 8) * (1.0f / 16777216.0f); // [0, 1), 24 bits
        float v = offset + amp * (2 * u - 1);
        if (dst_type == DUO_E_BF16) ((uint16_t *)dst)[i] = duo_f32_to_bf16(v);
        else if (dst_type == DUO_E_F64) ((double *)dst)[i] = v;
        else ((float *)dst)[i] = v;
    }
}

void cuda_fill_random(duo_backend *be, uint64_t seed, double offset, double amp, size_t first, size_t count,
                      void *dst, duo_elem dst_type) {
    if (!count) return;
    random_fill_kernel<<<cuda_blocks(count), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>(seed, (float)offset, (float)amp,
                                                                                      first, count, dst, (int)dst_type);
    CUDA_LAUNCHED(be, "load_tensor (random)");
}
