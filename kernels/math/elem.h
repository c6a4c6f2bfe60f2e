/* The shared per-element / per-row math (kernels/math/elem_impl.h) for float (suffix _f) and double
 * (_d): C11 with gcc, C++17 with nvcc (host and device). */
#ifndef DUO_KERNELS_MATH_ELEM_H
#define DUO_KERNELS_MATH_ELEM_H

#include <math.h>

#include "kernels/attn_mask.h" /* DUO_HOST_DEVICE */

#define DUO_T float
#define DUO_FN(name) name##_f
#define DUO_EXP expf
#include "kernels/math/elem_impl.h"
#undef DUO_T
#undef DUO_FN
#undef DUO_EXP

#define DUO_T double
#define DUO_FN(name) name##_d
#define DUO_EXP exp
#include "kernels/math/elem_impl.h"
#undef DUO_T
#undef DUO_FN
#undef DUO_EXP

#endif
