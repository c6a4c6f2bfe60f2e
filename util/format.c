#include "util/format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *format_bytes(double bytes, char *buf, size_t cap) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
    return buf;
}

const char *format_double(double v, char *buf, size_t cap) {
    if (isnan(v)) return snprintf(buf, cap, "nan"), buf;
    if (isinf(v)) return snprintf(buf, cap, v < 0 ? "-inf" : "inf"), buf;
    /* a plain decimal where one is short (600, not 6e+02), an exponent for the very large or small */
    int plain = fabs(v) >= 1e-4 && fabs(v) < 1e17;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v && (!plain || !strchr(buf, 'e'))) break;
    }
    return buf;
}

/* Invisible or confusable code points a message names instead of printing. */
static const char *invisible_name(unsigned cp) {
    switch (cp) {
    case 0xFEFF: return "U+FEFF BOM";
    case 0x200B: return "U+200B zero-width space";
    case 0x200C: return "U+200C zero-width non-joiner";
    case 0x200D: return "U+200D zero-width joiner";
    case 0x00A0: return "U+00A0 no-break space";
    case 0x2060: return "U+2060 word joiner";
    case 0x202E: return "U+202E right-to-left override";
    default: return NULL;
    }
}

const char *format_shown_text(const char *s, char *buf, size_t cap) {
    size_t n = 0;
    if (!cap) return buf;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char piece[48];
        size_t len = 1;
        unsigned cp = *p;
        if (cp >= 0x20 && cp < 0x7f) {
            piece[0] = (char)cp;
            piece[1] = 0;
        } else if (cp >= 0xc2 && cp <= 0xf4) { /* a UTF-8 sequence: copy it unless it is invisible */
            size_t want = cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
            unsigned v = cp & (want == 2 ? 0x1f : want == 3 ? 0x0f : 0x07);
            size_t k = 1;
            for (; k < want && (p[k] & 0xc0) == 0x80; k++) v = (v << 6) | (p[k] & 0x3f);
            if (k < want) {
                snprintf(piece, sizeof piece, "<0x%02x>", cp);
            } else {
                len = want;
                const char *name = invisible_name(v);
                if (name) snprintf(piece, sizeof piece, "<%s>", name);
                else {
                    memcpy(piece, p, want);
                    piece[want] = 0;
                }
            }
        } else {
            snprintf(piece, sizeof piece, "<0x%02x>", cp);
        }
        size_t pl = strlen(piece);
        if (n + pl + 4 > cap) {
            if (cap >= 4) memcpy(buf + (n + 3 < cap ? n : cap - 4), "...", 4);
            else buf[0] = 0;
            return buf;
        }
        memcpy(buf + n, piece, pl);
        n += pl;
        p += len;
    }
    buf[n] = 0;
    return buf;
}
