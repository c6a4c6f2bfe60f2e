/* bf16 / f16 <-> float32 on bit patterns (uint16_t), host and device (DESIGN §5 shared math).
 * Widening is exact (equal to data/dtype.c's bf16_to_f32 / f16_to_f32: subnormals, infinities and NaN
 * payloads kept).  Narrowing rounds to nearest, ties to even; overflow gives infinity; a NaN stays a NaN
 * (its sign and top payload bits kept, the quiet bit set, so truncation never turns it into infinity).
 * Double narrows to bf16 in one rounding (round-to-odd to float first, exact for the second step). */
#ifndef DUO_KERNELS_MATH_BF16_H
#define DUO_KERNELS_MATH_BF16_H

#include <stdint.h>
#include <string.h>

#include "kernels/attn_mask.h" /* DUO_HOST_DEVICE */

DUO_HOST_DEVICE static inline uint32_t duo_f32_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

DUO_HOST_DEVICE static inline float duo_bits_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* bf16 is the top half of a float32. */
DUO_HOST_DEVICE static inline float duo_bf16_to_f32(uint16_t h) { return duo_bits_f32((uint32_t)h << 16); }

DUO_HOST_DEVICE static inline uint16_t duo_f32_to_bf16(float f) {
    uint32_t u = duo_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u); /* NaN: quiet, stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even on the dropped 16 bits; carries into exp */
    return (uint16_t)(u >> 16);
}

DUO_HOST_DEVICE static inline float duo_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f) return duo_bits_f32(sign | 0x7f800000u | (mant << 13)); /* inf, NaN (payload kept) */
    if (exp != 0) return duo_bits_f32(sign | ((exp + 112) << 23) | (mant << 13)); /* rebias 15 -> 127 */
    if (mant == 0) return duo_bits_f32(sign);
    int e = 113; /* subnormal mant * 2^-24: normalise the leading 1 into the implicit bit */
    while (!(mant & 0x400u)) {
        mant <<= 1;
        e--;
    }
    return duo_bits_f32(sign | ((uint32_t)e << 23) | ((mant & 0x3ffu) << 13));
}

DUO_HOST_DEVICE static inline uint16_t duo_f32_to_f16(float f) {
    uint32_t u = duo_f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN stays NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to infinity (or is inf) */
    if (a >= 0x38800000u) { /* normal f16 (>= 2^-14): rebias, round the 13 dropped bits to even */
        uint32_t v = a - (112u << 23);
        v += 0xfffu + ((v >> 13) & 1u);
        return (uint16_t)(sign | (v >> 13));
    }
    if (a < 0x33000000u) return sign; /* below half the smallest subnormal (2^-25): +-0 */
    /* subnormal f16: value = mant24 * 2^(e-150); result units are 2^-24, so shift by 126 - e */
    uint32_t e = a >> 23, mant = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14..24 */
    uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

/* Round-to-odd double -> float (truncate, then force the last bit on when inexact): the second
 * rounding to bf16 is then the correctly rounded one, since float keeps more than bf16's bits + 2. */
DUO_HOST_DEVICE static inline float duo_f64_to_f32_odd(double d) {
    float f = (float)d;
    if ((double)f == d || d != d) return f;
    uint32_t u = duo_f32_bits(f);
    double af = f < 0 ? -(double)f : (double)f, ad = d < 0 ? -d : d;
    if (af > ad) u -= 1u; /* rounded away from zero: step back toward zero (magnitude bits) */
    return duo_bits_f32(u | 1u);
}

DUO_HOST_DEVICE static inline uint16_t duo_f64_to_bf16(double d) { return duo_f32_to_bf16(duo_f64_to_f32_odd(d)); }

#endif
