/* HF: inv_freq = 1 / base^(arange(0, dim, 2) / dim); linear divides by factor; llama3 per
 * _compute_llama3_parameters: wavelengths above low_freq_wavelen are divided by factor, those below
 * high_freq_wavelen kept, the band between smoothly interpolated. */
#include <math.h>

#include "model/rope_freq.h"

void rope_inv_freq(const duo_model_config *cfg, int head_dim, int as_f32, double *inv_freq) {
    int half = head_dim / 2;
#define RND(x) (as_f32 ? (double)(float)(x) : (x))
    for (int i = 0; i < half; i++) {
        double e = RND(RND((double)(2 * i)) / (double)head_dim);
        double p = as_f32 ? (double)powf((float)cfg->rope_theta, (float)e) : pow(cfg->rope_theta, e);
        double inv = RND(1.0 / p);
        if (cfg->rope_type == ROPE_LINEAR) {
            inv = RND(inv / cfg->rope_factor);
        } else if (cfg->rope_type == ROPE_LLAMA3) {
            double factor = cfg->rope_factor, lo = cfg->rope_low_freq_factor, hi = cfg->rope_high_freq_factor;
            double old = cfg->rope_original_max_position_embeddings;
            double low_wl = old / lo, high_wl = old / hi;
            double wl = RND(2 * M_PI / inv);
            double scaled = wl > low_wl ? RND(inv / factor) : inv;
            if (!(wl < high_wl) && !(wl > low_wl)) {
                double smooth = RND(RND(RND(old / wl) - lo) / (hi - lo));
                scaled = RND(RND(RND((1 - smooth) * scaled) / factor) + RND(smooth * scaled));
            }
            inv = scaled;
        }
        inv_freq[i] = inv;
    }
#undef RND
}
