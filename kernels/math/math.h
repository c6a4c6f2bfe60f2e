/* Every shared host/device math header (DESIGN §5): include this one from CUDA kernels. */
#ifndef DUO_KERNELS_MATH_MATH_H
#define DUO_KERNELS_MATH_MATH_H

#include "kernels/attn_mask.h"
#include "kernels/gate.h"
#include "kernels/math/attn_rows.h"
#include "kernels/math/bf16.h"
#include "kernels/math/elem.h"

#endif
