#include "pattern/pyfloat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *py_float_repr(double x, char *out, size_t cap) {
    if (isnan(x)) { snprintf(out, cap, "nan"); return out; }
    if (isinf(x)) { snprintf(out, cap, x < 0 ? "-inf" : "inf"); return out; }
    /* Shortest round-tripping significand: "%.{p}e" for growing p. */
    char buf[40];
    for (int p = 0; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p, x);
        if (strtod(buf, NULL) == x) break;
    }
    /* buf = [-]D[.DDD]e[+-]XX: split into sign, digits and decimal exponent. */
    const char *s = buf;
    int neg = 0;
    if (*s == '-') { neg = 1; s++; }
    char digits[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[nd++] = *s;
    digits[nd] = '\0';
    int exp10 = atoi(s + 1);
    while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = '\0';
    if (x == 0) exp10 = 0;
    char res[64];
    int n = 0;
    if (neg) res[n++] = '-';
    int decpt = exp10 + 1; /* value = 0.digits * 10^decpt */
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            n += sprintf(res + n, "0.");
            for (int i = 0; i < -decpt; i++) res[n++] = '0';
            n += sprintf(res + n, "%s", digits);
        } else if (nd <= decpt) {
            n += sprintf(res + n, "%s", digits);
            for (int i = nd; i < decpt; i++) res[n++] = '0';
            n += sprintf(res + n, ".0");
        } else {
            memcpy(res + n, digits, (size_t)decpt);
            n += decpt;
            res[n++] = '.';
            n += sprintf(res + n, "%s", digits + decpt);
        }
    } else {
        res[n++] = digits[0];
        if (nd > 1) {
            res[n++] = '.';
            n += sprintf(res + n, "%s", digits + 1);
        }
        n += sprintf(res + n, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    res[n] = '\0';
    snprintf(out, cap, "%s", res);
    return out;
}
