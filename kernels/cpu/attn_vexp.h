/* The CPU attention's float exp: straight-line arithmetic and integer masks (no call, no branch), so gcc
 * vectorizes a loop of it under `#pragma omp simd` at -O2 (glibc's expf is a scalar call, and a float
 * compare inside the loop would stop the vectorizer: -ftrapping-math).  Every lane does the same float
 * operations in the same order whatever the vector width, so an SSE2 and an AVX2 build of a loop give
 * the same bits.
 *
 * exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 (two-part ln 2), exp(r) by the Cephes degree-7
 * polynomial.  Measured against exp() in double over [-100, 0]: at most 1.35 ulp; tests/test_attn_cpu.c
 * checks it.  x < -87 (and -inf) gives 0 (no subnormal results), x > 88 is taken as 88 (so +inf gives
 * 1.65e38, not inf), NaN gives NaN. */
#ifndef DUO_KERNELS_CPU_ATTN_VEXP_H
#define DUO_KERNELS_CPU_ATTN_VEXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float duo_vexpf(float x) {
    int32_t b, cb, tb, sb, yb;
    memcpy(&b, &x, sizeof b);
    int32_t a = b & 0x7fffffff, sign = b >> 31;
    int32_t lowm = sign & -(int32_t)(a > 0x42AE0000);   /* all ones where x < -87.0f (0xC2AE0000) */
    int32_t highm = ~sign & -(int32_t)(a > 0x42B00000); /* all ones where x > 88.0f */
    int32_t nanm = -(int32_t)(a > 0x7f800000);
    cb = (b & ~(lowm | highm)) | ((int32_t)0xC2AE0000 & lowm) | (0x42B00000 & highm);
    float xc, sc, y;
    memcpy(&xc, &cb, sizeof xc);
    float t = xc * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23: t's low mantissa bits hold n */
    float n = t - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    memcpy(&tb, &t, sizeof tb);
    sb = (tb - 0x4B400000 + 127) * (1 << 23); /* 2^n as a float's bits (n in [-126, 127]) */
    memcpy(&sc, &sb, sizeof sc);
    y = p * sc;
    memcpy(&yb, &y, sizeof yb);
    yb = (yb & ~lowm & ~nanm) | (b & nanm);
    memcpy(&y, &yb, sizeof y);
    return y;
}

/* The double instance (the finite-difference oracle) keeps libm's exp. */
static inline double duo_vexp(double x) { return exp(x); }

#define DUO_VEXP(x) _Generic((x), float: duo_vexpf, double: duo_vexp)(x)

/* 1 where this processor runs AVX2 code (the attention's row loops have an AVX2 copy). */
static inline int duo_cpu_has_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

#endif
