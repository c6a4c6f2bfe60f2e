// Compiles every shared math header as C++17 device code (make builds it with the CUDA objects), and
// instantiates each function in a kernel so that nvcc checks the device side too.
#include "kernels/math/math.h"

__global__ void duo_math_headers_check(float *f, double *d, uint16_t *h, int32_t *k, const duo_score_tile *t) {
    float c, s, dg, du, ca, cb;
    duo_rope_cos_sin_f(k[0], d[0], &c, &s);
    duo_rope_pair_f(&f[0], &f[1], c, s, 0);
    duo_swiglu_bwd_f(f[2], f[3], f[4], &dg, &du);
    duo_rms_bwd_coefs_f(d[1], d[2], 8, &ca, &cb);
    f[5] = duo_swiglu_f(f[5], f[6]) + duo_silu_f(dg) + duo_rms_apply_f(f[7], f[8], ca) +
           duo_rms_bwd_elem_f(f[9], f[10], f[11], ca, cb) + duo_blend_f(gate_clamp_f(f[12]), f[13], f[14]) +
           duo_sqdiff_grad_f(f[15], f[16], f[17]) + duo_dscore_f(f[18], f[19], f[20], f[21]);
    double cd, sd, dgd, dud, cad, cbd;
    duo_rope_cos_sin_d(k[1], d[3], &cd, &sd);
    duo_rope_pair_d(&d[4], &d[5], cd, sd, 1);
    duo_swiglu_bwd_d(d[6], d[7], d[8], &dgd, &dud);
    duo_rms_bwd_coefs_d(d[9], d[10], 8, &cad, &cbd);
    d[11] = duo_swiglu_d(d[11], d[12]) + duo_rms_inv_from_sumsq_d(d[13], 8, 1e-6) + duo_blend_d(gate_clamp(d[14]), d[15], d[16]) +
            duo_rms_bwd_elem_d(d[17], d[18], d[19], cad, cbd) + duo_sqdiff_grad_d(d[20], d[21], d[22]) + dud + dgd;
    d[23] = duo_rms_inv_row_d(d, 4, 1e-5) + duo_rms_inv_row_f(f, 4, 1e-5);
    int ae, bs, be;
    duo_tile_row_cols(t, 0, &ae, &bs, &be);
    f[22] = duo_softmax_row_f(f + 32, t->cols, ae, bs, be, (float)t->scale);
    d[24] = duo_softmax_row_d(d + 32, t->cols, ae, bs, be, t->scale);
    duo_probs_row_f(f + 64, t->cols, ae, bs, be, 0.5f, f[23]);
    duo_probs_row_d(d + 64, t->cols, ae, bs, be, 0.5, d[25]);
    k[2] = duo_argmax_row_f(f + 96, ae, bs, be, 0.5f) + duo_argmax_row_d(d + 96, ae, bs, be, 0.5) +
           (int)duo_tile_col_key_row(t, 1) + gate_passes_gradient(d[26]);
    h[0] = duo_f32_to_bf16(duo_bf16_to_f32(h[1]));
    h[2] = duo_f32_to_f16(duo_f16_to_f32(h[3]));
    h[4] = duo_f64_to_bf16(d[27]);
    duo_score_tile u = *t;
    duo_tile_set_span(&u, t->kpos, 0, 10);
    k[3] = u.cols;
}
