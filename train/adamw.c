#include "train/adamw.h"

#include <math.h>
#include <stdlib.h>

int adamw_init(duo_adamw *opt, size_t n, duo_error *err) {
    opt->beta1 = 0.9;
    opt->beta2 = 0.999;
    opt->eps = 1e-8;
    opt->weight_decay = 0.0;
    opt->step = 0;
    opt->n = n;
    opt->exp_avg = calloc(n ? n : 1, sizeof(float));
    opt->exp_avg_sq = calloc(n ? n : 1, sizeof(float));
    if (!opt->exp_avg || !opt->exp_avg_sq) {
        adamw_free(opt);
        return duo_fail(err, "adamw: out of memory for %zu parameters", n);
    }
    return 0;
}

void adamw_free(duo_adamw *opt) {
    free(opt->exp_avg);
    free(opt->exp_avg_sq);
    opt->exp_avg = opt->exp_avg_sq = NULL;
}

/* torch's vectorised CPU lerp for a scalar weight: fused multiply-add, one of two forms by the weight. */
static float lerp_f(float self, float end, float w) {
    return w < 0.5f ? fmaf(w, end - self, self) : fmaf(w - 1.0f, end - self, end);
}

void adamw_step(duo_adamw *opt, float *params, const float *grad, double lr) {
    opt->step++;
    /* Python-float (double) scalars, as torch computes them; tensors stay fp32. */
    double bias_correction1 = 1.0 - pow(opt->beta1, (double)opt->step);
    double bias_correction2 = 1.0 - pow(opt->beta2, (double)opt->step);
    double step_size = lr / bias_correction1;
    double bias_correction2_sqrt = sqrt(bias_correction2);
    float decay = (float)(1.0 - lr * opt->weight_decay);
    float w1 = (float)(1.0 - opt->beta1);
    float b2 = (float)opt->beta2, w2 = (float)(1.0 - opt->beta2);
    float bc2s = (float)bias_correction2_sqrt, eps = (float)opt->eps, neg_step = (float)-step_size;
    for (size_t i = 0; i < opt->n; i++) {
        float g = grad[i];
        float p = params[i] * decay;
        float m = lerp_f(opt->exp_avg[i], g, w1);
        /* exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2): torch's vectorised addcmul is one fma. */
        float v = fmaf(w2 * g, g, opt->exp_avg_sq[i] * b2);
        float denom = sqrtf(v) / bc2s + eps;
        params[i] = p + neg_step * m / denom;
        opt->exp_avg[i] = m;
        opt->exp_avg_sq[i] = v;
    }
}
