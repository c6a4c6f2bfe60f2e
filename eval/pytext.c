#include "eval/pytext.h"

#include "data/utf8.h"

size_t pytext_next(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    long len = utf8_step(u, n);
    if (len < 0) {
        *cp = 0xFFFD;
        return (size_t)-len;
    }
    static const unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    uint32_t c = u[0] & lead_mask[len];
    for (long i = 1; i < len; i++) c = (c << 6) | (u[i] & 0x3F);
    *cp = c;
    return (size_t)len;
}

bool pytext_is_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}
