/* Storage dtypes of checkpoint tensors and their exact widening to float32. */
#include <string.h>

#include "data/safetensors.h"

size_t dtype_size(duo_dtype dt) { return dt == DUO_F32 ? 4 : 2; }

const char *dtype_name(duo_dtype dt) {
    switch (dt) {
    case DUO_F32: return "F32";
    case DUO_F16: return "F16";
    case DUO_BF16: return "BF16";
    }
    return "?";
}

static float bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* bf16 is the top half of a float32. */
float bf16_to_f32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (mant << 13)); /* inf, NaN (payload kept) */
    if (exp != 0) return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13)); /* rebias 15 -> 127 */
    if (mant == 0) return bits_to_f32(sign);                                      /* +-0 */
    /* Subnormal: mant * 2^-24.  Shift the leading 1 up to the implicit-bit position, lowering the exponent. */
    int e = 113; /* exponent of 2^-14 in float32, as for exp == 1 */
    while (!(mant & 0x400)) {
        mant <<= 1;
        e--;
    }
    return bits_to_f32(sign | ((uint32_t)e << 23) | ((mant & 0x3ff) << 13));
}

size_t tensor_numel(const duo_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

void tensor_to_f32(const duo_tensor *t, size_t start, size_t count, float *out) {
    const unsigned char *p = (const unsigned char *)t->data + start * dtype_size(t->dtype);
    if (t->dtype == DUO_F32) {
        memcpy(out, p, count * sizeof *out); /* also fine for unaligned data */
        return;
    }
    for (size_t i = 0; i < count; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)); /* little-endian on disk */
        out[i] = t->dtype == DUO_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
}
