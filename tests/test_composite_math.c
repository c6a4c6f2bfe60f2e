/* The shared host/device math (kernels/math/) against independent oracles:
 *   - bf16 / f16 widening equals data/dtype.c's on every one of the 65536 bit patterns;
 *   - narrowing float32 -> bf16 / f16 is round-to-nearest-even, checked against a reference built
 *     from the ordered list of every representable value (nearest in double, ties to the even
 *     pattern), on every float32 around each representable value and its midpoints plus 300K random
 *     floats; overflow gives infinity, NaN stays NaN;
 *   - double -> bf16 is one correct rounding (not float's double rounding), on values built to sit
 *     between a bf16 midpoint and the float rounding that would move them onto it;
 *   - the score-tile key spans agree with attn_mask_visible for every row of dense and gapped keys. */
#include <stdint.h>

#include "data/safetensors.h"
#include "kernels/math/math.h"
#include "tests/harness.h"

static float bits_f(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t f_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

TEST(widening_equals_dtype_c) {
    for (uint32_t h = 0; h < 65536; h++) {
        float a = duo_bf16_to_f32((uint16_t)h), b = bf16_to_f32((uint16_t)h);
        CHECK_MSG(f_bits(a) == f_bits(b), "bf16 %04x", h);
        a = duo_f16_to_f32((uint16_t)h);
        b = f16_to_f32((uint16_t)h);
        CHECK_MSG(f_bits(a) == f_bits(b), "f16 %04x", h);
    }
}

/* The reference narrowing: the finite non-negative patterns of a 16-bit format in value order
 * (patterns 0 .. max_finite), nearest by |x - v| in double, ties to the even pattern, beyond the
 * largest finite value by more than half its last step: infinity. */
typedef float (*widen_fn)(uint16_t);
static uint16_t ref_narrow(float x, widen_fn widen, uint16_t max_finite, uint16_t inf) {
    uint16_t sign = (f_bits(x) >> 16) & 0x8000;
    double a = fabs((double)x);
    double top = widen(max_finite), step = top - widen((uint16_t)(max_finite - 1));
    if (a >= top + step / 2) {
        /* exactly the midpoint: ties to even -> max_finite is odd (all mantissa bits set): infinity */
        return (uint16_t)(sign | inf);
    }
    /* bisection on the ordered patterns */
    uint32_t lo = 0, hi = max_finite;
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if ((double)widen((uint16_t)mid) <= a) lo = mid;
        else hi = mid;
    }
    double dl = a - widen((uint16_t)lo), dh = widen((uint16_t)hi) - a;
    uint32_t pick = dl < dh ? lo : dh < dl ? hi : (lo % 2 == 0 ? lo : hi);
    if (a >= widen((uint16_t)hi)) pick = hi;
    return (uint16_t)(sign | pick);
}

static void check_narrowing(test_ctx *t, int f16) {
    widen_fn widen = f16 ? duo_f16_to_f32 : duo_bf16_to_f32;
    uint16_t max_finite = f16 ? 0x7bff : 0x7f7f, inf = f16 ? 0x7c00 : 0x7f80;
    /* around every representable value and midpoint: the value, its midpoints and float neighbours */
    for (uint32_t p = 0; p <= max_finite; p++) {
        double v = widen((uint16_t)p), next = p < max_finite ? widen((uint16_t)(p + 1)) : v * 2;
        double cand[3] = {v, (v + next) / 2, v + (next - v) / 3};
        for (int k = 0; k < 3; k++) {
            float x = (float)cand[k];
            for (int s = -1; s <= 1; s++) {
                uint32_t u = f_bits(x) + (uint32_t)s;
                float y = bits_f(u);
                if (isnan(y) || isinf(y)) continue;
                for (int neg = 0; neg < 2; neg++) {
                    float z = neg ? -y : y;
                    uint16_t got = f16 ? duo_f32_to_f16(z) : duo_f32_to_bf16(z);
                    uint16_t want = ref_narrow(z, widen, max_finite, inf);
                    CHECK_MSG(got == want, "%s(%a) = %04x, expected %04x", f16 ? "f16" : "bf16", (double)z, got, want);
                }
            }
        }
    }
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < 300000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        float z = bits_f((uint32_t)s);
        if (isnan(z) || isinf(z)) continue;
        uint16_t got = f16 ? duo_f32_to_f16(z) : duo_f32_to_bf16(z);
        uint16_t want = ref_narrow(z, widen, max_finite, inf);
        CHECK_MSG(got == want, "%s(%a) = %04x, expected %04x", f16 ? "f16" : "bf16", (double)z, got, want);
    }
    /* infinities and NaN */
    CHECK_EQ_INT(f16 ? duo_f32_to_f16(INFINITY) : duo_f32_to_bf16(INFINITY), inf);
    CHECK_EQ_INT(f16 ? duo_f32_to_f16(-INFINITY) : duo_f32_to_bf16(-INFINITY), 0x8000 | inf);
    uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu, 0x7f80ffffu};
    for (int i = 0; i < 5; i++) {
        float n = bits_f(nans[i]);
        float back = f16 ? duo_f16_to_f32(duo_f32_to_f16(n)) : duo_bf16_to_f32(duo_f32_to_bf16(n));
        CHECK_MSG(isnan(back), "NaN %08x narrowed to a number", nans[i]);
        CHECK_MSG(signbit(back) == signbit(n), "NaN %08x lost its sign", nans[i]);
    }
}

TEST(f32_to_bf16_is_round_to_nearest_even) { check_narrowing(t, 0); }
TEST(f32_to_f16_is_round_to_nearest_even) { check_narrowing(t, 1); }

TEST(f64_to_bf16_rounds_once) {
    /* 1 + 2^-8 is the bf16 midpoint between 1 and 1 + 2^-7; 1 + 2^-8 + 2^-40 is above it (rounds up), but
     * float rounds it onto the midpoint first, whence ties-to-even would give 1. */
    double above = 1 + 0x1p-8 + 0x1p-40, below = 1 + 0x1p-8 - 0x1p-40;
    CHECK_EQ_INT(duo_f64_to_bf16(above), 0x3f81);
    CHECK_EQ_INT(duo_f64_to_bf16(below), 0x3f80);
    CHECK_EQ_INT(duo_f32_to_bf16((float)above), 0x3f80); /* the double rounding this avoids */
    CHECK_EQ_INT(duo_f64_to_bf16(-above), 0xbf81);
    CHECK_EQ_INT(duo_f64_to_bf16(1e300), 0x7f80);
    CHECK_EQ_INT(duo_f64_to_bf16(1e-300), 0x0000);
    CHECK(isnan(duo_bf16_to_f32(duo_f64_to_bf16(NAN))));
    uint64_t s = 1234567;
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double x = ldexp((double)(s >> 11) / 9007199254740992.0 + 0.5, (int)((s >> 3) % 200) - 100);
        /* the reference: compare with the two bf16 neighbours in double */
        uint16_t lo = duo_f32_to_bf16((float)x);
        double v = duo_bf16_to_f32(lo);
        uint16_t a = v <= x ? lo : (uint16_t)(lo - 1), b = (uint16_t)(a + 1);
        double da = x - duo_bf16_to_f32(a), db = duo_bf16_to_f32(b) - x;
        uint16_t want = da < db ? a : db < da ? b : (a % 2 == 0 ? a : b);
        CHECK_MSG(duo_f64_to_bf16(x) == want, "%a: %04x, expected %04x", x, duo_f64_to_bf16(x), want);
    }
}

/* Every row of a span: the columns duo_row_cols gives are exactly the keys attn_mask_visible allows. */
TEST(tile_spans_match_the_mask) {
    duo_attn_mask masks[] = {{ATTN_FULL, 0, 0}, {ATTN_STREAM_SDPA, 3, 17}, {ATTN_STREAM_SDPA, 4, 1000},
                             {ATTN_STREAM_BLOCKSPARSE, 10, 130}, {ATTN_STREAM_BLOCKSPARSE, 129, 1}};
    int32_t kpos[700];
    for (int mi = 0; mi < 5; mi++)
        for (int gapped = 0; gapped < 2; gapped++) {
            int n = 650;
            size_t nk = 0;
            for (int j = 0; j < n; j++)
                if (!gapped || j % 3 != 1 || j > 600) kpos[nk++] = j;
            const int32_t *kp = gapped ? kpos : NULL;
            if (!gapped) nk = (size_t)n;
            for (int p0 = 0; p0 < n; p0 += 37) {
                int p1 = p0 + 50 < n ? p0 + 50 : n - 1;
                duo_key_span ks = duo_chunk_keys(&masks[mi], kp, nk, p0, p1);
                for (int i = p0; i <= p1; i++) {
                    int ae, bs, be;
                    duo_row_cols(&masks[mi], &ks, kp, nk, i, &ae, &bs, &be);
                    int cols = (int)(ks.a_rows + ks.b_rows);
                    for (int c = 0; c < cols; c++) {
                        size_t r = (size_t)c < ks.a_rows ? (size_t)c : ks.b_row + ((size_t)c - ks.a_rows);
                        long long j = kp ? kp[r] : (long long)r;
                        int vis = (c < ae) || (c >= bs && c < be);
                        CHECK_MSG(vis == attn_mask_visible(&masks[mi], i, j), "mask %d gapped %d row %d col %d", mi,
                                  gapped, i, c);
                    }
                    /* and every visible key is a column */
                    int seen = 0;
                    for (size_t r = 0; r < nk; r++) seen += attn_mask_visible(&masks[mi], i, kp ? kp[r] : (long long)r);
                    CHECK_MSG(seen == ae + (be - bs), "mask %d row %d: %d visible keys, %d columns", mi, i, seen,
                              ae + be - bs);
                }
            }
        }
}

TEST_MAIN()
