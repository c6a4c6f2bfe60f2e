// The CUDA primitives' elementwise family: one thread per element (or per RoPE pair), grid-stride,
// around the shared per-element math of kernels/math/elem.h that the CPU's primitives call.
#include "kernels/cuda/cuda_impl.h"
extern "C" {
#include "kernels/math/math.h"
}

// One thread per rotated pair (row r, head h, i < hd/2).
__global__ void maps_rope_kernel(float *X, size_t m, int nheads, int hd, const int32_t *pos, const float *cos_t,
                                 const float *sin_t, int inverse) {
    int half = hd / 2;
    size_t per_row = (size_t)nheads * half, n = m * per_row;
    CUDA_GRID_STRIDE(i, n) {
        size_t r = i / per_row, q = i % per_row;
        int h = (int)(q / (size_t)half), k = (int)(q % (size_t)half);
        size_t t = (size_t)pos[r] * half + k;
        float *x = X + r * (size_t)nheads * hd + (size_t)h * hd;
        duo_rope_pair_f(&x[k], &x[k + half], cos_t[t], sin_t[t], inverse);
    }
}

__global__ void maps_add_bias_kernel(float *X, size_t m, int d, const void *bias, int w_bf16) {
    size_t n = m * (size_t)d;
    CUDA_GRID_STRIDE(i, n) X[i] += cuda_load_w(bias, w_bf16, i % (size_t)d);
}

__global__ void maps_swiglu_kernel(const float *G, const float *U, size_t n, float *A) {
    CUDA_GRID_STRIDE(i, n) A[i] = duo_swiglu_f(G[i], U[i]);
}

__global__ void maps_swiglu_bwd_kernel(const float *G, const float *U, const float *dA, size_t n, float *dG, float *dU) {
    CUDA_GRID_STRIDE(i, n) {
        float dg, du;
        duo_swiglu_bwd_f(G[i], U[i], dA[i], &dg, &du);
        dG[i] = dg;
        dU[i] = du;
    }
}

__global__ void maps_sqdiff_grad_kernel(const float *A, const float *B, size_t n, float coef, float *dB) {
    CUDA_GRID_STRIDE(i, n) dB[i] = duo_sqdiff_grad_f(coef, A[i], B[i]);
}

__global__ void maps_head_blend_kernel(const float *X, const float *Y, size_t m, int nheads, int hd, cuda_head_floats c,
                                       float *OUT) {
    size_t row = (size_t)nheads * hd, n = m * row;
    CUDA_GRID_STRIDE(i, n) OUT[i] = duo_blend_f(c.v[(i % row) / (size_t)hd], X[i], Y[i]);
}

__global__ void maps_head_scale_kernel(float *X, size_t m, int nheads, int hd, cuda_head_floats c) {
    size_t row = (size_t)nheads * hd, n = m * row;
    CUDA_GRID_STRIDE(i, n) X[i] *= c.v[(i % row) / (size_t)hd];
}

__global__ void maps_rmsnorm_bwd_apply_kernel(const float *X, size_t m, int d, const void *w, int w_bf16,
                                              const double *stats, const float *dY, float *dX, int accumulate) {
    size_t n = m * (size_t)d;
    CUDA_GRID_STRIDE(i, n) {
        size_t r = i / (size_t)d;
        float ca, cb;
        duo_rms_bwd_coefs_f(stats[2 * r], stats[2 * r + 1], d, &ca, &cb);
        float v = duo_rms_bwd_elem_f(X[i], cuda_load_w(w, w_bf16, i % (size_t)d), dY[i], ca, cb);
        dX[i] = accumulate ? dX[i] + v : v;
    }
}

static int heads_fit(duo_backend *be, const char *call, int nheads) {
    if (nheads <= DUO_CUDA_MAX_HEADS) return 1;
    BACKEND_FAIL(be, call, "%d heads: this build passes at most %d", nheads, DUO_CUDA_MAX_HEADS);
    return 0;
}

void cuda_rope(duo_backend *be, void *X, size_t m, int nheads, int hd, const int32_t *pos, const void *cos_t,
               const void *sin_t, int inverse) {
    size_t n = m * (size_t)nheads * (hd / 2);
    if (!n) return;
    maps_rope_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>(
        (float *)X, m, nheads, hd, pos, (const float *)cos_t, (const float *)sin_t, inverse);
    CUDA_LAUNCHED(be, "rope");
}

void cuda_add_bias_rows(duo_backend *be, void *X, size_t m, int d, const void *bias) {
    size_t n = m * (size_t)d;
    if (!n) return;
    maps_add_bias_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>((float *)X, m, d, bias,
                                                                                    be->weight_type == DUO_E_BF16);
    CUDA_LAUNCHED(be, "add_bias_rows");
}

void cuda_swiglu(duo_backend *be, const void *G, const void *U, size_t count, void *A) {
    if (!count) return;
    maps_swiglu_kernel<<<cuda_blocks(count), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>((const float *)G, (const float *)U,
                                                                                      count, (float *)A);
    CUDA_LAUNCHED(be, "swiglu");
}

void cuda_swiglu_bwd(duo_backend *be, const void *G, const void *U, const void *dA, size_t count, void *dG, void *dU) {
    if (!count) return;
    maps_swiglu_bwd_kernel<<<cuda_blocks(count), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>(
        (const float *)G, (const float *)U, (const float *)dA, count, (float *)dG, (float *)dU);
    CUDA_LAUNCHED(be, "swiglu_bwd");
}

void cuda_sqdiff_grad(duo_backend *be, const void *A, const void *B, size_t count, double coef, void *dB) {
    if (!count) return;
    maps_sqdiff_grad_kernel<<<cuda_blocks(count), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>(
        (const float *)A, (const float *)B, count, (float)coef, (float *)dB);
    CUDA_LAUNCHED(be, "sqdiff_grad");
}

void cuda_head_blend(duo_backend *be, const void *X, const void *Y, size_t m, int nheads, int hd, const double *c,
                     void *OUT) {
    if (!heads_fit(be, "head_blend", nheads)) return;
    cuda_head_floats cv = {};
    for (int h = 0; h < nheads; h++) cv.v[h] = (float)c[h]; // the act type's gate, as the CPU rounds it
    size_t n = m * (size_t)nheads * hd;
    if (!n) return;
    maps_head_blend_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>((const float *)X, (const float *)Y,
                                                                                      m, nheads, hd, cv, (float *)OUT);
    CUDA_LAUNCHED(be, "head_blend");
}

void cuda_head_scale(duo_backend *be, void *X, size_t m, int nheads, int hd, const double *c) {
    if (!heads_fit(be, "head_scale", nheads)) return;
    cuda_head_floats cv = {};
    for (int h = 0; h < nheads; h++) cv.v[h] = (float)c[h]; // the act type's gate, as the CPU rounds it
    size_t n = m * (size_t)nheads * hd;
    if (!n) return;
    maps_head_scale_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>((float *)X, m, nheads, hd, cv);
    CUDA_LAUNCHED(be, "head_scale");
}

void cuda_rmsnorm_bwd_apply(duo_backend *be, const void *X, size_t m, int d, const void *w, const double *stats,
                            const void *dY, void *dX, int accumulate) {
    size_t n = m * (size_t)d;
    if (!n) return;
    maps_rmsnorm_bwd_apply_kernel<<<cuda_blocks(n), DUO_CUDA_THREADS, 0, cuda_stream(be)>>>(
        (const float *)X, m, d, w, be->weight_type == DUO_E_BF16, stats, (const float *)dY, (float *)dX, accumulate);
    CUDA_LAUNCHED(be, "rmsnorm_bwd_apply");
}
