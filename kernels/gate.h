/* The gate clamp (DESIGN §1): a = clamp(alpha, 0, 1), the one definition used by the step's blend, the
 * optimiser's projection, pattern binarisation and every printed table.  NaN stays NaN. */
#ifndef DUO_KERNELS_GATE_H
#define DUO_KERNELS_GATE_H

#include "kernels/attn_mask.h" /* DUO_HOST_DEVICE */

DUO_HOST_DEVICE static inline double gate_clamp(double a) { return a < 0 ? 0 : a > 1 ? 1 : a; }
DUO_HOST_DEVICE static inline float gate_clamp_f(float a) { return a < 0.0f ? 0.0f : a > 1.0f ? 1.0f : a; }

/* The clamp's gradient passes where the raw gate is inside [0,1] (and nowhere else). */
DUO_HOST_DEVICE static inline int gate_passes_gradient(double raw) { return raw >= 0 && raw <= 1; }

#endif
