#include "data/utf8.h"

/* Length of the well-formed character at s[0..n), or -k when its first k bytes are a maximal
 * invalid subpart (k >= 1).  The ranges are those of the Unicode standard's table 3-7. */
long utf8_step(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t w;
    if (c >= 0xC2 && c <= 0xDF) w = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        w = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        w = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return -1;
    if (n < 2 || s[1] < lo || s[1] > hi) return -1;
    for (size_t i = 2; i < w; i++)
        if (n <= i || s[i] < 0x80 || s[i] > 0xBF) return -(long)i;
    return (long)w;
}

size_t utf8_valid_prefix(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        long k = utf8_step(p + i, len - i);
        if (k < 0) return i;
        i += (size_t)k;
    }
    return i;
}
